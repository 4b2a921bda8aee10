"""Replay by position with an upcaster in the chain, against the same replay without, in one run.

    .venv/bin/python benchmarks/upcasting.py [--backends memory,sqlite,postgres,mariadb]
        [--events 50000] [--turns 6] [--postgres URL] [--mariadb URL]

Every backend holds the same events, ``sent`` of the chat's message at version 1, as an app
that never evolved wrote them. Rows, per backend:

- the store itself: ``get_replay_by_position`` of the backend, decoded (the floor);
- through the domain, at the model's version: the domain's store (what flows, replays and
  anyone who takes the domain's store read) for an app whose ``Sent`` is still version 1, so
  every event passes as it is;
- through the domain, one upcaster per event: for an app whose ``Sent`` is at version 2, so
  every event runs one upcaster (it adds a field); the SQL backends' events are lifted in
  place, the in-memory store's (which it keeps) are copied.

The rows take turns, each replaying everything ``--turns`` times in alternating order, so a
machine that speeds up or slows down meanwhile (it is shared) affects them alike. Each row
shows its fastest turn; the ratios are the medians over the turns of the ratios within a
turn. The issue's target: the replay with one upcaster at no less than 0.8 of the rate
without (the row at the model's version); its ratio to the store's own rate is shown too. In
memory, where reading costs next to nothing, the upcaster's own cost dominates.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console
from rich.table import Table
from store_workloads import Rate, event_batches
from stores import BACKENDS, opened

from wolkenkit import load_application
from wolkenkit.application.application import Application
from wolkenkit.runtime.gc_tuning import tune_garbage_collector
from wolkenkit.stores.domain_event_store import DomainEventStore
from wolkenkit.testing.sandbox import build_domain

#: The chat's message as an app that never evolved has it, and as version 2 with one
#: upcaster: ``{placeholder}`` becomes the version and the upcaster.
MESSAGE = """
from typing import Any

from pydantic import BaseModel
from wolkenkit import Aggregate, Everyone, Schema


class Message(BaseModel):
    text: str = ""
    language: str = ""


class Sent(Schema{version}):
    text: str
{field}

aggregate = Aggregate(Message, authorize=Everyone)


@aggregate.event
def sent(message: Message, event: Sent) -> Message:
    return message.model_copy(update={{"text": event.text}})
{upcaster}
"""

UPCASTER = """
@aggregate.upcaster(Sent, from_version=1)
def language_added(data: dict[str, Any]) -> dict[str, Any]:
    return {**data, "language": "en"}
"""

TARGET = 0.8
ROWS = {
    "store": "the store itself",
    "current": "through the domain, at the model's version",
    "upcast": "through the domain, one upcaster per event",
}


def write_app(directory: Path, evolved: bool) -> Application:
    source = MESSAGE.format(
        version=", version=2" if evolved else "",
        field="    language: str\n" if evolved else "",
        upcaster=UPCASTER if evolved else "",
    )
    module = directory / "server" / "domain" / "communication" / "message.py"
    module.parent.mkdir(parents=True)
    module.write_text(source)
    return load_application(directory)


async def replay(store: DomainEventStore) -> Rate:
    started = time.perf_counter()
    count = 0
    async for _ in store.get_replay_by_position():
        count += 1
    return Rate(count, time.perf_counter() - started)


@dataclass
class Figures:
    #: Each row's fastest turn (events/s). The machine is shared: a turn is only ever slowed
    #: down by what else runs, never sped up, so the fastest is the truest (as with timeit).
    fastest: dict[str, float]
    #: Of the upcasting row to another (``current``, ``store``): the median over the turns
    #: of their rates within one turn, a few seconds apart.
    ratios: dict[str, float]


async def measure(
    name: str, applications: dict[str, Application], arguments: argparse.Namespace
) -> Figures:
    async with opened(name, arguments) as backend:
        store = backend.store
        for batch in event_batches(arguments.events // 100):
            await store.store_domain_events(batch)
        readers: dict[str, DomainEventStore] = {
            "store": store,
            "current": build_domain(
                applications["current"], domain_event_store=store
            ).domain_event_store,
            "upcast": build_domain(
                applications["evolved"], domain_event_store=store
            ).domain_event_store,
        }
        # The upcaster does run: the evolved app reads version-2 data.
        replay_of_one = readers["upcast"].get_replay_by_position(limit=1)
        [first] = [positioned async for positioned in replay_of_one]
        assert first.domain_event.data == {"text": "Hello, world!", "language": "en"}
        rates: dict[str, list[float]] = {row: [] for row in readers}
        names = list(readers)
        for turn in range(arguments.turns):
            for row in names if turn % 2 == 0 else reversed(names):
                rates[row].append((await replay(readers[row])).per_second)
    return Figures(
        fastest={row: max(values) for row, values in rates.items()},
        ratios={
            bottom: statistics.median(
                upcast / other for upcast, other in zip(rates["upcast"], rates[bottom], strict=True)
            )
            for bottom in ("current", "store")
        },
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--events", type=int, default=50_000)
    parser.add_argument("--turns", type=int, default=12)
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--mariadb", default="mariadb://root@127.0.0.1:3306/mysql")
    arguments = parser.parse_args()
    names = [name for name in arguments.backends.split(",") if name]
    unknown = set(names) - set(BACKENDS)
    if unknown:
        parser.error(f"unknown backends: {', '.join(sorted(unknown))}")

    console = Console()
    tune_garbage_collector()
    results: dict[str, Figures] = {}
    with tempfile.TemporaryDirectory() as directory:
        applications = {
            kind: write_app(Path(directory) / kind, evolved=kind == "evolved")
            for kind in ("current", "evolved")
        }
        for name in names:
            console.print(f"measuring {BACKENDS[name]} …")
            results[name] = asyncio.run(measure(name, applications, arguments))

    table = Table(
        title=f"Replay by position, {arguments.events:,} events, fastest of "
        f"{arguments.turns} turns per row (events/s)"
    )
    table.add_column("reader")
    for name in names:
        table.add_column(BACKENDS[name], justify="right")
    for row, label in ROWS.items():
        table.add_row(label, *(f"{results[name].fastest[row]:,.0f}" for name in names))
    ratios = {name: results[name].ratios["current"] for name in names}
    for label, bottom in (("at the model's version", "current"), ("the store itself", "store")):
        table.add_row(
            f"one upcaster / {label} (median of turns)",
            *(f"{results[name].ratios[bottom]:.2f}" for name in names),
        )
    console.print(table)
    held = [BACKENDS[name] for name in names if ratios[name] >= TARGET]
    missed = [BACKENDS[name] for name in names if ratios[name] < TARGET]
    console.print(
        f"Target, one upcaster at ≥ {TARGET} of the rate at the model's version: holds on "
        f"{', '.join(held) or 'none'}{'; misses on ' + ', '.join(missed) if missed else ''}."
    )


if __name__ == "__main__":
    main()
