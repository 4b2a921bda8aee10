"""The SQLite stores against every contract, plus their options and what a file keeps."""

from __future__ import annotations

import asyncio
import itertools
import json
import sqlite3
from collections.abc import AsyncIterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from tests.stores.helpers import queue_stores, set_up
from wolkenkit import errors
from wolkenkit.messages import new_id
from wolkenkit.stores import factory
from wolkenkit.stores.sqlite import (
    SqliteConsumerProgressStore,
    SqliteDomainEventStore,
    SqliteLockStore,
    SqliteViewStore,
    create_consumer_progress_store,
    create_domain_event_store,
    create_lock_store,
    create_priority_queue_store,
    create_view_store,
)
from wolkenkit.stores.sqlite.database import PAGE_SIZE
from wolkenkit.stores.view_store import ViewStore
from wolkenkit.testing.contracts._messages import (
    build_aggregate_identifier,
    build_domain_event,
    build_domain_events,
    collect,
    ids,
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
from wolkenkit.testing.contracts.view_store import MESSAGES, Reopen, ViewStoreContract


@pytest.fixture
def options(tmp_path: Path) -> dict[str, Any]:
    """Options for a fresh database file of the test's own."""
    return {"type": "Sqlite", "fileName": str(tmp_path / "wolkenkit.db")}


def _pages_logged(options: dict[str, Any]) -> int:
    """How many pages the write-ahead log holds: each behind a 24-byte header, after the
    log's own 32-byte header."""
    return (Path(options["fileName"] + "-wal").stat().st_size - 32) // (PAGE_SIZE + 24)


class TestSqliteDomainEventStore(DomainEventStoreContract):
    @pytest.fixture
    async def store(self, options: dict[str, Any]) -> AsyncIterator[SqliteDomainEventStore]:
        async with set_up(await create_domain_event_store(options)) as store:
            yield store

    async def test_positions_count_from_one_without_gaps(
        self, store: SqliteDomainEventStore
    ) -> None:
        # Positions are assigned under the write lock, and a rolled-back batch gives its
        # numbers back, so they are exactly 1, 2, 3, ...
        aggregate_identifier = build_aggregate_identifier()
        await store.store_domain_events(build_domain_events(aggregate_identifier, 2))
        with pytest.raises(errors.RevisionAlreadyExists):
            await store.store_domain_events(build_domain_events(aggregate_identifier, 2))
        await store.store_domain_events(build_domain_events(aggregate_identifier, 2, 3))

        replay = await collect(store.get_replay_by_position())

        assert [positioned.position for positioned in replay] == [1, 2, 3, 4]

    async def test_a_checkpoint_is_the_last_position_stored_by_writes_called_before_it(
        self, store: SqliteDomainEventStore
    ) -> None:
        aggregate_identifier = build_aggregate_identifier()
        unset = await store.checkpoint("flows")
        await store.store_domain_events(build_domain_events(aggregate_identifier, 2))
        # Called in this order in one turn of the loop: they run in it, in one transaction.
        await asyncio.gather(
            store.set_checkpoint("flows"),
            store.store_domain_events(build_domain_events(aggregate_identifier, 1, 3)),
        )
        first = await store.checkpoint("flows")
        await store.set_checkpoint("flows")

        assert (unset, first, await store.checkpoint("flows")) == (0, 2, 3)
        assert await store.checkpoint("another") == 0

    async def test_an_event_that_begins_a_conversation_leaves_the_correlation_index_alone(
        self, store: SqliteDomainEventStore, options: dict[str, Any]
    ) -> None:
        # A commit appends each page it changed to the log, whole. Events whose correlation
        # id is their causation id (a command's own, its conversation's first) are found by
        # causation id: in a fresh file the table and three indexes (aggregate, causation,
        # first events) change, one page each, and no correlation index page.
        before = _pages_logged(options)
        command_id = new_id()

        await store.store_domain_events(
            [build_domain_event(causation_id=command_id, correlation_id=command_id)]
        )

        assert _pages_logged(options) - before == 4
        found = await collect(store.get_domain_events_by_correlation_id(command_id))
        assert len(found) == 1

    async def test_streams_span_many_pages(self, store: SqliteDomainEventStore) -> None:
        # Long streams are read page by page; nothing is lost or repeated at the seams.
        aggregate_identifier = build_aggregate_identifier()
        stored = build_domain_events(aggregate_identifier, 2_345)
        await store.store_domain_events(stored)

        replay = await collect(store.get_replay_for_aggregate(aggregate_identifier.aggregate.id))
        by_position = await collect(store.get_replay_by_position(limit=2_100))
        everything = await collect(store.get_replay())

        assert ids(replay) == ids(stored)
        assert [positioned.domain_event.id for positioned in by_position] == ids(stored[:2_100])
        assert ids(everything) == ids(stored)


#: The tables as stores made them before events kept versions and snapshots state models.
_TABLES_BEFORE_VERSIONS = [
    """CREATE TABLE "domain-events" ("position" INTEGER PRIMARY KEY,
        "aggregateId" TEXT NOT NULL, "revision" INTEGER NOT NULL,
        "causationId" TEXT NOT NULL, "correlationId" TEXT NOT NULL,
        "timestamp" INTEGER NOT NULL, "domainEvent" TEXT NOT NULL)""",
    """CREATE TABLE "snapshots" ("aggregateId" TEXT NOT NULL, "revision" INTEGER NOT NULL,
        "state" TEXT NOT NULL, PRIMARY KEY ("aggregateId", "revision")) WITHOUT ROWID""",
]


async def test_tables_from_before_versions_keep_working(options: dict[str, Any]) -> None:
    # A database of an earlier wolkenkit: setup adds the columns, the old events read as
    # version 1 and the old snapshot as one of no known state model; new events keep their
    # version beside JSON that stays as the APIs send it.
    old = build_domain_event()
    aggregate_id = old.aggregate_identifier.aggregate.id
    with closing(sqlite3.connect(options["fileName"])) as connection, connection:
        for statement in _TABLES_BEFORE_VERSIONS:
            connection.execute(statement)
        connection.execute(
            'INSERT INTO "domain-events" ("aggregateId", "revision", "causationId", '
            '"correlationId", "timestamp", "domainEvent") VALUES (?, 1, ?, ?, ?, ?)',
            (aggregate_id, new_id(), new_id(), 1, old.model_dump_json()),
        )
        connection.execute(
            """INSERT INTO "snapshots" VALUES (?, 1, '{"count": 1}')""", (aggregate_id,)
        )
    new = build_domain_event(old.aggregate_identifier, 2, version=2)

    async with set_up(await create_domain_event_store(options)) as store:
        await store.store_domain_events([new])
        replay = await collect(store.get_replay_for_aggregate(aggregate_id))
        snapshot = await store.get_snapshot(old.aggregate_identifier)

    assert [(event.id, event.version) for event in replay] == [(old.id, 1), (new.id, 2)]
    assert snapshot is not None
    assert (snapshot.state, snapshot.state_model) == ({"count": 1}, "")
    with closing(sqlite3.connect(options["fileName"])) as connection:
        [(text, version)] = connection.execute(
            'SELECT "domainEvent", "version" FROM "domain-events" WHERE "revision" = 2'
        ).fetchall()
    assert (json.loads(text), version) == (new.to_json(), 2)


class TestSqliteLockStore(LockStoreContract):
    @pytest.fixture
    async def store(self, options: dict[str, Any]) -> AsyncIterator[SqliteLockStore]:
        async with set_up(await create_lock_store(options)) as store:
            yield store


class TestSqliteConsumerProgressStore(ConsumerProgressStoreContract):
    @pytest.fixture
    async def store(self, options: dict[str, Any]) -> AsyncIterator[SqliteConsumerProgressStore]:
        async with set_up(await create_consumer_progress_store(options)) as store:
            yield store


class TestSqlitePriorityQueueStore(PriorityQueueStoreContract):
    # On a busy machine a sleep plus a commit (which may fsync a WAL checkpoint) once
    # overran the default's 80 ms margin between renewing a lock and its expiry.
    lifetime = 400
    #: Made for a process that is the queue's only user (``journaled_queue``).
    sole_user = False

    @pytest.fixture
    async def make_store(self, options: dict[str, Any]) -> AsyncIterator[MakePriorityQueueStore]:
        tables = itertools.count()

        async def create(expiration_time: int) -> Store:
            # Each store gets tables of its own, as the runtime's two queues do.
            number = next(tables)
            table_names = {"items": f"items-{number}", "priorityQueue": f"queue-{number}"}
            return await factory.create_priority_queue_store(
                {**options, "tableNames": table_names},
                QueueItem,
                does_identifier_match_item,
                expiration_time,
                sole_user=self.sole_user,
            )

        async with queue_stores(create) as make_store:
            yield make_store


class TestJournaledSqlitePriorityQueueStore(TestSqlitePriorityQueueStore):
    sole_user = True


class TestSqliteCrashSafety(CrashSafetyContract):
    pass


async def test_the_factory_builds_sqlite_stores_from_options_and_urls(tmp_path: Path) -> None:
    file_name = tmp_path / "from-url.db"
    by_url = await factory.create_domain_event_store(f"sqlite://{file_name}")
    queue = await factory.create_priority_queue_store(
        {"type": "Sqlite", "fileName": str(file_name), "expirationTime": 1_000},
        QueueItem,
        does_identifier_match_item,
    )

    assert isinstance(by_url, SqliteDomainEventStore)
    await by_url.destroy()
    await queue.destroy()


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"type": "Sqlite"}, "fileName: Field required"),
        ({"type": "Sqlite", "fileName": ""}, "fileName: String should have at least 1"),
        ({"type": "Sqlite", "fileName": "x.db", "hostName": "db"}, "hostName: Extra inputs"),
        (
            {"type": "Sqlite", "fileName": "x.db", "tableNames": {"domainEvent": "e"}},
            "tableNames.domainEvent: Extra inputs",
        ),
        (
            {"type": "Sqlite", "fileName": "x.db", "tableNames": {"snapshots": 5}},
            "tableNames.snapshots: Input should be a valid string",
        ),
    ],
)
async def test_bad_options_name_the_store_and_the_problem(
    options: dict[str, Any], problem: str
) -> None:
    with pytest.raises(errors.StoreOptionsInvalid) as raised:
        await create_domain_event_store(options)

    assert str(raised.value).startswith("The SQLite domain event store options are invalid: ")
    assert problem in str(raised.value)


