"""A MariaDB domain event store from before events kept versions keeps working."""

from __future__ import annotations

import json
from typing import Any

import asyncmy
import pytest

from tests.stores.helpers import set_up
from wolkenkit.stores import mariadb
from wolkenkit.stores.mariadb.database import uuid_bytes
from wolkenkit.testing.contracts._messages import build_domain_event, collect

pytestmark = pytest.mark.mariadb

#: The tables as stores made them before events kept versions and snapshots state models.
_TABLES_BEFORE_VERSIONS = [
    """CREATE TABLE `domain-events` (`aggregateId` BINARY(16) NOT NULL,
        `revision` INT UNSIGNED NOT NULL, `causationId` BINARY(16) NOT NULL,
        `correlationId` BINARY(16) NOT NULL, `timestamp` BIGINT NOT NULL,
        `position` BIGINT NOT NULL, `domainEvent` JSON NOT NULL,
        PRIMARY KEY (`aggregateId`, `revision`), UNIQUE KEY `position` (`position`))""",
    """CREATE TABLE `snapshots` (`aggregateId` BINARY(16) NOT NULL,
        `revision` INT UNSIGNED NOT NULL, `state` JSON NOT NULL,
        PRIMARY KEY (`aggregateId`, `revision`))""",
]


async def test_tables_from_before_versions_keep_working(
    options: dict[str, Any], connection: asyncmy.Connection
) -> None:
    # A database of an earlier wolkenkit: setup adds the columns, the old events read as
    # version 1 and the old snapshot as one of no known state model; new events keep their
    # version beside JSON that stays as the APIs send it.
    old = build_domain_event()
    key = uuid_bytes(old.aggregate_identifier.aggregate.id)
    async with connection.cursor() as cursor:
        for statement in _TABLES_BEFORE_VERSIONS:
            await cursor.execute(statement)
        await cursor.execute(
            "INSERT INTO `domain-events` VALUES (%s, 1, %s, %s, 1, 1, %s)",
            (key, key, key, old.model_dump_json()),
        )
        await cursor.execute("""INSERT INTO `snapshots` VALUES (%s, 1, '{"count": 1}')""", (key,))
    new = build_domain_event(old.aggregate_identifier, 2, version=2)

    async with set_up(await mariadb.create_domain_event_store(options)) as store:
        await store.store_domain_events([new])
        replay = await collect(
            store.get_replay_for_aggregate(old.aggregate_identifier.aggregate.id)
        )
        snapshot = await store.get_snapshot(old.aggregate_identifier)

    assert [(event.id, event.version) for event in replay] == [(old.id, 1), (new.id, 2)]
    assert snapshot is not None
    assert (snapshot.state, snapshot.state_model) == ({"count": 1}, "")
    async with connection.cursor() as cursor:
        await cursor.execute(
            "SELECT `domainEvent`, `version` FROM `domain-events` WHERE `revision` = 2"
        )
        [(text, version)] = await cursor.fetchall()
    assert (json.loads(text), version) == (new.to_json(), 2)
