"""Rebuilding a view table: the chat sample's messages table under ``wk dev``'s SQLite layout.

    .venv/bin/python benchmarks/rebuilds.py [--messages N]

Stores N sent messages, each liked once (2 N events), with the flow's progress at the end,
as a runtime that has handled them would leave it. Then rebuilds the messages table three
ways, each from the same events, and checks that every row came back:

- ``rebuild``: what ``wk replay`` does now (``wolkenkit.runtime.rebuilds``): a shadow table
  filled by position, the flow paused, caught up and swapped in.
- ``re-evaluate (old)``: the old way, ``wk replay --dangerously-reevaluate`` after emptying
  the table: the flow's progress moved back, every event queued for the flow and processed
  from the flow queue, into the table queries read.
- ``handlers alone``: the baseline, the least any rebuild does: the flow's handlers run over
  the events as the event store returns them, writing the table, nothing else.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from rich.console import Console
from rich.table import Table

from wolkenkit import load_application
from wolkenkit.application.table_owners import rebuild_groups
from wolkenkit.domain.services import RepositoryAggregatesService, StoreLockService
from wolkenkit.messages import AggregateIdentifier, new_id
from wolkenkit.runtime.composition import Runtime
from wolkenkit.runtime.development import embedded_store_environment
from wolkenkit.runtime.rebuilds import rebuild
from wolkenkit.runtime.replay_configuration import SelectedAggregate
from wolkenkit.runtime.replays import prepare_replays, replay_in_process
from wolkenkit.runtime.services import Service
from wolkenkit.runtime.settings import RuntimeSettings
from wolkenkit.runtime.shadow_flows import ShadowFlows
from wolkenkit.scaffolds import create_project
from wolkenkit.testing.builders import build_domain_event

BATCH = 500


async def store_history(runtime: Runtime, count: int) -> list[AggregateIdentifier]:
    """``count`` messages, each sent and liked, handled by the flow as far as its progress
    says (the table itself stays empty: every way below builds it)."""
    identifiers = [
        AggregateIdentifier.of("communication", "message", new_id()) for _ in range(count)
    ]
    events = runtime.domain.domain_event_store
    progress = runtime.consumer_progress_store
    for start in range(0, count, BATCH):
        batch = identifiers[start : start + BATCH]
        await events.store_domain_events(
            [build_domain_event(identifier, "sent", {"text": "Hello"}) for identifier in batch]
        )
        await events.store_domain_events(
            [
                build_domain_event(identifier, "liked", {"likes": 1}, revision=2)
                for identifier in batch
            ]
        )
    for identifier in identifiers:
        await progress.set_progress("messages", identifier, 2)
    return identifiers


async def timed(work: Callable[[], Awaitable[None]]) -> float:
    started = time.perf_counter()
    await work()
    return time.perf_counter() - started


async def measure(directory: Path, count: int) -> list[tuple[str, float]]:
    application = load_application(
        create_project("chat", template="chat", directory=directory / "chat")
    )
    settings = RuntimeSettings.from_environment(
        embedded_store_environment(directory / "chat" / ".wolkenkit")
    )
    runtime = await Runtime.create(settings, application, frozenset({Service.FLOW}))
    store = runtime.domain.tables.store
    try:
        identifiers = await store_history(runtime, count)
        [group] = rebuild_groups(application, ["messages"])

        async def rebuilt() -> None:
            await rebuild(runtime, group)

        async def re_evaluated() -> None:
            await store.delete_where("messages", {})
            selected = [SelectedAggregate(identifier, 1, 2) for identifier in identifiers]
            replays = await prepare_replays(
                ["messages"], selected, runtime.consumer_progress_store, reevaluate=True
            )
            await replay_in_process(runtime, replays)

        async def handlers_alone() -> None:
            await store.delete_where("messages", {})
            flows = ShadowFlows(
                application,
                ["messages"],
                tables=runtime.domain.tables,
                aggregates=RepositoryAggregatesService(runtime.domain.repository),
                infrastructure=runtime.domain.infrastructure,
                lock=StoreLockService(runtime.lock_store),
            )
            async for positioned in runtime.domain.domain_event_store.get_replay_by_position():
                await flows.apply("messages", positioned.domain_event)

        results = []
        for name, work in (
            ("handlers alone (baseline)", handlers_alone),
            ("re-evaluate (old wk replay)", re_evaluated),
            ("rebuild (wk replay)", rebuilt),
        ):
            seconds = await timed(work)
            rows = await store.count("messages")
            first = (await store.find("messages")).rows[0]
            if rows != count or first["likes"] != 1:
                raise RuntimeError(f"{name} left {rows} rows of {count}, the first {first}")
            results.append((name, seconds))
        return results
    finally:
        await runtime.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--messages", type=int, default=5_000)
    count: int = parser.parse_args().messages
    with tempfile.TemporaryDirectory() as directory:
        results = asyncio.run(measure(Path(directory), count))

    events = 2 * count
    base = results[0][1]
    table = Table(title=f"Rebuilding the chat's messages table on SQLite, {events:,} events")
    for column in ("way", "seconds", "events/s", "time against the baseline"):
        table.add_column(column, justify="left" if column == "way" else "right")
    for name, seconds in results:
        table.add_row(name, f"{seconds:.2f}", f"{events / seconds:,.0f}", f"{seconds / base:.2f}")
    Console().print(table)


if __name__ == "__main__":
    main()
