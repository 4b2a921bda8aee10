"""In-process command handling: the chat sample on in-memory stores, on one core.

    .venv/bin/python benchmarks/commands.py [--commands N]

Workloads:
- ``send``: each command creates a new aggregate (load, decide, append).
- ``like``: every command hits one hot aggregate, whose history keeps growing.
Both run twice: with Python's default garbage-collector settings, and with the settings the
runtime applies at start-up (``wolkenkit.runtime.gc_tuning``). The baseline is the least a
hand-written handler does per command without any framework: validate the command data with
pydantic, build the event data, append it to a list.

Commands are built before the clock starts; latencies are per ``handle_command`` call.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict
from rich.console import Console
from rich.table import Table

from wolkenkit import load_application
from wolkenkit.application.application import Application
from wolkenkit.domain.domain import Domain
from wolkenkit.messages import AggregateIdentifier, CommandWithMetadata, new_id
from wolkenkit.runtime.gc_tuning import tune_garbage_collector
from wolkenkit.scaffolds import create_project
from wolkenkit.testing import build_command
from wolkenkit.testing.sandbox import build_domain

TARGET_COMMANDS_PER_SECOND = 20_000


@dataclass
class Measurement:
    name: str
    count: int
    seconds: float
    latencies_ns: list[int]

    @property
    def rate(self) -> float:
        return self.count / self.seconds

    def percentile_us(self, fraction: float) -> float:
        ordered = sorted(self.latencies_ns)
        return ordered[min(len(ordered) - 1, int(len(ordered) * fraction))] / 1000


def make_domain(application: Application) -> Domain:
    return build_domain(application)


async def timed(
    name: str, items: list[Any], handle: Callable[[Any], Awaitable[Any]]
) -> Measurement:
    latencies = []
    clock = time.perf_counter_ns
    started = clock()
    for item in items:
        before = clock()
        await handle(item)
        latencies.append(clock() - before)
    return Measurement(name, len(items), (clock() - started) / 1e9, latencies)


def message(aggregate_id: str | None = None) -> AggregateIdentifier:
    return AggregateIdentifier.of("communication", "message", aggregate_id or new_id())


async def run_workloads(application: Application, count: int, label: str) -> list[Measurement]:
    domain = make_domain(application)
    sends = [build_command(message(), "send", {"text": "Hello"}) for _ in range(count)]
    hot = message()
    await domain.handle_command(build_command(hot, "send", {"text": "Hot"}))
    likes = [build_command(hot, "like", {}) for _ in range(count)]

    async def handle(command: CommandWithMetadata[Any]) -> None:
        outcome = await domain.handle_command(command)
        if not outcome.stored:
            raise RuntimeError(f"Command was not stored: {outcome.domain_events}")

    results = [
        await timed(f"send, new aggregates ({label})", sends, handle),
        await timed(f"like, one hot aggregate ({label})", likes, handle),
    ]
    state = await domain.read_aggregate(hot)
    if state.likes != count:
        raise RuntimeError(f"Expected {count} likes, found {state.likes}.")
    return results


class SendData(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str


class SentData(BaseModel):
    text: str


async def baseline(count: int) -> Measurement:
    payloads = [{"text": "Hello"} for _ in range(count)]
    log: list[dict[str, Any]] = []

    async def handle(payload: dict[str, Any]) -> None:
        data = SendData.model_validate(payload)
        log.append(SentData(text=data.text).model_dump())

    return await timed("baseline: validate + build + append", payloads, handle)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--commands", type=int, default=20_000)
    arguments = parser.parse_args()
    count: int = arguments.commands

    with tempfile.TemporaryDirectory() as directory:
        application = load_application(
            create_project("chat", template="chat", directory=Path(directory) / "chat")
        )
        measurements = [asyncio.run(baseline(count))]
        measurements += asyncio.run(run_workloads(application, count, "default GC"))
        gc.collect()
        tune_garbage_collector()
        measurements += asyncio.run(run_workloads(application, count, "runtime GC"))

    base = measurements[0].rate
    table = Table(title=f"In-process command handling, chat sample, {count:,} commands each")
    for column in ("workload", "commands/s", "p50 µs", "p99 µs", "share of baseline"):
        table.add_column(column, justify="left" if column == "workload" else "right")
    for measurement in measurements:
        table.add_row(
            measurement.name,
            f"{measurement.rate:,.0f}",
            f"{measurement.percentile_us(0.5):.1f}",
            f"{measurement.percentile_us(0.99):.1f}",
            f"{measurement.rate / base:.2f}",
        )
    console = Console()
    console.print(table)
    engine = measurements[1:]
    worst = min(measurement.rate for measurement in engine)
    mean = statistics.fmean(measurement.rate for measurement in engine)
    console.print(
        f"target {TARGET_COMMANDS_PER_SECOND:,} commands/s: slowest workload {worst:,.0f}, "
        f"mean {mean:,.0f}"
    )


if __name__ == "__main__":
    main()