async def test_a_file_that_cannot_be_opened_fails_at_start_up(tmp_path: Path) -> None:
    # A directory is no database, and neither is a file of something else.
    not_a_database = tmp_path / "notes.txt"
    not_a_database.write_text("Dear diary, " * 1_000)

    with pytest.raises(errors.StoreOptionsInvalid, match=r"The SQLite lock store cannot open .*"):
        await create_lock_store({"type": "Sqlite", "fileName": str(tmp_path)})
    with pytest.raises(errors.StoreOptionsInvalid, match="file is not a database"):
        await create_lock_store({"type": "Sqlite", "fileName": str(not_a_database)})


async def test_a_restart_loses_nothing(options: dict[str, Any]) -> None:
    # wk dev restarts its runtime on every change: stores opened anew see all earlier data.
    aggregate_identifier = build_aggregate_identifier()
    stored = build_domain_events(aggregate_identifier, 3)
    before = await create_domain_event_store(options)
    await before.setup()
    await before.store_domain_events(stored)
    await before.destroy()

    after = await create_domain_event_store(options)
    await after.setup()
    replay = await collect(after.get_replay_for_aggregate(aggregate_identifier.aggregate.id))
    await after.destroy()

    assert ids(replay) == ids(stored)


async def test_in_memory_stores_share_one_database_while_any_is_open() -> None:
    # ":memory:" is one database per process, alive as long as one of its stores is.
    options = {"type": "Sqlite", "fileName": ":memory:"}
    aggregate_identifier = build_aggregate_identifier()
    writer = await create_domain_event_store(options)
    reader = await create_domain_event_store(options)
    await writer.setup()
    await writer.store_domain_events(build_domain_events(aggregate_identifier, 1))

    assert await reader.get_last_domain_event(aggregate_identifier) is not None

    await writer.destroy()
    await reader.destroy()
    fresh = await create_domain_event_store(options)
    await fresh.setup()
    assert await fresh.get_last_domain_event(aggregate_identifier) is None
    await fresh.destroy()


