"""The microservice runtime: how commands/s scale with domain workers, and POST→event latency.

    .venv/bin/python benchmarks/microservices.py [--commands 2000] [--rate 200]

Each run starts a fresh deployment on loopback (``wolkenkit.testing.cluster``): every service
its own process, sharing the local PostgreSQL (events, queues, locks) and Redis
(publish/subscribe). Rows:
- commands/s with one and with two ``domain`` processes: ``send`` commands on new aggregates
  are queued through the ``command`` service first, then the workers start; the rate is the
  number of commands over the span between the first and the last stored event. The machine
  has two cores, which the workers share with PostgreSQL, so two processes cannot double the
  rate here;
- POST→event latency: a client sends ``send`` commands paced at ``--rate`` per second to the
  ``command`` service and reads their events from the ``domain-event`` service.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
import uuid
from pathlib import Path

from http_api import percentile, post_to_event_latencies, send_command
from rich.console import Console
from rich.table import Table

from wolkenkit.scaffolds import create_project
from wolkenkit.testing.cluster import running_cluster

WORKER_CONCURRENCY = "16"


async def queue_commands(port: int, count: int, connections: int = 16) -> None:
    """Send ``count`` commands over ``connections`` kept-alive connections."""

    async def sender(share: int) -> None:
        connection = await asyncio.open_connection("127.0.0.1", port)
        try:
            for _ in range(share):
                await send_command(connection, str(uuid.uuid4()))
        finally:
            connection[1].close()

    shares = [
        count // connections + (1 if index < count % connections else 0)
        for index in range(connections)
    ]
    await asyncio.gather(*(sender(share) for share in shares))


def commands_per_second(app: Path, workers: int, count: int) -> float:
    with tempfile.TemporaryDirectory() as data, running_cluster(app, Path(data)) as cluster:
        # Everything is queued first, so the workers, not the client, set the pace.
        command = cluster.start("command")
        asyncio.run(queue_commands(command.port, count))
        cluster.start_together(["domain"] * workers, CONCURRENT_COMMANDS=WORKER_CONCURRENCY)

        async def stored() -> list[int]:
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline:
                events = await cluster.stored_events()
                if len(events) >= count:
                    return sorted(event.metadata.timestamp for event in events)
                await asyncio.sleep(0.5)
            raise RuntimeError("the workers did not finish")

        timestamps = asyncio.run(stored())
        span_seconds = max((timestamps[-1] - timestamps[0]) / 1000, 0.001)
        return count / span_seconds


def latencies(app: Path, rate: int, seconds: float) -> list[float]:
    with tempfile.TemporaryDirectory() as data, running_cluster(app, Path(data)) as cluster:
        cluster.start("domain", CONCURRENT_COMMANDS=WORKER_CONCURRENCY)
        events = cluster.start("domain-event")
        command = cluster.start("command")
        return asyncio.run(post_to_event_latencies(command.port, rate, seconds, events.port))


def main() -> None:
    parser = argparse.ArgumentParser(description="Microservice runtime benchmark")
    parser.add_argument("--commands", type=int, default=2_000)
    parser.add_argument("--rate", type=int, default=200)
    parser.add_argument("--seconds", type=float, default=5)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        app = create_project("chat", template="chat", directory=Path(directory) / "chat")
        one = commands_per_second(app, 1, arguments.commands)
        two = commands_per_second(app, 2, arguments.commands)
        measured = latencies(app, arguments.rate, arguments.seconds)
    table = Table(
        title=f"Microservice runtime on PostgreSQL and Redis, {arguments.commands:,} sends"
    )
    for column in ("figure", "measured"):
        table.add_column(column)
    table.add_row("commands/s, one domain process", f"{one:,.0f}")
    table.add_row("commands/s, two domain processes", f"{two:,.0f}")
    table.add_row("scaling ratio (two / one)", f"{two / one:.2f}")
    table.add_row(
        f"POST→event at {arguments.rate}/s (ms)",
        f"p50 {percentile(measured, 0.5):.1f}, p99 {percentile(measured, 0.99):.1f} "
        f"({len(measured):,} events)",
    )
    Console().print(table)


if __name__ == "__main__":
    main()
