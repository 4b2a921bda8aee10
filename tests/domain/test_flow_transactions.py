"""A flow's table writes and its progress: one unit of work where the view store and the
progress store share a database (exactly once), one write at a time where they do not (at
least once)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.application.app_files import write_app
from tests.application.counting_app import FILES
from wolkenkit.application.application import Application
from wolkenkit.application.loader import load_application
from wolkenkit.application.tables import Tables
from wolkenkit.domain.domain import Domain
from wolkenkit.messages import AggregateIdentifier, DomainEvent, new_id
from wolkenkit.stores import sqlite
from wolkenkit.stores.consumer_progress_store import ConsumerProgressStore
from wolkenkit.stores.memory.consumer_progress_store import InMemoryConsumerProgressStore
from wolkenkit.stores.memory.domain_event_store import InMemoryDomainEventStore
from wolkenkit.stores.memory.lock_store import InMemoryLockStore
from wolkenkit.stores.memory.view_store import InMemoryViewStore
from wolkenkit.stores.view_store import ViewStore
from wolkenkit.testing import build_domain_event
from wolkenkit.testing.sandbox import RecordingPublisher


@pytest.fixture(scope="module")
def application(tmp_path_factory: pytest.TempPathFactory) -> Application:
    return load_application(write_app(tmp_path_factory.mktemp("counting"), FILES))


@asynccontextmanager
async def domain_over(
    application: Application, progress: ConsumerProgressStore, views: ViewStore
) -> AsyncIterator[Domain]:
    tables = Tables(views, application.tables)
    await progress.setup()
    await tables.setup()
    try:
        yield Domain(
            application,
            domain_event_store=InMemoryDomainEventStore(),
            lock_store=InMemoryLockStore(),
            consumer_progress_store=progress,
            publisher=RecordingPublisher(),
            tables=tables,
        )
    finally:
        await progress.destroy()
        await tables.destroy()


@pytest.fixture(params=["memory", "sqlite"])
async def domain(
    request: pytest.FixtureRequest, application: Application, tmp_path: Path
) -> AsyncIterator[Domain]:
    """A domain whose progress and tables share a database."""
    if request.param == "memory":
        stores: tuple[ConsumerProgressStore, ViewStore] = (
            InMemoryConsumerProgressStore(),
            InMemoryViewStore(),
        )
    else:
        options = {"type": "Sqlite", "fileName": str(tmp_path / "one.db")}
        stores = (
            await sqlite.create_consumer_progress_store(options),
            await sqlite.create_view_store(options),
        )
    async with domain_over(application, *stores) as domain:
        yield domain


def sent(text: str, identifier: AggregateIdentifier | None = None) -> DomainEvent[Any]:
    identifier = identifier or AggregateIdentifier.of("communication", "message", new_id())
    return build_domain_event(identifier, "sent", {"text": text})


async def count(domain: Domain) -> int | None:
    row = await domain.tables.store.get("counts", "sent")
    return None if row is None else int(row["count"])


async def test_progress_and_tables_of_one_database_share_a_unit_of_work(domain: Domain) -> None:
    assert domain.flow_database is not None


async def test_a_failing_handler_leaves_no_table_writes_behind(domain: Domain) -> None:
    await domain.execute_flow("counting", sent("one"))

    with pytest.raises(RuntimeError, match="fails after writing"):
        await domain.execute_flow("counting", sent("fail"))

    assert await count(domain) == 1


async def test_a_second_delivery_while_the_first_runs_counts_nothing(domain: Domain) -> None:
    # A lock that expired hands the event to a second worker while the first one, slow, is
    # between its write and its progress.
    event = sent("slow")
    first = asyncio.create_task(domain.execute_flow("counting", event))
    await asyncio.sleep(0.01)

    second = await domain.execute_flow("counting", event)

    assert (await first, second) == ("acknowledge", "acknowledge")
    assert await count(domain) == 1


async def test_in_two_databases_a_failing_handler_s_writes_stay(
    application: Application, tmp_path: Path
) -> None:
    # At least once: what a handler wrote before it failed is there when the event comes again.
    progress = await sqlite.create_consumer_progress_store(
        {"type": "Sqlite", "fileName": str(tmp_path / "progress.db")}
    )
    views = await sqlite.create_view_store(
        {"type": "Sqlite", "fileName": str(tmp_path / "views.db")}
    )
    async with domain_over(application, progress, views) as domain:
        assert domain.flow_database is None
        with pytest.raises(RuntimeError, match="fails after writing"):
            await domain.execute_flow("counting", sent("fail"))

        assert await count(domain) == 1
