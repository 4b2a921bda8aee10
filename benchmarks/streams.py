"""Live streams under load: command latency with N clients on ``/domain-events/v2``, and the
server's CPU after they leave.

    .venv/bin/python benchmarks/streams.py [--streams 250] [--commands 1000] [--distinct-clients]

Each row runs its own runtime process (chat sample, in-memory stores, as in http_api.py): N
clients open the NDJSON stream and read it, then 1,000 ``send`` commands go out over 8
kept-alive connections (each to a new aggregate), every stream should see every ``sent``
event. The row with 0 streams is the baseline, measured in the same run. Once the commands
are answered, the streams get up to 2 s to read what is left, then every client disconnects
at once and the server's CPU time (utime + stime from ``/proc/<pid>/stat``) is sampled every
100 ms: "idle after" is when the last 100 ms in which it used more than 20 ms of CPU ended.

The streams' clients are anonymous and alike, so the server prepares each event once for
all of them; ``--distinct-clients`` gives each its own ``x-anonymous-id``, and the event
handler's ``is_authorized`` then runs once per stream and event. The readers' process shares
the machine's cores with the server and the command client: its CPU time is shown too.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

sys.path.insert(0, str(Path(__file__).parent))

from http_api import Connection, percentile, runtime_process, send_command

from wolkenkit.scaffolds import create_project

CONNECTIONS = 8
CATCH_UP_SECONDS = 2.0
SAMPLE_SECONDS = 0.1
#: CPU seconds within one sample above which the server counts as busy (20 % of a core).
BUSY_CPU_SECONDS = 0.02
SENT_MARK = b'"name":"sent"'


def cpu_seconds(pid: int) -> float:
    """The process's user plus system CPU time, children excluded."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class Row:
    streams: int
    seconds: float
    p50_ms: float
    p99_ms: float
    cpu_during: float
    readers_cpu: float
    delivered: float
    idle_after: float | None
    cpu_after: float


class Stream:
    """One client on ``/domain-events/v2`` that counts the ``sent`` events it reads (in the
    readers' process)."""

    def __init__(self, connection: Connection) -> None:
        self.reader, self.writer = connection
        self.sent = 0
        self.task = asyncio.create_task(self._read())

    @classmethod
    async def open(cls, port: int, anonymous_id: str | None) -> Stream:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        header = f"x-anonymous-id: {anonymous_id}\r\n" if anonymous_id else ""
        writer.write(f"GET /domain-events/v2 HTTP/1.1\r\nhost: bench\r\n{header}\r\n".encode())
        await reader.readuntil(b"\r\n\r\n")
        return cls((reader, writer))

    async def _read(self) -> None:
        tail = b""
        while chunk := await self.reader.read(65_536):
            # Chunk boundaries of the transfer encoding may cut a mark in two: keep a tail.
            text = tail + chunk
            self.sent += text.count(SENT_MARK)
            tail = text[-len(SENT_MARK) + 1 :] if not text.endswith(SENT_MARK) else b""

    def close(self) -> None:
        self.task.cancel()
        self.writer.close()


async def serve_readers(port: int, streams: int, distinct: bool) -> None:
    """The readers' process: open the streams, then answer ``count`` with the ``sent`` events
    read so far (one number) and ``close`` by disconnecting every stream, on stdin/stdout."""
    clients = [
        await Stream.open(port, f"reader-{number}" if distinct else None)
        for number in range(streams)
    ]
    print("ready", flush=True)
    loop = asyncio.get_running_loop()
    while line := await loop.run_in_executor(None, sys.stdin.readline):
        if line.strip() == "count":
            print(sum(client.sent for client in clients), flush=True)
        elif line.strip() == "close":
            for client in clients:
                client.close()
            print("closed", flush=True)
            return


class Readers:
    """The stream clients, in a process of their own: reading 250 streams in the process
    that times the commands would delay its reading of the answers, and time that instead."""

    def __init__(self, child: asyncio.subprocess.Process) -> None:
        self._child = child

    @classmethod
    async def start(cls, port: int, streams: int, distinct: bool) -> Readers:
        child = await asyncio.create_subprocess_exec(
            sys.executable, __file__, "--readers-on", str(port), "--streams", str(streams),
            *(["--distinct-clients"] if distinct else []),
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
        )  # fmt: skip
        readers = cls(child)
        await readers._answer()
        return readers

    @property
    def cpu_seconds(self) -> float:
        return cpu_seconds(self._child.pid)

    async def _answer(self) -> str:
        assert self._child.stdout is not None
        return (await self._child.stdout.readline()).decode().strip()

    async def ask(self, request: str) -> str:
        assert self._child.stdin is not None
        self._child.stdin.write(request.encode() + b"\n")
        await self._child.stdin.drain()
        return await self._answer()

    async def stop(self) -> None:
        assert self._child.stdin is not None
        self._child.stdin.close()
        await self._child.wait()


