"""PostgreSQL stores shared by several store instances, as separate processes share them.

Every store instance has its own connection pool, so from the database's point of view the
instances below are as separate as processes on different machines.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import asyncpg
import pytest

from wolkenkit.errors import LockAcquireFailed
from wolkenkit.messages import new_id, now_ms
from wolkenkit.stores import postgres
from wolkenkit.testing.contracts.priority_queue_store import (
    QueueItem,
    Store,
    does_identifier_match_item,
)

pytestmark = pytest.mark.postgres

MakeQueue = Callable[[], Awaitable[Store]]


@pytest.fixture
async def make_queue(options: dict[str, Any]) -> AsyncIterator[MakeQueue]:
    made: list[Store] = []

    async def make_queue() -> Store:
        store = await postgres.create_priority_queue_store(
            options, QueueItem, does_identifier_match_item, 60_000
        )
        await store.setup()
        made.append(store)
        return store

    yield make_queue
    for store in made:
        await store.destroy()


async def _work(
    store: Store,
    processed: dict[str, list[QueueItem]],
    in_flight: set[str],
    is_done: Callable[[], bool],
) -> None:
    """Lock, hold for a moment, record and acknowledge until ``is_done``."""
    while not is_done():
        locked = await store.lock_next()
        if locked is None:
            await asyncio.sleep(0.001)
            continue
        discriminator = locked.metadata.discriminator
        assert discriminator not in in_flight, "two workers hold the same discriminator"
        in_flight.add(discriminator)
        await asyncio.sleep(random.random() * 0.003)
        processed.setdefault(discriminator, []).append(locked.item)
        in_flight.remove(discriminator)
        await store.acknowledge(discriminator, locked.metadata.token)


async def _count_rows(connection: asyncpg.Connection, schema: str) -> tuple[int, int]:
    queues = await connection.fetchval(f'SELECT count(*) FROM "{schema}"."priority-queue"')
    items = await connection.fetchval(f'SELECT count(*) FROM "{schema}"."items"')
    return queues, items


async def test_workers_of_several_instances_share_the_work_safely(
    make_queue: MakeQueue, options: dict[str, Any], connection: asyncpg.Connection
) -> None:
    # Twelve workers on four instances drain many queues. None may ever hold a discriminator
    # another one holds, and every item is processed once, in its queue's order.
    stores = [await make_queue() for _ in range(4)]
    queued = {f"queue-{index}": [QueueItem(id=new_id()) for _ in range(8)] for index in range(12)}
    for position in range(8):
        for discriminator, items in queued.items():
            await stores[position % 4].enqueue(items[position], discriminator, position)
    total = sum(len(items) for items in queued.values())
    processed: dict[str, list[QueueItem]] = {}
    in_flight: set[str] = set()

    def is_done() -> bool:
        return sum(len(items) for items in processed.values()) >= total

    workers = [_work(store, processed, in_flight, is_done) for store in stores for _ in range(3)]
    await asyncio.wait_for(asyncio.gather(*workers), timeout=30)

    assert processed == queued
    assert await _count_rows(connection, options["schema"]) == (0, 0)


async def test_items_enqueued_while_queues_empty_out_are_not_lost(
    make_queue: MakeQueue, options: dict[str, Any], connection: asyncpg.Connection
) -> None:
    # Producers keep adding to a few queues while workers on other instances acknowledge
    # their last items, which deletes the queues. An item enqueued at that moment must land
    # in a queue that exists, not in one that is just being deleted.
    producers, consumers = (
        [await make_queue() for _ in range(2)],
        [await make_queue() for _ in range(3)],
    )
    queued: dict[str, list[QueueItem]] = {f"queue-{index}": [] for index in range(3)}
    processed: dict[str, list[QueueItem]] = {}
    in_flight: set[str] = set()
    producing = True

    async def produce(store: Store, discriminator: str) -> None:
        for _ in range(40):
            item = QueueItem(id=new_id())
            queued[discriminator].append(item)
            await store.enqueue(item, discriminator, now_ms())
            await asyncio.sleep(random.random() * 0.004)

    def is_done() -> bool:
        return not producing and sum(map(len, processed.values())) >= sum(map(len, queued.values()))

    async def produce_all() -> None:
        nonlocal producing
        await asyncio.gather(
            *(
                produce(producers[index % 2], discriminator)
                for index, discriminator in enumerate(queued)
            )
        )
        producing = False

    workers = [_work(store, processed, in_flight, is_done) for store in consumers for _ in range(2)]
    await asyncio.wait_for(asyncio.gather(produce_all(), *workers), timeout=30)

    assert processed == queued
    assert await _count_rows(connection, options["schema"]) == (0, 0)


async def test_removing_finds_an_item_deep_in_a_long_queue(make_queue: MakeQueue) -> None:
    # The matcher runs in Python, so remove reads the queue in pages until it finds a match.
    store = await make_queue()
    items = [QueueItem(id=new_id()) for _ in range(130)]
    for item in items:
        await store.enqueue(item, "long", 1)

    await store.remove("long", items[117].id)
    await store.remove("long", items[0].id)

    drained: list[QueueItem] = []
    while (locked := await store.lock_next()) is not None:
        drained.append(locked.item)
        await store.acknowledge("long", locked.metadata.token)
    assert drained == [item for index, item in enumerate(items) if index not in (0, 117)]


async def test_instances_racing_for_a_lock_let_exactly_one_win(options: dict[str, Any]) -> None:
    stores = [await postgres.create_lock_store(options) for _ in range(4)]
    await stores[0].setup()
    value = new_id()

    async def try_to_acquire(index: int) -> bool:
        try:
            await stores[index % 4].acquire_lock(value, now_ms() + 60_000)
        except LockAcquireFailed:
            return False
        return True

    try:
        results = await asyncio.gather(*(try_to_acquire(index) for index in range(24)))
    finally:
        for store in stores:
            await store.destroy()

    assert results.count(True) == 1
