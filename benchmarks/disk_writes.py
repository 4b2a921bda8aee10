"""Bytes written and commands/s of the chat sample under ``wk dev``'s defaults, against
``--in-memory``.

    .venv/bin/python benchmarks/disk_writes.py [--commands N] [--connections C]
        [--rounds R] [--baseline-source DIR]

(10,000 commands and 5 rounds unless told: about a minute and a half.)

Runs the runtime in a process of its own, configured as ``wk dev`` configures it (everything
in SQLite under the app's ``.wolkenkit/`` folder, the view tables too), sends N ``send``
commands over HTTP on C concurrent connections (16 unless told), and measures:

- bytes written: the process's ``write_bytes`` from ``/proc/<pid>/io`` (Linux), before the
  commands and once the messages view lists them all, plus what is left owing then: the
  pages in SQLite's write-ahead log that no checkpoint has copied into the database file
  yet. So the script checkpoints the file itself (from a connection of its own, counting its
  own ``write_bytes``) once before the commands, uncounted, and once after them, counted.
  Without that, a run's figure would depend on how many of the runtime's checkpoints (one
  per ``CHECKPOINT_BYTES`` of log) fell inside it;
- commands/s accepted: N over the time until the last POST was answered;
- commands/s processed: N over the time until the flow's notification of the last message
  came (read from ``/notifications/v2``), which is when its event has passed the flow;
- CPU per command: the runtime process's user and system time (``/proc/<pid>/stat``) over
  the same span, divided by N. On a machine that other work keeps busy, commands/s swing
  with it; CPU per command does much less, and its ratio says what the processing costs;
- the event loop's share of it: the main thread's CPU time alone per command, and the share
  of the span it was busy. The loop is what limits the rate (SQLite's checkpoints and its
  largest commits run in a thread beside it); a loop that is not busy all the time waited,
  for instance while every client's request waited for a commit or a checkpoint.

The baseline is the same run with ``--in-memory``, in which nothing but logs should reach the
disk. With ``--baseline-source DIR`` (a checkout's root, whose ``src/`` holds the package, e.g.
from ``git archive main src | tar -x -C DIR``), both runs are made again with that code: it
makes the app, configures and serves it, so one run shows before and after a change. With
``--rounds R``, every configuration runs R times, in turns, and the table shows medians (each
share taken within its round): on a machine shared with other work, one round's figures
swing by half.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
from rich.console import Console
from rich.table import Table

WARM_UP_COMMANDS = 100

#: Made and configured by the code under test (which may be a baseline's, on PYTHONPATH).
PREPARE = """
import json, sys
from pathlib import Path
from wolkenkit.runtime.development import DevelopmentOptions, runtime_environment
from wolkenkit.scaffolds import create_project