async def test_a_destroyed_store_refuses_to_work(options: dict[str, Any]) -> None:
    store = await create_lock_store(options)
    await store.setup()
    await store.destroy()
    await store.destroy()

    with pytest.raises(errors.StoreError, match="is closed"):
        await store.is_locked("anything")


class TestSqliteViewStore(ViewStoreContract):
    @pytest.fixture
    async def store(self, options: dict[str, Any]) -> AsyncIterator[SqliteViewStore]:
        store = await create_view_store(options)
        try:
            await store.setup(ViewStoreContract.tables)
            yield store
        finally:
            await store.destroy()

    @pytest.fixture
    async def reopen(self, options: dict[str, Any]) -> AsyncIterator[Reopen]:
        opened: list[ViewStore] = []

        async def another() -> ViewStore:
            other = await create_view_store(options)
            opened.append(other)
            await other.setup(ViewStoreContract.tables)
            return other

        yield another
        for other in opened:
            await other.destroy()


async def test_view_tables_are_named_by_their_prefix_and_kept_in_the_file(
    options: dict[str, Any],
) -> None:
    # Each declared table is a table of the file, named by the prefix (``view_`` unless the
    # options say otherwise) and its name; its rows are there for whoever opens it next.
    for prefix_options in ({}, {"tablePrefix": "app_"}):
        store = await create_view_store({**options, **prefix_options})
        await store.setup([MESSAGES])
        await store.insert("messages", {"id": "a", "author": "jane", "text": "Hi"})
        await store.destroy()

    reopened = await create_view_store({**options, "tablePrefix": "app_"})
    try:
        await reopened.setup([MESSAGES])
        row = await reopened.get("messages", "a")
    finally:
        await reopened.destroy()
    with closing(sqlite3.connect(options["fileName"])) as connection:
        tables = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        names = {name for (name,) in tables}

    assert row == {"id": "a", "author": "jane", "text": "Hi"}
    assert names == {"view_messages", "app_messages"}


