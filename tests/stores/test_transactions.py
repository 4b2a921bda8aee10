"""Units of work over the in-memory and SQLite stores: the shared-transaction contract, and
which stores share a database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.stores.helpers import progress_and_views, set_up
from wolkenkit.stores import sqlite
from wolkenkit.stores.memory.consumer_progress_store import InMemoryConsumerProgressStore
from wolkenkit.stores.memory.view_store import InMemoryViewStore
from wolkenkit.stores.transactions import shared_database
from wolkenkit.testing.contracts._messages import build_aggregate_identifier
from wolkenkit.testing.contracts.transactions import SharedTransactionContract, Stores


class TestInMemoryUnitsOfWork(SharedTransactionContract):
    # In memory, a unit undoes what its failing block did; it keeps nobody from looking.
    isolates = False

    @pytest.fixture
    async def stores(self) -> AsyncIterator[Stores]:
        async with progress_and_views(
            InMemoryConsumerProgressStore(), InMemoryViewStore()
        ) as stores:
            yield stores


def _sqlite(path: Path) -> dict[str, Any]:
    return {"type": "Sqlite", "fileName": str(path)}


class TestSqliteUnitsOfWork(SharedTransactionContract):
    @pytest.fixture
    async def stores(self, tmp_path: Path) -> AsyncIterator[Stores]:
        options = _sqlite(tmp_path / "one.db")
        async with progress_and_views(
            await sqlite.create_consumer_progress_store(options),
            await sqlite.create_view_store(options),
        ) as stores:
            yield stores


async def test_sqlite_stores_of_two_files_share_no_database(tmp_path: Path) -> None:
    progress = await sqlite.create_consumer_progress_store(_sqlite(tmp_path / "progress.db"))
    views = await sqlite.create_view_store(_sqlite(tmp_path / "views.db"))
    try:
        assert shared_database(progress, views) is None
        assert shared_database(progress, InMemoryViewStore()) is None
    finally:
        await progress.destroy()
        await views.destroy()


async def test_a_sqlite_unit_that_only_reads_takes_no_write_lock(tmp_path: Path) -> None:
    options = _sqlite(tmp_path / "one.db")
    async with set_up(await sqlite.create_consumer_progress_store(options)) as progress:
        database = shared_database(progress)
        assert database is not None
        begun: list[str] = []
        connection = progress._db._connection  # the real connection, to watch it
        assert connection is not None
        connection.set_trace_callback(begun.append)

        async with database.transaction():
            await progress.get_progress("flow", build_aggregate_identifier())

        assert "BEGIN IMMEDIATE" not in begun


async def test_a_sqlite_unit_inside_a_unit_is_undone_alone_when_it_raises(tmp_path: Path) -> None:
    # A worker handles several items in one unit: an item that fails loses its own writes,
    # the others' commit.
    options = _sqlite(tmp_path / "one.db")
    progress_store = await sqlite.create_consumer_progress_store(options)
    view_store = await sqlite.create_view_store(options)
    async with progress_and_views(progress_store, view_store) as (progress, views):
        database = shared_database(progress, views)
        assert database is not None
        assert database.nested_units_undo_alone
        consumer, aggregate = "flow", build_aggregate_identifier()

        async def fail_after_writing() -> None:
            async with database.transaction():
                await views.insert("messages", {"id": "failed", "text": "Failed"})
                await progress.set_progress(consumer, aggregate, 1)
                raise ValueError("the item's handler failed")

        async with database.transaction():
            await views.insert("messages", {"id": "before", "text": "Before"})
            with pytest.raises(ValueError, match="handler failed"):
                await fail_after_writing()
            async with database.transaction():
                await views.insert("messages", {"id": "after", "text": "After"})

        assert [row["id"] for row in (await views.find("messages")).rows] == ["after", "before"]
        assert (await progress.get_progress(consumer, aggregate)).revision == 0
