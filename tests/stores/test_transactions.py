"""Units of work over the in-memory and SQLite stores: the shared-transaction contract, and
which stores share a database."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from tests.stores.helpers import progress_and_views, set_up
from wolkenkit.errors import RowAlreadyExists, StoreError
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


async def test_a_sqlite_unit_runs_its_writes_without_a_savepoint_each(tmp_path: Path) -> None:
    # A write that fails has changed nothing (it checks first; a failing statement undoes
    # itself), so it fails alone with no savepoint: two statements less per write.
    options = _sqlite(tmp_path / "one.db")
    progress_store = await sqlite.create_consumer_progress_store(options)
    view_store = await sqlite.create_view_store(options)
    async with progress_and_views(progress_store, view_store) as (progress, views):
        database = shared_database(progress, views)
        assert database is not None
        statements: list[str] = []
        connection = progress_store._db._connection  # the real connection, to watch it
        assert connection is not None
        connection.set_trace_callback(statements.append)

        async with database.transaction():
            await views.insert("messages", {"id": "a", "text": "Hi"})
            with pytest.raises(RowAlreadyExists):
                await views.insert("messages", {"id": "a", "text": "Again"})
            await progress.set_progress("flow", build_aggregate_identifier(), 1)

        assert not [s for s in statements if s.startswith(("SAVEPOINT", "RELEASE", "ROLLBACK"))]
        assert await views.get("messages", "a") == {"id": "a", "text": "Hi"}


async def test_a_sqlite_write_that_changed_rows_and_then_failed_takes_its_unit_down(
    tmp_path: Path,
) -> None:
    # Without a savepoint it cannot be undone alone: the unit rolls back whole and raises,
    # rather than commit half a write.
    options = _sqlite(tmp_path / "one.db")
    progress_store = await sqlite.create_consumer_progress_store(options)
    view_store = await sqlite.create_view_store(options)
    async with progress_and_views(progress_store, view_store) as (progress, views):
        database = progress_store._db
        aggregate = build_aggregate_identifier()

        def half_a_write(connection: sqlite3.Connection) -> None:
            connection.execute(
                'INSERT INTO "progress" ("consumerId", "aggregateId", "revision") '
                "VALUES ('flow', 'half', 1)"
            )
            raise ValueError("failed after changing a row")

        async def unit() -> None:
            async with database.transaction():
                await progress.set_progress("flow", aggregate, 1)
                with pytest.raises(ValueError, match="after changing"):
                    await database.write(half_a_write)
                await views.insert("messages", {"id": "a", "text": "Hi"})

        with pytest.raises(StoreError, match="lost the unit of work"):
            await unit()

        assert (await progress.get_progress("flow", aggregate)).revision == 0
        assert await views.get("messages", "a") is None