directory, in_memory = Path(sys.argv[1]), sys.argv[2] == "in-memory"
app = create_project("chat", template="chat", directory=directory)
environment = runtime_environment(DevelopmentOptions(app, in_memory=in_memory))
print(json.dumps({"app": str(app), "environment": environment}))
"""


@dataclass(frozen=True)
class Outcome:
    written: int
    accepted_per_second: float
    processed_per_second: float
    cpu_seconds: float
    #: The CPU time of the process's main thread (its event loop) alone, and the wall-clock
    #: time of the measured span.
    loop_cpu_seconds: float = 0.0
    seconds: float = 0.0


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


def checkpointed_bytes(database: Path | None) -> int:
    """Copy what the write-ahead log of ``database`` holds into the file (as the runtime's
    next checkpoint would), and return the bytes that took this process to write."""
    if database is None or not database.exists():
        return 0
    before = written_bytes(os.getpid())
    with contextlib.closing(sqlite3.connect(database, timeout=30)) as connection:
        connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    return written_bytes(os.getpid()) - before


def cpu_seconds(pid: int, thread: int | None = None) -> float:
    """The user and system time of process ``pid``, or of its thread ``thread`` alone."""
    path = f"/proc/{pid}/stat" if thread is None else f"/proc/{pid}/task/{thread}/stat"
    with open(path) as stat:
        # After the command's name in parentheses: fields 14 and 15 are utime and stime.
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def send(port: int, count: int, connections: int) -> None:
    """POST ``count`` commands on ``connections`` keep-alive connections, each sending its
    next request once the last was answered. Raw HTTP/1.1 over asyncio streams: a client of
    a few tens of microseconds per request, so that the server, not the client, is what
    limits the rate (an HTTP client library costs about as much per request as the server's
    in-memory processing)."""
    pending = iter(range(count))

    async def sender() -> None:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        try:
            for index in pending:
                body = json.dumps({"text": f"Message {index}"}).encode()
                writer.write(
                    b"POST /command/v2/communication/message/send HTTP/1.1\r\n"
                    b"Host: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
                )
                head = await reader.readuntil(b"\r\n\r\n")
                status = head.split(b" ", 2)[1]
                length = 0
                for line in head.split(b"\r\n"):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                answer = await reader.readexactly(length)
                if status != b"200":
                    raise RuntimeError(f"The command was answered {status.decode()}: {answer!r}")
        finally:
            writer.close()

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


async def flow_notifications(client: httpx.AsyncClient, count: int, ready: asyncio.Event) -> None:
    """Until the flow has announced ``count`` updated messages."""
    seen = 0
    async with client.stream("GET", "/notifications/v2", timeout=None) as response:
        ready.set()
        async for line in response.aiter_lines():
            if "flowMessagesUpdated" in line:
                seen += 1
                if seen >= count:
                    return


async def measure(
    pid: int, port: int, commands: int, connections: int, database: Path | None
) -> Outcome:
    """Bytes written and commands/s for ``commands`` commands, after a warm-up that creates
    the tables; ``database`` is the SQLite file the runtime writes, if any."""
    limits = httpx.Limits(max_connections=connections + 2)
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", timeout=60, limits=limits
    ) as client:
        await send(port, WARM_UP_COMMANDS, connections)
        await wait_listed(client, WARM_UP_COMMANDS)
        ready = asyncio.Event()
        processed = asyncio.create_task(flow_notifications(client, commands, ready))
        await ready.wait()
        checkpointed_bytes(database)
        before, cpu_before = written_bytes(pid), cpu_seconds(pid)
        # The main thread's id is the process's.
        loop_before = cpu_seconds(pid, pid)
        started = time.perf_counter()
        await send(port, commands, connections)
        accepted = time.perf_counter() - started
        await asyncio.wait_for(processed, 300)
        done = time.perf_counter() - started
        cpu = cpu_seconds(pid) - cpu_before
        loop_cpu = cpu_seconds(pid, pid) - loop_before
        await wait_listed(client, WARM_UP_COMMANDS + commands)
        # Acknowledging the last flow items and progress follow the view's update.
        await asyncio.sleep(1)
        written = written_bytes(pid) - before + checkpointed_bytes(database)
        return Outcome(written, commands / accepted, commands / done, cpu, loop_cpu, done)


def prepare(directory: Path, in_memory: bool, source: Path | None) -> tuple[Path, dict[str, str]]:
    """The app and the runtime's environment, made by the code of ``source`` (or ours)."""
    environment = dict(os.environ)
    if source is not None:
        environment["PYTHONPATH"] = str(source / "src")
    result = subprocess.run(
        [sys.executable, "-c", PREPARE, str(directory), "in-memory" if in_memory else "sqlite"],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )
    prepared = json.loads(result.stdout)
    return Path(prepared["app"]), prepared["environment"]


@contextlib.contextmanager
def runtime_serving(app_directory: Path, environment: dict[str, str]) -> Iterator[tuple[int, int]]:
    """The runtime serving the app that ``prepare`` made, in a process of its own (which
    inherits this one's CPU affinity), on loopback: its pid and its API's port, until the
    block ends."""
    port, health_port = free_port(), free_port()
    child = subprocess.Popen(
        [sys.executable, "-m", "wolkenkit.runtime.server"],
        env={
            **environment,
            "PORT_OR_SOCKET": str(port),
            "HEALTH_PORT_OR_SOCKET": str(health_port),
            "BIND_HOST": "127.0.0.1",
            "LOG_LEVEL": "error",
        },
        cwd=app_directory,
        stdout=subprocess.DEVNULL,
    )
    try:
        wait_healthy(f"http://127.0.0.1:{health_port}/health/v2")
        yield child.pid, port
    finally:
        child.terminate()
        child.wait(timeout=30)


