"""The MariaDB stores against every contract they support, plus what only they show: options,
unreachable servers, the schema they create and data that outlives a store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncmy
import pytest

from tests.stores.helpers import FuzzedQueueStore, queue_stores, set_up
from wolkenkit import errors
from wolkenkit.messages import new_id
from wolkenkit.stores import factory
from wolkenkit.stores.mariadb import (
    MariaDbConsumerProgressStore,
    MariaDbDomainEventStore,
    MariaDbLockStore,
    MariaDbPriorityQueueStore,
    create_consumer_progress_store,
    create_domain_event_store,
    create_lock_store,
    create_priority_queue_store,
)
from wolkenkit.testing.contracts._messages import (
    build_aggregate_identifier,
    build_domain_events,
    collect,
)
from wolkenkit.testing.contracts.consumer_progress_store import ConsumerProgressStoreContract
from wolkenkit.testing.contracts.crash_safety import CrashSafetyContract
from wolkenkit.testing.contracts.domain_event_store import DomainEventStoreContract
from wolkenkit.testing.contracts.lock_store import LockStoreContract
from wolkenkit.testing.contracts.priority_queue_store import (
    MakePriorityQueueStore,
    PriorityQueueStoreContract,
    QueueItem,
    Store,
    does_identifier_match_item,
)

pytestmark = pytest.mark.mariadb


class TestMariaDbDomainEventStore(DomainEventStoreContract):
    @pytest.fixture
    async def store(self, options: dict[str, Any]) -> AsyncIterator[MariaDbDomainEventStore]:
        async with set_up(await create_domain_event_store(options)) as store:
            yield store

    async def test_positions_count_from_one_without_gaps(
        self, store: MariaDbDomainEventStore
    ) -> None:
        # A rejected batch gives its positions back, so the order has no holes.
        aggregate_identifier = build_aggregate_identifier()
        first, second, third = build_domain_events(aggregate_identifier, 3)
        await store.store_domain_events([first, second])
        with pytest.raises(errors.RevisionAlreadyExists):
            await store.store_domain_events([first])
        await store.store_domain_events([third])

        replay = await collect(store.get_replay_by_position())

        assert [positioned.position for positioned in replay] == [1, 2, 3]

    async def test_events_outlive_the_store_and_positions_continue(
        self, store: MariaDbDomainEventStore, options: dict[str, Any]
    ) -> None:
        # Another store on the same tables (a restart, or another process) sees everything
        # and goes on numbering; setting up again changes nothing.
        aggregate_identifier = build_aggregate_identifier()
        first, second = build_domain_events(aggregate_identifier, 2)
        await store.store_domain_events([first])

        other = await create_domain_event_store(options)
        try:
            await other.setup()
            await other.store_domain_events([second])
            replay = await collect(other.get_replay_by_position())
        finally:
            await other.destroy()

        assert [(item.position, item.domain_event.id) for item in replay] == [
            (1, first.id),
            (2, second.id),
        ]

    async def test_a_large_batch_is_paged_through_in_order(
        self, store: MariaDbDomainEventStore
    ) -> None:
        # More events than one page of every kind of read, in one batch.
        aggregate_identifier = build_aggregate_identifier()
        stored = build_domain_events(aggregate_identifier, 2_500)
        await store.store_domain_events(stored)
        expected = [event.id for event in stored]

        by_position = await collect(store.get_replay_by_position())
        for_aggregate = await collect(
            store.get_replay_for_aggregate(aggregate_identifier.aggregate.id)
        )
        replay = await collect(store.get_replay())
        limited = await collect(store.get_replay_by_position(100, limit=1_500))

        assert [item.domain_event.id for item in by_position] == expected
        assert [event.id for event in for_aggregate] == expected
        assert [event.id for event in replay] == expected
        assert [item.position for item in limited] == list(range(101, 1_601))

    async def test_a_malformed_id_is_a_parameter_error(
        self, store: MariaDbDomainEventStore
    ) -> None:
        with pytest.raises(errors.ParameterInvalid, match="not a uuid"):
            await collect(store.get_replay_for_aggregate("not-a-uuid"))


class TestMariaDbLockStore(LockStoreContract):
    @pytest.fixture
    async def store(self, options: dict[str, Any]) -> AsyncIterator[MariaDbLockStore]:
        async with set_up(await create_lock_store(options)) as store:
            yield store


class TestMariaDbConsumerProgressStore(ConsumerProgressStoreContract):
    @pytest.fixture
    async def store(self, options: dict[str, Any]) -> AsyncIterator[MariaDbConsumerProgressStore]:
        async with set_up(await create_consumer_progress_store(options)) as store:
            yield store


class TestMariaDbPriorityQueueStore(FuzzedQueueStore, PriorityQueueStoreContract):
    @pytest.fixture
    async def make_store(self, options: dict[str, Any]) -> AsyncIterator[MakePriorityQueueStore]:
        async def create(expiration_time: int) -> Store:
            store: MariaDbPriorityQueueStore[QueueItem, str] = await create_priority_queue_store(
                options, QueueItem, does_identifier_match_item, expiration_time
            )
            return store

        async with queue_stores(create) as make_store:
            yield make_store


class TestMariaDbCrashSafety(CrashSafetyContract):
    pass


async def test_the_factory_serves_both_type_names_and_urls(options: dict[str, Any]) -> None:
    # "MariaDb" and "MySql" share the implementation; a mysql:// URL works as well.
    database = options["database"]
    for store_options in (
        options,
        {**options, "type": "MySql"},
        f"mysql://{options['userName']}@{options['hostName']}:{options['port']}/{database}",
    ):
        store = await factory.create_lock_store(store_options)
        try:
            assert isinstance(store, MariaDbLockStore)
        finally:
            await store.destroy()


async def test_setup_creates_quoted_tables_with_the_given_names(
    options: dict[str, Any], connection: asyncmy.Connection
) -> None:
    # Table names are the reference's defaults or the options', dashes and all; setting up
    # twice is fine.
    table_names = {"domainEvents": "my events", "snapshots": "my-snapshots"}
    store = await create_domain_event_store({**options, "tableNames": table_names})
    try:
        await store.setup()
        await store.setup()
    finally:
        await store.destroy()
    for create in (create_lock_store, create_consumer_progress_store):
        other = await create(options)
        try:
            await other.setup()
        finally:
            await other.destroy()

    async with connection.cursor() as cursor:
        await cursor.execute("SHOW TABLES")
        tables = {row[0] for row in await cursor.fetchall()}
    assert tables == {"my events", "my events-positions", "my-snapshots", "locks", "progress"}


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"hostName": None}, "hostName: Input should be a valid string"),
        ({"port": 70_000}, "port: Input should be less than or equal to 65535"),
        ({"userName": ""}, "userName: String should have at least 1 character"),
        ({"database": ""}, "database: String should have at least 1 character"),
        ({"tableNames": {"domainEvents": "x" * 60}}, "tableNames.domainEvents: String should"),
        ({"tableNames": {"snapshots": "with`backtick"}}, "tableNames.snapshots: String should"),
        ({"tableNames": {"locks": "locks"}}, "tableNames.locks: Extra inputs"),
        ({"listNames": {}}, "listNames: Extra inputs are not permitted"),
    ],
)
async def test_invalid_options_are_named(
    server: dict[str, Any], changes: dict[str, Any], problem: str
) -> None:
    options = {**server, "database": "test", **changes}
    with pytest.raises(errors.StoreOptionsInvalid, match="MariaDB domain event store") as raised:
        await create_domain_event_store(options)
    assert problem in str(raised.value)


@pytest.mark.parametrize(
    ("kind", "create"),
    [
        ("domain event store", create_domain_event_store),
        ("lock store", create_lock_store),
        ("consumer progress store", create_consumer_progress_store),
    ],
)
async def test_an_unreachable_server_fails_at_creation(
    server: dict[str, Any], kind: str, create: Any
) -> None:
    # One line that says which store, where, and why, instead of a driver traceback.
    with pytest.raises(errors.StoreOptionsInvalid) as raised:
        await create({**server, "hostName": "127.0.0.1", "port": 1, "database": "test"})
    expected = f"The MariaDB {kind} cannot connect to 127.0.0.1:1: Connection refused."
    assert str(raised.value) == expected


async def test_an_unreachable_queue_names_mysql_when_asked_for_it(server: dict[str, Any]) -> None:
    options = {**server, "type": "MySql", "hostName": "127.0.0.1", "port": 1, "database": "test"}
    with pytest.raises(errors.StoreOptionsInvalid) as raised:
        await create_priority_queue_store(options, QueueItem, does_identifier_match_item, 1000)
    assert str(raised.value) == (
        "The MySQL priority queue store cannot connect to 127.0.0.1:1: Connection refused."
    )


async def test_an_unknown_database_is_named(server: dict[str, Any]) -> None:
    database = f"missing_{new_id()[:8]}"
    with pytest.raises(errors.StoreOptionsInvalid) as raised:
        await create_lock_store({**server, "database": database})
    assert str(raised.value) == (
        f"The MariaDB lock store cannot connect to {server['hostName']}:{server['port']}: "
        f"Unknown database '{database}'."
    )


async def test_a_queue_row_without_items_is_dropped_instead_of_blocking(
    options: dict[str, Any], connection: asyncmy.Connection
) -> None:
    # Someone deleted items behind the store's back: the empty queue is skipped and removed.
    store = await create_priority_queue_store(options, QueueItem, does_identifier_match_item, 1000)
    try:
        await store.setup()
        await store.enqueue(QueueItem(id=new_id()), "emptied", 1)
        item = QueueItem(id=new_id())
        await store.enqueue(item, "other", 2)
        async with connection.cursor() as cursor:
            await cursor.execute("DELETE FROM `items` WHERE `discriminator` = 'emptied'")

        locked = await store.lock_next()

        assert locked is not None
        assert locked.item == item
        async with connection.cursor() as cursor:
            await cursor.execute("SELECT `discriminator` FROM `priority-queue`")
            assert list(await cursor.fetchall()) == [("other",)]
    finally:
        await store.destroy()