async def measure(
    port: int, pid: int, streams: int, commands: int, observe: float, distinct: bool
) -> Row:
    readers = await Readers.start(port, streams, distinct)
    await asyncio.sleep(0.5)
    connections = [await asyncio.open_connection("127.0.0.1", port) for _ in range(CONNECTIONS)]
    latencies: list[float] = []
    remaining = iter(range(commands))

    async def send_all(connection: Connection) -> None:
        for _ in remaining:
            started = time.perf_counter()
            await send_command(connection, str(uuid.uuid4()))
            latencies.append((time.perf_counter() - started) * 1000)

    cpu_before, readers_before = cpu_seconds(pid), readers.cpu_seconds
    started = time.perf_counter()
    await asyncio.gather(*(send_all(connection) for connection in connections))
    seconds = time.perf_counter() - started
    cpu_during = cpu_seconds(pid) - cpu_before
    readers_cpu = readers.cpu_seconds - readers_before
    for _, writer in connections:
        writer.close()
    deadline = time.monotonic() + CATCH_UP_SECONDS
    read = int(await readers.ask("count"))
    while streams and read < commands * streams and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
        read = int(await readers.ask("count"))
    delivered = read / (commands * streams) if streams else 1.0

    await readers.ask("close")
    left_at = time.monotonic()
    before = cpu_seconds(pid)
    first = before
    idle_after: float | None = 0.0
    while time.monotonic() - left_at < observe:
        await asyncio.sleep(SAMPLE_SECONDS)
        now = cpu_seconds(pid)
        if now - before > BUSY_CPU_SECONDS:
            idle_after = time.monotonic() - left_at
        before = now
    if idle_after is not None and idle_after > observe - 2 * SAMPLE_SECONDS:
        idle_after = None  # still busy when observing ended
    cpu_after = cpu_seconds(pid) - first
    await readers.stop()
    return Row(
        streams,
        seconds,
        statistics.median(latencies),
        percentile(latencies, 0.99),
        cpu_during,
        readers_cpu,
        delivered,
        idle_after,
        cpu_after,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description="Live stream benchmark")
    parser.add_argument("--streams", type=int, nargs="+", default=[250])
    parser.add_argument("--commands", type=int, default=1_000)
    parser.add_argument("--observe", type=float, default=5.0, help="seconds after disconnect")
    parser.add_argument(
        "--distinct-clients", action="store_true", help="each stream its own anonymous id"
    )
    parser.add_argument("--readers-on", type=int, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.readers_on:
        asyncio.run(
            serve_readers(arguments.readers_on, arguments.streams[0], arguments.distinct_clients)
        )
        return
    rows: list[Row] = []
    with tempfile.TemporaryDirectory() as directory:
        app_directory = create_project("chat", template="chat", directory=Path(directory) / "c")
        for streams in (0, *arguments.streams):
            with runtime_process(app_directory) as (port, pid):
                rows.append(
                    asyncio.run(
                        measure(
                            port, pid, streams, arguments.commands, arguments.observe,
                            arguments.distinct_clients,
                        )
                    )
                )  # fmt: skip
    clients = "distinct clients" if arguments.distinct_clients else "one client"
    table = Table(
        title=f"{arguments.commands:,} `send` commands, {CONNECTIONS} connections; "
        f"streams of {clients}"
    )
    columns = (
        "streams", "total s", "p50 ms", "p99 ms", "server CPU s", "server CPU ms/command",
        "readers CPU s", "events delivered",
        "idle after leaving (s)", f"CPU s in {arguments.observe:g} s after",
    )  # fmt: skip
    for column in columns:
        table.add_column(column, justify="right")
    for row in rows:
        table.add_row(
            str(row.streams),
            f"{row.seconds:.2f}",
            f"{row.p50_ms:.1f}",
            f"{row.p99_ms:.1f}",
            f"{row.cpu_during:.2f}",
            f"{row.cpu_during / arguments.commands * 1000:.2f}",
            f"{row.readers_cpu:.2f}",
            f"{row.delivered:.1%}",
            "-" if row.streams == 0 else (
                f"> {arguments.observe:g}" if row.idle_after is None else f"{row.idle_after:.1f}"
            ),
            f"{row.cpu_after:.2f}",
        )  # fmt: skip
    console = Console()
    console.print(table)
    baseline = rows[0]
    summary = Table(title="Against the targets")
    for column in ("streams", "figure", "measured", "target"):
        summary.add_column(column)
    for row in rows[1:]:
        ratio = row.p50_ms / baseline.p50_ms
        idle = f"> {arguments.observe:g}" if row.idle_after is None else f"{row.idle_after:.1f}"
        summary.add_row(str(row.streams), "p50 with streams / without", f"{ratio:.2f}", "≤ 2")
        summary.add_row(str(row.streams), "idle after the last client left (s)", idle, "≤ 1")
    console.print(summary)


if __name__ == "__main__":
    main()
