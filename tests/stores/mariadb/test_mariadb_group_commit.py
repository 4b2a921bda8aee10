"""Concurrent writers of one MariaDB domain event store share transactions."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncmy
import pytest

from wolkenkit.stores.mariadb import MariaDbDomainEventStore, create_domain_event_store
from wolkenkit.testing.contracts._messages import (
    build_aggregate_identifier,
    build_domain_events,
    collect,
)

pytestmark = pytest.mark.mariadb


@pytest.fixture
async def store(
    options: dict[str, Any], connection: asyncmy.Connection
) -> AsyncIterator[MariaDbDomainEventStore]:
    store = await create_domain_event_store(options)
    await store.setup()
    # Every transaction that stores events moves the positions counter once; a trigger
    # notes where each one left it.
    async with connection.cursor() as cursor:
        await cursor.execute("CREATE TABLE `counted` (`last` BIGINT NOT NULL)")
        await cursor.execute(
            "CREATE TRIGGER `count` AFTER UPDATE ON `domain-events-positions` FOR EACH ROW"
            " INSERT INTO `counted` VALUES (NEW.`last`)"
        )
    yield store
    await store.destroy()


async def _transaction_ends(connection: asyncmy.Connection) -> list[int]:
    async with connection.cursor() as cursor:
        await cursor.execute("SELECT `last` FROM `counted` ORDER BY `last`")
        return [row[0] for row in await cursor.fetchall()]


async def test_batches_that_arrive_during_a_write_share_the_next_transaction(
    store: MariaDbDomainEventStore, connection: asyncmy.Connection
) -> None:
    # The first of six callers writes at once; the five that arrive meanwhile are written
    # together, in one transaction, their events numbered on in the callers' order.
    batches = [build_domain_events(build_aggregate_identifier(), 2) for _ in range(6)]

    await asyncio.gather(*(store.store_domain_events(batch) for batch in batches))

    assert await _transaction_ends(connection) == [2, 12]
    replay = await collect(store.get_replay_by_position())
    assert [positioned.position for positioned in replay] == list(range(1, 13))
    assert [positioned.domain_event.id for positioned in replay] == [
        domain_event.id for batch in batches for domain_event in batch
    ]


async def test_a_lone_writer_is_not_held_back(
    store: MariaDbDomainEventStore, connection: asyncmy.Connection
) -> None:
    # Batches one after the other each get a transaction of their own right away.
    for _ in range(3):
        await store.store_domain_events(build_domain_events(build_aggregate_identifier(), 1))

    assert await _transaction_ends(connection) == [1, 2, 3]
