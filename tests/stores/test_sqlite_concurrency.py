"""SQLite stores shared by several connections at once, as separate processes share a file.

Each worker runs in a thread of its own, with its own event loop and its own connection, so
the workers contend for SQLite's write lock exactly as processes do. Their write
transactions stay open for a random moment before they commit, to widen every race window.
"""

from __future__ import annotations

import asyncio
import random
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import TypeVar

from wolkenkit.errors import LockAcquireFailed
from wolkenkit.messages import new_id, now_ms
from wolkenkit.stores.sqlite import (
    SqliteDatabase,
    SqliteDomainEventStore,
    SqliteLockStore,
    SqlitePriorityQueueStore,
)
from wolkenkit.stores.sqlite.database import Work
from wolkenkit.stores.sqlite.options import (
    DomainEventTableNames,
    LockTableNames,
    PriorityQueueTableNames,
)
from wolkenkit.testing.contracts._messages import build_aggregate_identifier, build_domain_events
from wolkenkit.testing.contracts.priority_queue_store import QueueItem, does_identifier_match_item

T = TypeVar("T")


class SlowDatabase(SqliteDatabase):
    """A connection whose write transactions pause after their work, before committing."""

    async def write(self, work: Work[T]) -> T:
        def slow(connection: sqlite3.Connection) -> T:
            result = work(connection)
            time.sleep(random.uniform(0, 0.003))
            return result

        return await super().write(slow)


class Workers:
    """Threads that each run ``worker(index)`` in an event loop of their own."""

    def __init__(self, count: int, worker: Callable[[int], Awaitable[None]]) -> None:
        self._errors: list[BaseException] = []
        self._threads = [
            threading.Thread(target=self._run, args=(worker, index)) for index in range(count)
        ]
        for thread in self._threads:
            thread.start()

    def _run(self, worker: Callable[[int], Awaitable[None]], index: int) -> None:
        async def main() -> None:
            await worker(index)

        try:
            asyncio.run(main())
        except BaseException as error:
            self._errors.append(error)

    def running(self) -> bool:
        return any(thread.is_alive() for thread in self._threads)

    async def join(self) -> None:
        """Wait for every thread; a worker's failure fails the test."""
        for thread in self._threads:
            await asyncio.to_thread(thread.join, 60)
        assert not self.running(), "workers did not finish in time"
        if self._errors:
            raise self._errors[0]


async def test_a_tailing_reader_sees_every_event_once_in_position_order(tmp_path: Path) -> None:
    # Writers on four connections commit batches in whatever order the lock falls, each
    # holding its transaction open after its positions were assigned. A reader that keeps
    # asking for what follows the last position it saw must see every committed event
    # exactly once, with positions only growing.
    file_name = str(tmp_path / "events.db")
    table_names = DomainEventTableNames()
    reader = SqliteDomainEventStore(SqliteDatabase(file_name), table_names)
    await reader.setup()
    committed: list[str] = []

    async def write(index: int) -> None:
        store = SqliteDomainEventStore(SlowDatabase(file_name), table_names)
        for _ in range(25):
            batch = build_domain_events(build_aggregate_identifier(), random.randint(1, 4))
            await store.store_domain_events(batch)
            committed.extend(domain_event.id for domain_event in batch)
        await store.destroy()

    writers = Workers(4, write)
    seen: list[str] = []
    positions: list[int] = []
    while True:
        done = not writers.running()
        after = positions[-1] if positions else 0
        async for positioned in reader.get_replay_by_position(after, limit=random.randint(1, 7)):
            positions.append(positioned.position)
            seen.append(positioned.domain_event.id)
        if done and len(seen) >= len(committed):
            break
        await asyncio.sleep(0.0005)
    await writers.join()
    await reader.destroy()

    assert positions == sorted(set(positions))
    assert sorted(seen) == sorted(committed)
    assert len(committed) >= 100


async def test_competing_workers_never_share_a_discriminator(tmp_path: Path) -> None:
    # Workers on separate connections lock, process and acknowledge concurrently. No
    # discriminator is ever in two workers' hands at once, and every item is processed
    # once, in its queue's order.
    file_name = str(tmp_path / "queue.db")
    table_names = PriorityQueueTableNames()

    def queue_store(database: SqliteDatabase) -> SqlitePriorityQueueStore[QueueItem, str]:
        return SqlitePriorityQueueStore(
            database, table_names, QueueItem, does_identifier_match_item, 60_000
        )

    producer = queue_store(SqliteDatabase(file_name))
    await producer.setup()
    queued = {f"queue-{index}": [QueueItem(id=new_id()) for _ in range(6)] for index in range(8)}
    for discriminator, items in queued.items():
        for item in items:
            await producer.enqueue(item, discriminator, random.randint(1, 3))
    total = sum(len(items) for items in queued.values())
    processed: dict[str, list[QueueItem]] = {discriminator: [] for discriminator in queued}
    in_hand: set[str] = set()
    overlaps: list[str] = []
    guard = threading.Lock()

    async def work(index: int) -> None:
        store = queue_store(SlowDatabase(file_name))
        while sum(len(items) for items in processed.values()) < total:
            locked = await store.lock_next()
            if locked is None:
                await asyncio.sleep(0.001)
                continue
            discriminator = locked.metadata.discriminator
            with guard:
                if discriminator in in_hand:
                    overlaps.append(discriminator)
                in_hand.add(discriminator)
            await asyncio.sleep(random.uniform(0, 0.002))
            with guard:
                in_hand.discard(discriminator)
                processed[discriminator].append(locked.item)
            await store.acknowledge(discriminator, locked.metadata.token)
        await store.destroy()

    await Workers(4, work).join()
    await producer.destroy()

    assert overlaps == []
    assert processed == queued


async def test_of_many_connections_racing_for_a_lock_one_wins(tmp_path: Path) -> None:
    file_name = str(tmp_path / "locks.db")
    setup = SqliteLockStore(SqliteDatabase(file_name), LockTableNames())
    await setup.setup()
    value = new_id()
    start = threading.Barrier(6)
    results: list[bool] = []

    async def race(index: int) -> None:
        store = SqliteLockStore(SlowDatabase(file_name), LockTableNames())
        start.wait()
        try:
            await store.acquire_lock(value, now_ms() + 60_000)
            results.append(True)
        except LockAcquireFailed:
            results.append(False)
        await store.destroy()

    await Workers(6, race).join()
    await setup.destroy()

    assert sorted(results) == [False] * 5 + [True]