def run(
    app_directory: Path, environment: dict[str, str], commands: int, connections: int
) -> Outcome:
    with runtime_serving(app_directory, environment) as (pid, port):
        database = app_directory / ".wolkenkit" / "wolkenkit.db"
        return asyncio.run(measure(pid, port, commands, connections, database))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    # The defaults are the measure: at 2,000 commands SQLite's tables are small (and
    # cheap), and one round of this machine's swings decides nothing.
    parser.add_argument("--commands", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--baseline-source", type=Path, default=None)
    arguments = parser.parse_args()
    commands, connections = arguments.commands, arguments.connections
    sources: list[tuple[str, Path | None]] = [("", None)]
    if arguments.baseline_source is not None:
        sources.insert(0, (" (baseline)", arguments.baseline_source.resolve()))
    rounds = arguments.rounds
    title = f"The chat sample's 'send', {commands:,} commands on {connections} connections"
    if rounds > 1:
        title += f", medians of {rounds} rounds"
    table = Table(title=title)
    for column in (
        "stores",
        "bytes per command" + (" (rounds' range)" if rounds > 1 else ""),
        "accepted/s",
        "processed/s",
        "processed, share of in memory",
        "CPU ms per command",
        "in memory's CPU, share of this",
        "event loop's CPU ms per command (busy)",
    ):
        table.add_column(column, justify="right" if column != "stores" else "left")
    measured: dict[str, list[dict[str, float]]] = {}
    with tempfile.TemporaryDirectory() as directory:
        # Each round runs every configuration once, in turn, so that a machine that other
        # work slows down meanwhile slows them alike; shares compare within a round.
        for _ in range(rounds):
            for suffix, source in sources:
                in_memory = Outcome(0, 0.0, 0.0, 0.0)
                for name, memory_only in (("--in-memory", True), ("wk dev (SQLite)", False)):
                    place = Path(directory) / f"{sum(map(len, measured.values()))}"
                    app, environment = prepare(place, memory_only, source)
                    outcome = run(app, environment, commands, connections)
                    if memory_only:
                        in_memory = outcome
                    measured.setdefault(name + suffix, []).append(
                        {
                            "bytes per command": outcome.written / commands,
                            "accepted/s": outcome.accepted_per_second,
                            "processed/s": outcome.processed_per_second,
                            "processed share": outcome.processed_per_second
                            / in_memory.processed_per_second,
                            "CPU ms per command": outcome.cpu_seconds / commands * 1000,
                            "CPU share": in_memory.cpu_seconds / outcome.cpu_seconds,
                            "loop CPU ms per command": outcome.loop_cpu_seconds / commands * 1000,
                            "loop busy": outcome.loop_cpu_seconds / outcome.seconds,
                        }
                    )
    results = {
        label: {key: statistics.median(one[key] for one in runs) for key in runs[0]}
        for label, runs in measured.items()
    }
    for label, result in results.items():
        # The spread says how far one round may fall from the median: how the commits happen
        # to group moves the bytes per command by a fifth between rounds of the same code.
        written = [one["bytes per command"] for one in measured[label]]
        table.add_row(
            label,
            f"{result['bytes per command']:,.0f}"
            + (f" ({min(written):,.0f}-{max(written):,.0f})" if rounds > 1 else ""),
            f"{result['accepted/s']:,.0f}",
            f"{result['processed/s']:,.0f}",
            f"{result['processed share']:.2f}",
            f"{result['CPU ms per command']:.2f}",
            f"{result['CPU share']:.2f}",
            f"{result['loop CPU ms per command']:.2f} ({result['loop busy']:.0%})",
        )
    Console(width=190).print(table)
    print(json.dumps({"medians": results, "rounds": measured}))


if __name__ == "__main__":
    main()