async def test_the_factory_builds_a_sqlite_view_store_and_checks_its_options(
    options: dict[str, Any],
) -> None:
    by_url = await factory.create_view_store(f"sqlite://{options['fileName']}")

    assert isinstance(by_url, SqliteViewStore)
    await by_url.destroy()
    with pytest.raises(errors.StoreOptionsInvalid, match=r"SQLite view store.*tablePrefix"):
        await create_view_store({**options, "tablePrefix": 7})


async def test_a_queue_hands_out_what_it_enqueued_without_decoding_it_again(
    options: dict[str, Any],
) -> None:
    # The stored JSON is what the store wrote: the item it was given is handed out as it is.
    # Another store of the file (another process, or after a restart) decodes what it finds.
    def create() -> Any:
        return create_priority_queue_store(options, QueueItem, does_identifier_match_item, 5_000)

    async with set_up(await create()) as store:
        item = QueueItem(id=new_id(), text="Hello")
        await store.enqueue(item, "queue", 1)
        await store.enqueue(QueueItem(id=new_id(), text="Elsewhere"), "other", 2)
        locked = await store.lock_next()
        async with set_up(await create()) as other:
            found = await other.lock_next()

    assert locked is not None
    assert locked.item is item
    assert found is not None
    assert found.item.text == "Elsewhere"


async def test_a_rebuilt_table_has_its_indexes_once_and_no_shadow_left(
    options: dict[str, Any],
) -> None:
    # SQLite cannot rename an index, so a shadow's indexes come along under names of their
    # own; setting up again must not add the table's usual ones beside them.
    store = await create_view_store(options)
    try:
        await store.setup([MESSAGES])
        for _ in range(3):
            await store.create_shadow("messages")
            await store.swap_shadows(["messages"])
            await store.setup([MESSAGES])
        await store.create_shadow("messages")
        await store.drop_shadow("messages")
    finally:
        await store.destroy()
    with closing(sqlite3.connect(options["fileName"])) as connection:
        tables = {
            name
            for (name,) in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
        indexes = connection.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND tbl_name = 'view_messages'"
        ).fetchone()

    assert tables == {"view_messages"}
    # Besides the key's own (an automatic index), one per indexed field.
    assert indexes == (1 + len(MESSAGES.indexes),)
