"""The MariaDB stores under concurrency across connections: stores with pools of their own stand
for separate processes, which share nothing but the server."""

from __future__ import annotations

import asyncio
import random
import secrets
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

from wolkenkit import errors
from wolkenkit.messages import new_id, now_ms
from wolkenkit.stores.domain_event_store import PositionedDomainEvent
from wolkenkit.stores.mariadb import (
    MariaDbDomainEventStore,
    create_domain_event_store,
    create_lock_store,
    create_priority_queue_store,
)
from wolkenkit.stores.mariadb.database import Session, Statement
from wolkenkit.testing.contracts._messages import (
    build_aggregate_identifier,
    build_domain_events,
    collect,
)
from wolkenkit.testing.contracts.priority_queue_store import (
    QueueItem,
    Store,
    does_identifier_match_item,
)

pytestmark = pytest.mark.mariadb


@pytest.fixture
def slow_commits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hold every event-storing transaction open for random times: before it takes its
    positions, so that others overtake it, and after, while it holds the counter."""
    script = Session.script

    async def slow_script(self: Session, *statements: Statement) -> list[Sequence[Any]]:
        slowed: list[Statement] = []
        for sql, arguments in statements:
            if "LAST_INSERT_ID(`last`" in sql:
                slowed.append(("DO SLEEP(%s)", (random.uniform(0, 0.03),)))
            elif sql == "COMMIT" and slowed:
                slowed.append(("DO SLEEP(%s)", (random.uniform(0, 0.005),)))
            slowed.append((sql, arguments))
        return await script(self, *slowed)

    monkeypatch.setattr(Session, "script", slow_script)


@pytest.mark.usefixtures("slow_commits")
async def test_a_tailing_reader_sees_every_committed_event_once_in_order(
    options: dict[str, Any],
) -> None:
    # Writers on connections of their own race for a few aggregates, so some batches fail;
    # a reader that keeps asking for what comes after the last position it saw must end up
    # with exactly the committed events, each once, in position order, batches unbroken.
    writers = [await create_domain_event_store(options) for _ in range(6)]
    reader = await create_domain_event_store(options)
    await reader.setup()
    aggregates = [build_aggregate_identifier() for _ in range(4)]
    committed: list[tuple[float, list[str]]] = []
    done = asyncio.Event()
    seen: list[PositionedDomainEvent] = []

    async def write(store: MariaDbDomainEventStore) -> None:
        for _ in range(12):
            aggregate = random.choice(aggregates)
            last = await store.get_last_domain_event(aggregate)
            revision = last.metadata.revision + 1 if last else 1
            batch = build_domain_events(aggregate, random.randint(1, 4), revision)
            started = asyncio.get_running_loop().time()
            try:
                await store.store_domain_events(batch)
            except errors.RevisionAlreadyExists:
                continue
            committed.append((started, [event.id for event in batch]))

    async def tail() -> None:
        after_position = 0
        while True:
            finished = done.is_set()
            page = await collect(reader.get_replay_by_position(after_position))
            seen.extend(page)
            if page:
                after_position = page[-1].position
            elif finished:
                return
            await asyncio.sleep(0.002)

    try:
        tailing = asyncio.create_task(tail())
        await asyncio.gather(*(write(writer) for writer in writers))
        done.set()
        await asyncio.wait_for(tailing, timeout=10)
    finally:
        for store in [*writers, reader]:
            await store.destroy()

    seen_ids = [item.domain_event.id for item in seen]
    assert [item.position for item in seen] == list(range(1, len(seen) + 1))
    assert sorted(seen_ids) == sorted(event_id for _, batch in committed for event_id in batch)
    position_of = {item.domain_event.id: item.position for item in seen}
    first_positions = []
    for _, batch in committed:
        positions = [position_of[event_id] for event_id in batch]
        assert positions == list(range(positions[0], positions[0] + len(batch)))
        first_positions.append(positions[0])
    # The race was real: some batch that started later was committed first.
    by_start = [position for _, position in sorted(zip(committed, first_positions, strict=True))]
    assert by_start != sorted(by_start)


@pytest.mark.usefixtures("slow_commits")
async def test_writers_with_the_same_temporary_positions_still_succeed(
    options: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Temporary positions are random; should two batches in flight draw the same ones, the
    # later waits for the earlier instead of failing.
    monkeypatch.setattr(secrets, "randbelow", lambda _: 41)
    stores = [await create_domain_event_store(options) for _ in range(3)]
    await stores[0].setup()
    batches = [build_domain_events(build_aggregate_identifier(), 3) for _ in stores]
    try:
        await asyncio.gather(
            *(
                store.store_domain_events(batch)
                for store, batch in zip(stores, batches, strict=True)
            )
        )
        replay = await collect(stores[0].get_replay_by_position())
    finally:
        for store in stores:
            await store.destroy()

    assert [item.position for item in replay] == list(range(1, 10))
    assert sorted(item.domain_event.id for item in replay) == sorted(
        event.id for batch in batches for event in batch
    )


async def test_workers_of_separate_stores_never_share_a_discriminator(
    options: dict[str, Any],
) -> None:
    # Workers of four processes lock and acknowledge concurrently: no discriminator is ever
    # held twice at once, every item is processed once, each queue's items in order.
    stores: list[Store] = [
        await create_priority_queue_store(options, QueueItem, does_identifier_match_item, 60_000)
        for _ in range(4)
    ]
    await stores[0].setup()
    queued = {f"queue-{index}": [QueueItem(id=new_id()) for _ in range(6)] for index in range(10)}

    async def enqueue(store: Store, discriminator: str, items: list[QueueItem]) -> None:
        for item in items:
            await store.enqueue(item, discriminator, random.randint(1, 5))

    total = sum(len(items) for items in queued.values())
    processed: dict[str, list[QueueItem]] = {discriminator: [] for discriminator in queued}
    held: set[str] = set()

    async def work(store: Store) -> None:
        while sum(len(items) for items in processed.values()) < total:
            locked = await store.lock_next()
            if locked is None:
                await asyncio.sleep(0.001)
                continue
            discriminator = locked.metadata.discriminator
            assert discriminator not in held
            held.add(discriminator)
            await asyncio.sleep(random.uniform(0, 0.003))
            processed[discriminator].append(locked.item)
            held.discard(discriminator)
            await store.acknowledge(discriminator, locked.metadata.token)

    try:
        await asyncio.gather(
            *(
                enqueue(stores[index % len(stores)], discriminator, items)
                for index, (discriminator, items) in enumerate(queued.items())
            )
        )
        workers = [work(store) for store in stores for _ in range(3)]
        await asyncio.wait_for(asyncio.gather(*workers), timeout=30)
    finally:
        for store in stores:
            await store.destroy()

    assert processed == queued


async def test_lockers_of_separate_stores_get_each_queue_once(options: dict[str, Any]) -> None:
    # Many lock_next calls at once, spread over several stores: each queue is handed out to
    # exactly one of them, since a queue being locked is skipped rather than waited for.
    stores: list[Store] = [
        await create_priority_queue_store(options, QueueItem, does_identifier_match_item, 60_000)
        for _ in range(5)
    ]
    await stores[0].setup()
    discriminators = [f"queue-{index}" for index in range(15)]
    for discriminator in discriminators:
        for priority in range(2):
            await stores[0].enqueue(QueueItem(id=new_id()), discriminator, priority)

    try:
        results = await asyncio.gather(*(store.lock_next() for store in stores * 10))
    finally:
        for store in stores:
            await store.destroy()

    locked = [result.metadata.discriminator for result in results if result is not None]
    assert sorted(locked) == sorted(discriminators)


@pytest.fixture
async def lock_stores(options: dict[str, Any]) -> AsyncIterator[list[Any]]:
    stores = [await create_lock_store(options) for _ in range(5)]
    await stores[0].setup()
    yield stores
    for store in stores:
        await store.destroy()


async def test_lock_takers_of_separate_stores_get_the_lock_once(lock_stores: list[Any]) -> None:
    # Processes racing for one lock, and later for the same lock once it has expired.
    value = new_id()

    async def race(expires_at: int) -> int:
        async def try_to_acquire(store: Any) -> bool:
            try:
                await store.acquire_lock(value, expires_at)
            except errors.LockAcquireFailed:
                return False
            return True

        results = await asyncio.gather(*(try_to_acquire(store) for store in lock_stores * 4))
        return results.count(True)

    assert await race(now_ms() + 100) == 1
    await asyncio.sleep(0.15)
    assert await race(now_ms() + 60_000) == 1
