"""The HTTP runtime over loopback: commands/s, latency, POST→event latency, `wk dev` start-up.

    .venv/bin/python benchmarks/http_api.py [--seconds 5]

Needs wrk (Debian: ``apt-get install wrk``) as the load generator. Every server runs in its
own process with the same uvicorn stack: the single-process runtime serving the chat sample
(in-memory stores), and, as the baseline, a bare Starlette app whose endpoint parses a JSON
body and answers JSON. Rows:
- ``send`` at concurrency 1, 16 and 64 (keep-alive connections), ours and the baseline's;
- the same command as a GraphQL mutation (``POST /graphql/v2``) against the same server, in
  the same run;
- POST→event: a client subscribed to ``/domain-events/v2`` sends ``send`` commands paced at
  1,000/s and measures from sending each POST to reading its ``sent`` event;
- ``wk dev``: seconds from starting the command until its health port answers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table

from wolkenkit.scaffolds import create_project

BARE_APP = """
import json
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

async def post(request):
    body = json.loads(await request.body())
    return JSONResponse({"id": "00000000-0000-4000-8000-000000000000", "echo": len(body)})

app = Starlette(routes=[Route("/command/v2/communication/message/send", post, methods=["POST"])])
"""

WRK_SCRIPT = """
wrk.method = "POST"
wrk.body = '{"text":"Hello, world!"}'
wrk.headers["content-type"] = "application/json"
"""

GRAPHQL_BODY = json.dumps(
    {"query": 'mutation { command { communication_message_send(data: {text: "Hello, world!"}) '
     "{ id } } }"}
)  # fmt: skip
# A Lua long string ([[...]]) takes the JSON as it is, quotes and all.
GRAPHQL_SCRIPT = f"""
wrk.method = "POST"
wrk.body = [[{GRAPHQL_BODY}]]
wrk.headers["content-type"] = "application/json"
"""

REST_PATH = "/command/v2/communication/message/send"
GRAPHQL_PATH = "/graphql/v2"

TARGETS: dict[str, float | str] = {
    "commands/s at concurrency 16": 3_000,
    "share of bare Starlette": 0.5,
    "p99 POST→event at 1,000/s (ms)": 20,
    "wk dev healthy (s)": 1.5,
    "GraphQL mutations/s at concurrency 16": "-",
}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_healthy(url: str, seconds: float = 20) -> float:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        try:
            with urllib.request.urlopen(url, timeout=0.5):
                return time.monotonic() - started
        except OSError:
            time.sleep(0.01)
    raise RuntimeError(f"{url} did not answer")


@contextmanager
def process(arguments: list[str], environment: dict[str, str]) -> Iterator[subprocess.Popen[bytes]]:
    child = subprocess.Popen(
        arguments, env={**os.environ, **environment}, stdout=subprocess.DEVNULL
    )
    try:
        yield child
    finally:
        child.send_signal(signal.SIGINT)
        try:
            child.wait(timeout=15)
        except subprocess.TimeoutExpired:
            child.kill()


@contextmanager
def runtime_process(app_directory: Path, **settings: str) -> Iterator[tuple[int, int]]:
    """The runtime in a process of its own, once healthy: its port and its process id."""
    port, health_port = free_port(), free_port()
    environment = {
        "APPLICATION_DIRECTORY": str(app_directory),
        "PORT_OR_SOCKET": str(port),
        "HEALTH_PORT_OR_SOCKET": str(health_port),
        "BIND_HOST": "127.0.0.1",
        "CONCURRENT_COMMANDS": "64",
        "LOG_LEVEL": "error",
        **settings,
    }
    with process([sys.executable, "-m", "wolkenkit.runtime.server"], environment) as child:
        wait_healthy(f"http://127.0.0.1:{health_port}/health/v2")
        yield port, child.pid


@contextmanager
def runtime_server(app_directory: Path) -> Iterator[int]:
    graphql = json.dumps({"enableIntegratedClient": False})
    with runtime_process(app_directory, GRAPHQL_API=graphql) as (port, _):
        yield port


@contextmanager
def bare_server(directory: Path) -> Iterator[int]:
    (directory / "bare_app.py").write_text(BARE_APP)
    port = free_port()
    arguments = [
        sys.executable, "-m", "uvicorn", "bare_app:app", "--host", "127.0.0.1",
        "--port", str(port), "--log-level", "error", "--no-access-log", "--app-dir", str(directory),
    ]  # fmt: skip
    with process(arguments, {}):
        for _ in range(500):
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                time.sleep(0.02)
        yield port


@dataclass
class WrkResult:
    requests_per_second: float
    p50_ms: float
    p99_ms: float


def _milliseconds(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
    return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]


def run_wrk(
    port: int, concurrency: int, seconds: int, script: Path, path: str = REST_PATH
) -> WrkResult:
    output = subprocess.run(
        [
            "wrk",
            "-t1",
            f"-c{concurrency}",
            f"-d{seconds}s",
            "--latency",
            "-s",
            str(script),
            f"http://127.0.0.1:{port}{path}",
        ],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    if "Non-2xx" in output:
        raise RuntimeError(f"wrk saw failed requests:\n{output}")
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))  # type: ignore[union-attr]
    # The percentiles of wrk's "Latency Distribution" block, one per line (whole seconds come
    # with a trailing space).
    p50 = re.search(r"^\s+50%\s+(\S+)\s*$", output, re.MULTILINE).group(1)  # type: ignore[union-attr]
    p99 = re.search(r"^\s+99%\s+(\S+)\s*$", output, re.MULTILINE).group(1)  # type: ignore[union-attr]
    return WrkResult(rate, _milliseconds(p50), _milliseconds(p99))


Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]
SEND_BODY = b'{"text":"Hello"}'


async def send_command(connection: Connection, aggregate_id: str) -> None:
    """POST one chat ``send`` over a kept-alive connection and read the answer (a tiny HTTP/1.1
    client: httpx costs more than the server it measures)."""
    reader, writer = connection
    writer.write(
        f"POST /command/v2/communication/message/{aggregate_id}/send HTTP/1.1\r\n"
        f"host: bench\r\ncontent-type: application/json\r\ncontent-length: {len(SEND_BODY)}"
        "\r\n\r\n".encode()
        + SEND_BODY
    )
    head = await reader.readuntil(b"\r\n\r\n")
    if not head.startswith(b"HTTP/1.1 200"):
        raise RuntimeError(f"the command was refused: {head.splitlines()[0]!r}")
    length = int(re.search(rb"content-length: (\d+)", head, re.IGNORECASE).group(1))  # type: ignore[union-attr]
    await reader.readexactly(length)


async def post_to_event_latencies(
    port: int, rate: int, seconds: float, events_port: int | None = None
) -> list[float]:
    """Send ``send`` commands at ``rate`` per second, each to a new aggregate, and measure the
    time until its ``sent`` event arrives on the domain-event stream (served on
    ``events_port`` where that is another service)."""
    sent_at: dict[str, float] = {}
    latencies: list[float] = []
    reader, writer = await asyncio.open_connection("127.0.0.1", events_port or port)
    writer.write(b"GET /domain-events/v2 HTTP/1.1\r\nhost: bench\r\n\r\n")
    await writer.drain()
    await reader.readuntil(b"\r\n\r\n")

    async def read_events() -> None:
        while True:
            size = int((await reader.readline()).strip(), 16)  # chunked encoding
            chunk = await reader.readexactly(size + 2)
            for line in chunk[:-2].splitlines():
                event = json.loads(line)
                aggregate_id = event.get("aggregateIdentifier", {}).get("aggregate", {}).get("id")
                if aggregate_id in sent_at:
                    latencies.append((time.perf_counter() - sent_at.pop(aggregate_id)) * 1000)

    events = asyncio.create_task(read_events())
    await asyncio.sleep(0.2)
    connections = [await asyncio.open_connection("127.0.0.1", port) for _ in range(8)]

    async def post(connection: Connection) -> None:
        aggregate_id = str(uuid.uuid4())
        sent_at[aggregate_id] = time.perf_counter()
        await send_command(connection, aggregate_id)

    interval = 1 / rate
    started = time.perf_counter()
    count = 0
    pending: set[asyncio.Task[None]] = set()
    while time.perf_counter() - started < seconds:
        connection = connections[count % len(connections)]
        previous = [task for task in pending if getattr(task, "connection", None) is connection]
        for task in previous:
            await task
        task = asyncio.create_task(post(connection))
        task.connection = connection  # type: ignore[attr-defined]
        pending = {task, *(task for task in pending if not task.done())}
        count += 1
        delay = started + count * interval - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
    await asyncio.gather(*pending)
    await asyncio.sleep(0.5)
    events.cancel()
    return latencies


def wk_dev_startup(app_directory: Path) -> float:
    port, health_port = free_port(), free_port()
    arguments = [
        str(Path(sys.executable).parent / "wk"), "dev", str(app_directory),
        "--port", str(port), "--health-port", str(health_port), "--in-memory",
    ]  # fmt: skip
    started = time.monotonic()
    with process(arguments, {"BIND_HOST": "127.0.0.1"}):
        wait_healthy(f"http://127.0.0.1:{health_port}/health/v2")
        return time.monotonic() - started


def check_mutation(port: int) -> None:
    """wrk counts GraphQL errors as successes (they come with status 200): fail loudly first."""
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{GRAPHQL_PATH}",
        data=GRAPHQL_BODY.encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as answer:
        result = json.loads(answer.read())
    if "errors" in result:
        raise RuntimeError(f"The benchmark's mutation fails: {result['errors']}")


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))]


def main() -> None:
    parser = argparse.ArgumentParser(description="HTTP runtime benchmark")
    parser.add_argument("--seconds", type=int, default=5)
    arguments = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("This benchmark needs wrk as its load generator: apt-get install wrk")
    console = Console()
    with tempfile.TemporaryDirectory() as directory:
        root = Path(directory)
        app_directory = create_project("chat", template="chat", directory=root / "chat")
        script = root / "post.lua"
        script.write_text(WRK_SCRIPT)
        graphql_script = root / "mutation.lua"
        graphql_script.write_text(GRAPHQL_SCRIPT)
        table = Table(title="HTTP API over loopback (wrk, keep-alive), chat `send`")
        for column in ("server", "concurrency", "requests/s", "p50 ms", "p99 ms"):
            table.add_column(column, justify="left" if column == "server" else "right")
        ours: dict[int, WrkResult] = {}
        graphql: dict[int, WrkResult] = {}
        bare: dict[int, WrkResult] = {}
        with runtime_server(app_directory) as port:
            run_wrk(port, 16, 2, script)  # warm up
            for concurrency in (1, 16, 64):
                ours[concurrency] = run_wrk(port, concurrency, arguments.seconds, script)
            check_mutation(port)
            run_wrk(port, 16, 2, graphql_script, GRAPHQL_PATH)
            for concurrency in (1, 16, 64):
                graphql[concurrency] = run_wrk(
                    port, concurrency, arguments.seconds, graphql_script, GRAPHQL_PATH
                )
        with runtime_server(app_directory) as port:
            latencies = asyncio.run(post_to_event_latencies(port, 1_000, arguments.seconds))
        with bare_server(root) as port:
            run_wrk(port, 16, 2, script)
            for concurrency in (1, 16, 64):
                bare[concurrency] = run_wrk(port, concurrency, arguments.seconds, script)
        startups = [wk_dev_startup(app_directory) for _ in range(3)]

    rows = (("wolkenkit", ours), ("wolkenkit GraphQL", graphql), ("bare Starlette", bare))
    for name, results in rows:
        for concurrency, result in results.items():
            table.add_row(
                name,
                str(concurrency),
                f"{result.requests_per_second:,.0f}",
                f"{result.p50_ms:.2f}",
                f"{result.p99_ms:.2f}",
            )
    console.print(table)
    ratio = ours[16].requests_per_second / bare[16].requests_per_second
    figures = {
        "commands/s at concurrency 16": f"{ours[16].requests_per_second:,.0f}",
        "share of bare Starlette": f"{ratio:.2f}",
        "p99 POST→event at 1,000/s (ms)": (
            f"{percentile(latencies, 0.99):.1f} (p50 {percentile(latencies, 0.5):.1f}, "
            f"{len(latencies):,} events)"
        ),
        "wk dev healthy (s)": f"{statistics.median(startups):.2f} (median of 3)",
        "GraphQL mutations/s at concurrency 16": (
            f"{graphql[16].requests_per_second:,.0f} "
            f"({graphql[16].requests_per_second / ours[16].requests_per_second:.2f} of REST)"
        ),
    }
    summary = Table(title="Against the targets")
    for column in ("figure", "measured", "target"):
        summary.add_column(column)
    for name, measured in figures.items():
        target = TARGETS[name]
        summary.add_row(name, measured, target if isinstance(target, str) else f"{target:,}")
    console.print(summary)


if __name__ == "__main__":
    main()
