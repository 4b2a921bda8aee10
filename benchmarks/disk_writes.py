"""Bytes the runtime writes to disk per command: the chat sample under ``wk dev``'s defaults.

    .venv/bin/python benchmarks/disk_writes.py [--commands N] [--connections C]

Runs the runtime in a process of its own, configured as ``wk dev`` configures it (everything
in SQLite under the app's ``.wolkenkit/`` folder, the chat sample's view store too), sends N
``send`` commands over HTTP on C concurrent connections (16 unless told), waits until the
messages view lists them all, and reads the process's ``write_bytes`` from ``/proc/<pid>/io``
(Linux) before and after. The baseline is
the same run with ``--in-memory``, in which nothing but logs should reach the disk.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

from wolkenkit.runtime.development import DevelopmentOptions, runtime_environment
from wolkenkit.scaffolds import create_project

WARM_UP_COMMANDS = 100


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_healthy(url: str, seconds: float = 30) -> None:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        try:
            with urllib.request.urlopen(url, timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"{url} did not answer")


def written_bytes(pid: int) -> int:
    with open(f"/proc/{pid}/io") as io:
        counters = dict(line.split(": ") for line in io.read().splitlines())
    return int(counters["write_bytes"])


async def send(client: httpx.AsyncClient, count: int, connections: int) -> None:
    pending = iter(range(count))

    async def sender() -> None:
        for index in pending:
            response = await client.post(
                "/command/v2/communication/message/send", json={"text": f"Message {index}"}
            )
            response.raise_for_status()

    await asyncio.gather(*(sender() for _ in range(connections)))


async def wait_listed(client: httpx.AsyncClient, count: int, seconds: float = 300) -> None:
    """Until the messages view lists ``count`` messages: every command, event and flow item
    is through by then."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        response = await client.get("/views/v2/messages/stream/all")
        if len(response.text.splitlines()) >= count:
            return
        await asyncio.sleep(0.2)
    raise RuntimeError(f"the view did not list {count} messages")


async def measure(pid: int, port: int, commands: int, connections: int) -> int:
    """Bytes written for ``commands`` commands, after a warm-up that creates the tables."""
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
        await send(client, WARM_UP_COMMANDS, connections)
        await wait_listed(client, WARM_UP_COMMANDS)
        before = written_bytes(pid)
        await send(client, commands, connections)
        await wait_listed(client, WARM_UP_COMMANDS + commands)
        # Acknowledging the last flow items and progress follow the view's update.
        await asyncio.sleep(1)
        return written_bytes(pid) - before


def run(app_directory: Path, in_memory: bool, commands: int, connections: int) -> int:
    port, health_port = free_port(), free_port()
    environment = runtime_environment(
        DevelopmentOptions(app_directory, port, health_port, in_memory=in_memory)
    )
    environment.update({"BIND_HOST": "127.0.0.1", "LOG_LEVEL": "error"})
    child = subprocess.Popen(
        [sys.executable, "-m", "wolkenkit.runtime.server"],
        env=environment,
        cwd=app_directory,
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_healthy(f"http://127.0.0.1:{health_port}/health/v2")
        return asyncio.run(measure(child.pid, port, commands, connections))
    finally:
        child.terminate()
        child.wait(timeout=30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=2_000)
    parser.add_argument("--connections", type=int, default=16)
    arguments = parser.parse_args()
    commands, connections = arguments.commands, arguments.connections
    table = Table(
        title=f"Bytes written per 'send' of the chat sample, {commands:,} commands "
        f"on {connections} connections"
    )
    for column in ("stores", "bytes written", "bytes per command"):
        table.add_column(column, justify="right" if column != "stores" else "left")
    results: dict[str, float] = {}
    with tempfile.TemporaryDirectory() as directory:
        for name, in_memory in (("in memory (--in-memory)", True), ("SQLite (wk dev)", False)):
            app = create_project("chat", template="chat", directory=Path(directory) / name[:6])
            written = run(app, in_memory, commands, connections)
            results[name] = written / commands
            table.add_row(name, f"{written:,}", f"{written / commands:,.0f}")
    Console().print(table)
    print(json.dumps(results))


if __name__ == "__main__":
    main()
