"""PostgreSQL store options, connecting, tables, and driver errors as our own."""

from __future__ import annotations

from typing import Any

import asyncpg
import pytest

from wolkenkit.errors import StoreError, StoreOptionsInvalid
from wolkenkit.stores import factory, postgres
from wolkenkit.stores.consumer_progress_store import ConsumerProgressStore
from wolkenkit.stores.domain_event_store import DomainEventStore
from wolkenkit.stores.lock_store import LockStore
from wolkenkit.testing.contracts._messages import (
    build_aggregate_identifier,
    build_domain_events,
    collect,
    settle,
)
from wolkenkit.testing.contracts.priority_queue_store import (
    QueueItem,
    Store,
    does_identifier_match_item,
)

pytestmark = pytest.mark.postgres


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"hostName": None}, "hostName: Input should be a valid string"),
        ({"port": "five"}, "port: Input should be a valid integer"),
        ({"port": 70_000}, "port: Input should be less than or equal to 65535"),
        ({"database": ""}, "database: String should have at least 1 character"),
        ({"tableNames": {"events": "x"}}, "tableNames.events: Extra inputs are not permitted"),
        ({"tableNames": {"domainEvents": ""}}, "tableNames.domainEvents: String should have"),
        ({"encryptConnection": {"privateKey": "k"}}, "a privateKey needs a certificate"),
        ({"connectionString": "x"}, "connectionString: Extra inputs are not permitted"),
    ],
)
async def test_bad_options_name_the_store_and_the_problem(
    server: dict[str, Any], changes: dict[str, Any], problem: str
) -> None:
    with pytest.raises(StoreOptionsInvalid) as raised:
        await postgres.create_domain_event_store({**server, **changes})

    assert raised.value.message.startswith(
        "The PostgreSQL domain event store options are invalid: "
    )
    assert problem in raised.value.message


async def test_a_missing_option_is_named(server: dict[str, Any]) -> None:
    options = {key: value for key, value in server.items() if key != "userName"}

    with pytest.raises(StoreOptionsInvalid, match="lock store options are invalid: userName"):
        await postgres.create_lock_store(options)


async def test_an_unreachable_server_fails_at_start_up_in_one_line(
    server: dict[str, Any], closed_port: int
) -> None:
    with pytest.raises(StoreOptionsInvalid) as raised:
        await postgres.create_domain_event_store({**server, "port": closed_port})

    assert raised.value.message == (
        f"The PostgreSQL domain event store cannot connect to 127.0.0.1:{closed_port}: "
        "Connection refused."
    )


async def test_an_unknown_database_is_named(server: dict[str, Any]) -> None:
    with pytest.raises(StoreOptionsInvalid) as raised:
        await postgres.create_consumer_progress_store({**server, "database": "nowhere"})

    assert raised.value.message.startswith(
        f"The PostgreSQL consumer progress store cannot connect to {server['hostName']}:"
        f"{server['port']}: "
    )
    assert 'database "nowhere" does not exist' in raised.value.message


async def test_encryption_the_server_does_not_offer_fails_clearly(server: dict[str, Any]) -> None:
    # The test server speaks no TLS, so a demand for encryption cannot be met.
    with pytest.raises(StoreOptionsInvalid, match=r"lock store cannot connect to .*SSL"):
        await postgres.create_lock_store({**server, "encryptConnection": True})


async def test_an_unusable_certificate_is_reported(server: dict[str, Any]) -> None:
    with pytest.raises(StoreOptionsInvalid, match="unusable encryptConnection options"):
        await postgres.create_lock_store({**server, "encryptConnection": {"ca": "not a pem"}})


async def test_a_url_gives_a_postgres_store(server: dict[str, Any]) -> None:
    url = f"postgresql://{server['userName']}@{server['hostName']}:{server['port']}/test"

    store = await factory.create_lock_store(url)

    assert isinstance(store, postgres.PostgresLockStore)
    await store.destroy()


async def test_setup_creates_the_reference_table_names(
    options: dict[str, Any], connection: asyncpg.Connection
) -> None:
    # Unless told otherwise, the tables carry the reference's default names.
    stores: list[DomainEventStore | LockStore | ConsumerProgressStore | Store] = [
        await postgres.create_domain_event_store(options),
        await postgres.create_lock_store(options),
        await postgres.create_consumer_progress_store(options),
        await postgres.create_priority_queue_store(
            options, QueueItem, does_identifier_match_item, 1000
        ),
    ]
    for store in stores:
        await store.setup()
        await store.setup()
        await store.destroy()

    tables = await connection.fetch(
        "SELECT table_name FROM information_schema.tables WHERE table_schema = $1",
        options["schema"],
    )
    assert sorted(row[0] for row in tables) == sorted(
        ["domain-events", "snapshots", "locks", "progress", "items", "priority-queue"]
    )


async def test_table_names_can_be_chosen(
    options: dict[str, Any], connection: asyncpg.Connection
) -> None:
    store = await postgres.create_domain_event_store(
        {**options, "tableNames": {"domainEvents": 'my "events"', "snapshots": "my-snapshots"}}
    )
    await store.setup()
    await store.store_domain_events(build_domain_events(build_aggregate_identifier(), 2))
    await store.destroy()

    count = await connection.fetchval(f'SELECT count(*) FROM "{options["schema"]}"."my ""events"""')
    assert count == 2


async def test_driver_errors_become_store_errors(
    options: dict[str, Any], connection: asyncpg.Connection
) -> None:
    # What goes wrong in the database reaches callers as our error, naming the store.
    store = await postgres.create_lock_store(options)
    await store.setup()
    await connection.execute(f'DROP TABLE "{options["schema"]}"."locks"')

    with pytest.raises(StoreError, match=r"^The PostgreSQL lock store failed: relation .*locks"):
        await store.is_locked("value")
    await store.destroy()

    with pytest.raises(StoreError, match=r"^The PostgreSQL lock store has been destroyed"):
        await store.is_locked("value")


async def test_a_replay_left_early_gives_its_connection_back(options: dict[str, Any]) -> None:
    # Readers that stop half-way must not keep a connection each, or the pool runs dry.
    store = await postgres.create_domain_event_store(options)
    await store.setup()
    await store.store_domain_events(build_domain_events(build_aggregate_identifier(), 2_500))
    await settle(store, 2_500)

    for _ in range(3 * postgres.connection.MAXIMUM_CONNECTIONS):
        async for _ in store.get_replay_by_position():
            break

    assert len(await collect(store.get_replay_by_position(limit=1_500))) == 1_500
    await store.destroy()
