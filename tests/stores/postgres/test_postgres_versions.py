"""A PostgreSQL domain event store from before events kept versions keeps working."""

from __future__ import annotations

import json
from typing import Any

import asyncpg
import pytest

from tests.stores.helpers import set_up
from wolkenkit.messages import new_id
from wolkenkit.stores import postgres
from wolkenkit.testing.contracts._messages import build_domain_event, collect

pytestmark = pytest.mark.postgres


async def test_tables_from_before_versions_keep_working(
    options: dict[str, Any], connection: asyncpg.Connection
) -> None:
    # A schema of an earlier wolkenkit: setup adds the columns, the old events read as
    # version 1 and the old snapshot as one of no known state model; new events keep their
    # version beside JSON that stays as the APIs send it.
    schema = options["schema"]
    events, snapshots = f'"{schema}"."domain-events"', f'"{schema}"."snapshots"'
    old = build_domain_event()
    aggregate_id = old.aggregate_identifier.aggregate.id
    await connection.execute(f'CREATE SCHEMA "{schema}"')
    await connection.execute(
        f"CREATE TABLE {events} (position bigint NOT NULL, aggregate_id uuid NOT NULL,"
        " revision integer NOT NULL, causation_id uuid NOT NULL, correlation_id uuid NOT NULL,"
        " timestamp bigint NOT NULL, domain_event json NOT NULL,"
        " PRIMARY KEY (aggregate_id, revision))"
    )
    await connection.execute(
        f"CREATE TABLE {snapshots} (aggregate_id uuid NOT NULL, revision integer NOT NULL,"
        " state json NOT NULL, PRIMARY KEY (aggregate_id, revision))"
    )
    await connection.execute(
        f"INSERT INTO {events} VALUES (1, $1, 1, $2, $3, 1, $4)",
        aggregate_id,
        new_id(),
        new_id(),
        old.model_dump_json(),
    )
    await connection.execute(
        f"""INSERT INTO {snapshots} VALUES ($1, 1, '{{"count": 1}}')""", aggregate_id
    )
    new = build_domain_event(old.aggregate_identifier, 2, version=2)

    async with set_up(await postgres.create_domain_event_store(options)) as store:
        await store.store_domain_events([new])
        replay = await collect(store.get_replay_for_aggregate(aggregate_id))
        snapshot = await store.get_snapshot(old.aggregate_identifier)

    assert [(event.id, event.version) for event in replay] == [(old.id, 1), (new.id, 2)]
    assert snapshot is not None
    assert (snapshot.state, snapshot.state_model) == ({"count": 1}, "")
    row = await connection.fetchrow(
        f"SELECT domain_event, version FROM {events} WHERE revision = 2"
    )
    assert row is not None
    assert (json.loads(row[0]), row[1]) == (new.to_json(), 2)
