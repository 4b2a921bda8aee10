"""The PostgreSQL domain event store's global order under concurrent, slow writers, and the
transactions that concurrent writers of one store share."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from wolkenkit.errors import StoreError
from wolkenkit.stores import postgres
from wolkenkit.stores.domain_event_store import PositionedDomainEvent
from wolkenkit.stores.postgres import PostgresDomainEventStore
from wolkenkit.stores.postgres.domain_event_store import BATCH_BITS
from wolkenkit.testing.contracts._messages import (
    build_aggregate_identifier,
    build_domain_event,
    build_domain_events,
    collect,
    settle,
)

pytestmark = pytest.mark.postgres


@pytest.fixture
async def store(options: dict[str, Any]) -> AsyncIterator[PostgresDomainEventStore]:
    store = await postgres.create_domain_event_store(options)
    await store.setup()
    yield store
    await store.destroy()


@pytest.fixture
async def reader(options: dict[str, Any]) -> AsyncIterator[PostgresDomainEventStore]:
    """A second store on the same tables, with connections of its own."""
    store = await postgres.create_domain_event_store(options)
    yield store
    await store.destroy()


async def _slow_down_commits(connection: asyncpg.Connection, schema: str) -> None:
    """Every insert into the events table now sleeps up to 30 ms before its transaction
    commits, with its transaction id and positions already taken."""
    await connection.execute(
        f'CREATE FUNCTION "{schema}".sleep_randomly() RETURNS trigger LANGUAGE plpgsql'
        " AS $$ BEGIN PERFORM pg_sleep(random() * 0.03); RETURN NULL; END $$"
    )
    await connection.execute(
        f'CREATE TRIGGER sleep_randomly AFTER INSERT ON "{schema}"."domain-events"'
        f' FOR EACH STATEMENT EXECUTE FUNCTION "{schema}".sleep_randomly()'
    )


async def test_a_tailing_reader_sees_every_event_once_in_order(
    store: PostgresDomainEventStore,
    reader: PostgresDomainEventStore,
    options: dict[str, Any],
    connection: asyncpg.Connection,
) -> None:
    # Eight writers store batches concurrently, and their commits are delayed at random, so
    # transactions commit in another order than they took their positions. A reader that
    # tails the store, always continuing after the last position it saw, must still see
    # every committed event exactly once, in position order. Each writer has a store of its
    # own, as separate processes do: one store joins concurrent batches into one transaction.
    await _slow_down_commits(connection, options["schema"])
    finished: list[str] = []
    written: list[str] = []
    writers_done = asyncio.Event()

    async def write() -> None:
        writer = await postgres.create_domain_event_store(options)
        try:
            for _ in range(12):
                domain_events = build_domain_events(
                    build_aggregate_identifier(), random.randint(1, 3)
                )
                await writer.store_domain_events(domain_events)
                written.extend(domain_event.id for domain_event in domain_events)
                finished.append(domain_events[0].id)
        finally:
            await writer.destroy()

    async def tail() -> list[PositionedDomainEvent]:
        seen: list[PositionedDomainEvent] = []
        after_position = 0
        while True:
            done = writers_done.is_set()
            page = await collect(reader.get_replay_by_position(after_position, limit=5))
            seen.extend(page)
            if page:
                after_position = page[-1].position
            elif done and len(seen) >= len(written):
                return seen
            else:
                await asyncio.sleep(0.002)

    async def write_all() -> None:
        await asyncio.gather(*(write() for _ in range(8)))
        writers_done.set()

    seen, _ = await asyncio.wait_for(asyncio.gather(tail(), write_all()), timeout=30)

    positions = [positioned.position for positioned in seen]
    assert positions == sorted(set(positions))
    seen_ids = [positioned.domain_event.id for positioned in seen]
    assert sorted(seen_ids) == sorted(written)
    everything = await collect(reader.get_replay_by_position())
    assert [positioned.domain_event.id for positioned in everything] == seen_ids
    # The test is only worth something if commits really overtook each other.
    position_of = {positioned.domain_event.id: positioned.position for positioned in everything}
    commit_order = [position_of[first_id] for first_id in finished]
    assert commit_order != sorted(commit_order)


async def test_events_wait_for_older_transactions_to_end(
    store: PostgresDomainEventStore, connection: asyncpg.Connection
) -> None:
    # A transaction that started writing before an event was stored may still commit events
    # with lower positions, so readers see nothing past it until it ends.
    first = build_domain_event()
    await store.store_domain_events([first])
    await settle(store, 1)
    transaction = connection.transaction()
    await transaction.start()
    await connection.execute("SELECT pg_current_xact_id()")
    second = build_domain_event()
    await store.store_domain_events([second])

    while_open = await collect(store.get_replay_by_position())
    await transaction.rollback()
    await settle(store, 2)
    after_end = await collect(store.get_replay_by_position())

    assert [positioned.domain_event.id for positioned in while_open] == [first.id]
    assert [positioned.domain_event.id for positioned in after_end] == [first.id, second.id]


async def test_waiting_until_readable_waits_for_older_transactions_to_end(
    store: PostgresDomainEventStore, connection: asyncpg.Connection
) -> None:
    # A rebuild waits so until it can read everything stored before it paused its flows.
    transaction = connection.transaction()
    await transaction.start()
    await connection.execute("SELECT pg_current_xact_id()")
    stored = build_domain_event()
    await store.store_domain_events([stored])

    waiting = asyncio.create_task(store.wait_until_readable())
    await asyncio.sleep(0.2)
    waited_while_open = not waiting.done()
    await transaction.rollback()
    await asyncio.wait_for(waiting, timeout=30)

    assert waited_while_open
    replay = await collect(store.get_replay_by_position())
    assert [positioned.domain_event.id for positioned in replay] == [stored.id]


async def test_positions_of_a_batch_are_consecutive(store: PostgresDomainEventStore) -> None:
    # One batch is one transaction: its events sit next to each other in the order given.
    await store.store_domain_events(build_domain_events(build_aggregate_identifier(), 4))
    await settle(store, 4)

    replay = await collect(store.get_replay_by_position())
    positions = [positioned.position for positioned in replay]

    assert positions == list(range(positions[0], positions[0] + 4))


async def test_setup_refuses_positions_ahead_of_the_servers_transactions(
    store: PostgresDomainEventStore, options: dict[str, Any], connection: asyncpg.Connection
) -> None:
    # After a logical restore into a fresh cluster, new transaction ids would be lower than
    # the stored positions, and new events would sort before old ones.
    event = build_domain_event()
    await connection.execute(
        f'INSERT INTO "{options["schema"]}"."domain-events" (position, aggregate_id, revision,'
        " causation_id, correlation_id, timestamp, domain_event)"
        " VALUES ($1, $2, 1, $3, $3, 0, $4)",
        2**62,
        event.aggregate_identifier.aggregate.id,
        event.metadata.causation_id,
        event.model_dump_json(),
    )

    with pytest.raises(StoreError, match="ahead of the server's transaction ids"):
        await store.setup()


async def test_concurrent_setups_do_not_collide(options: dict[str, Any]) -> None:
    # Several processes starting at once all set up the same tables.
    stores = [await postgres.create_domain_event_store(options) for _ in range(4)]
    try:
        await asyncio.gather(*(store.setup() for store in stores))
        await stores[0].store_domain_events([build_domain_event()])
        await settle(stores[-1], 1)
        assert len(await collect(stores[-1].get_replay_by_position())) == 1
    finally:
        for store in stores:
            await store.destroy()


async def test_batches_that_arrive_during_a_write_share_the_next_transaction(
    store: PostgresDomainEventStore,
) -> None:
    # The first of six callers writes at once; the five that arrive meanwhile are written
    # together, in one transaction: their events share its id in the upper bits of their
    # positions and are numbered on through the joint batch, each caller's in its order.
    batches = [build_domain_events(build_aggregate_identifier(), 2) for _ in range(6)]

    await asyncio.gather(*(store.store_domain_events(batch) for batch in batches))
    await settle(store, 12)

    replay = await collect(store.get_replay_by_position())
    transactions = [positioned.position >> BATCH_BITS for positioned in replay]
    assert transactions == [transactions[0]] * 2 + [transactions[2]] * 10
    assert transactions[0] != transactions[2]
    assert [positioned.domain_event.id for positioned in replay] == [
        domain_event.id for batch in batches for domain_event in batch
    ]
    indexes = [positioned.position % 2**BATCH_BITS for positioned in replay[2:]]
    assert indexes == list(range(10))


async def test_a_lone_writer_is_not_held_back(store: PostgresDomainEventStore) -> None:
    # Batches one after the other each get a transaction of their own right away.
    for _ in range(3):
        await store.store_domain_events(build_domain_events(build_aggregate_identifier(), 1))
    await settle(store, 3)

    replay = await collect(store.get_replay_by_position())
    assert len({positioned.position >> BATCH_BITS for positioned in replay}) == 3
