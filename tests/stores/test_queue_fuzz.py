"""The fuzzer against the in-memory and SQLite priority queues; the servers' runs sit beside
their other tests. ``WOLKENKIT_FUZZ_SECONDS`` makes every run longer."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from pathlib import Path

import pytest

from wolkenkit.stores.memory.priority_queue_store import InMemoryPriorityQueueStore
from wolkenkit.stores.sqlite import SqliteDatabase, SqlitePriorityQueueStore
from wolkenkit.stores.sqlite.options import PriorityQueueTableNames
from wolkenkit.testing.contracts.priority_queue_store import (
    MakePriorityQueueStore,
    QueueItem,
    Store,
    does_identifier_match_item,
)
from wolkenkit.testing.queue_fuzz import FuzzSettings, fuzz_priority_queue_store


async def test_workers_sharing_one_in_memory_queue_lose_nothing_and_keep_order() -> None:
    # The in-memory queue lives in one process, so all workers share one instance.
    store: Store | None = None

    async def make_store(expiration_time: int) -> Store:
        nonlocal store
        if store is None:
            store = InMemoryPriorityQueueStore(does_identifier_match_item, expiration_time)
        return store

    report = await fuzz_priority_queue_store(make_store, FuzzSettings.from_environment())

    # The run met every situation it is meant to provoke, and the fuzzer found nothing wrong.
    assert report.unexercised() == []


@pytest.fixture
async def make_sqlite_store(tmp_path: Path) -> AsyncIterator[MakePriorityQueueStore]:
    """Stores of one file, each on a connection of its own, as separate processes have."""
    async with AsyncExitStack() as stores:

        async def make_store(expiration_time: int) -> Store:
            database = SqliteDatabase(str(tmp_path / "queue.db"))
            store = SqlitePriorityQueueStore(
                database,
                PriorityQueueTableNames(),
                QueueItem,
                does_identifier_match_item,
                expiration_time,
            )
            stores.push_async_callback(store.destroy)
            await store.setup()
            return store

        yield make_store


async def test_workers_sharing_a_sqlite_queue_lose_nothing_and_keep_order(
    make_sqlite_store: MakePriorityQueueStore,
) -> None:
    # Workers contend for SQLite's write lock as processes do; expiry runs on each one's clock.
    report = await fuzz_priority_queue_store(make_sqlite_store, FuzzSettings.from_environment())

    assert report.unexercised() == []
