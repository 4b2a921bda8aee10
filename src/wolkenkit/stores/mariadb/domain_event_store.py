"""The MariaDB/MySQL domain event store: each event as JSON beside the columns it is found by.

The global order, and why a reader can never skip an event
-----------------------------------------------------------
InnoDB hands out AUTO_INCREMENT values when a row is inserted, not when its transaction
commits, so a reader following them could see position 8 of a fast writer before a slow writer
commits position 7, and skip 7 for good. Positions here are therefore assigned at the very end
of each transaction, in one script sent as a single round trip::

    INSERT the events (positions still temporary, unique negative numbers)  -- concurrently
    UPDATE the counter row SET last = last + n                              -- row lock
    UPDATE the events SET their final positions (last - n + 1 ... last)
    COMMIT                                                                  -- lock released

The counter row's lock is held from the moment positions are taken until the commit, so
transactions take positions in exactly the order in which they commit. InnoDB makes a commit
visible to new reads before it releases the committing transaction's locks (its commit in
memory leaves the set of active transactions first, then releases the locks, and flushes the
log only afterwards), so whenever a read sees a transaction's events, it sees every
transaction that took lower positions before it. A rolled-back transaction rolls the counter
back too, so positions have no gaps. Readers need no locks at all: a plain ``SELECT ... WHERE
position > ?`` continues safely from the last position seen.

Writers run concurrently for everything but the short final step: building rows, inserting,
checking the (aggregate id, revision) key and waiting for conflicting writers all happen
before the counter is touched, and the final step runs on the server without waiting for the
client. The temporary positions let the final UPDATE find the batch's rows by exact values of
the unique position index, which locks only those rows (READ COMMITTED, no gaps), so the step
never waits for another writer while it holds the counter.
"""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Sequence
from typing import Any

from asyncmy.errors import MySQLError
from pydantic_core import from_json, to_json

from wolkenkit.errors import RevisionAlreadyExists, StoreError
from wolkenkit.messages import AggregateIdentifier, DomainEvent, DomainEventWithState, Snapshot
from wolkenkit.stores.domain_event_store import (
    MAX_REVISION,
    DomainEventStore,
    PositionedDomainEvent,
    check_domain_events,
    check_from_timestamp,
    check_position_range,
    check_revision_range,
)
from wolkenkit.stores.mariadb.database import (
    PAGE_SIZE,
    Database,
    Row,
    duplicate_key,
    error_number,
    pages,
    quote,
    uuid_bytes,
)
from wolkenkit.stores.mariadb.options import POSITIONS_SUFFIX, DomainEventTableNames

_DEADLOCK = 1213
_ATTEMPTS = 3
# Temporary positions of a batch are -(base + 1) ... -(base + n); bases are random, so two
# batches in flight practically never collide (and retry if they do).
_MAX_BASE = 2**62
_COLUMNS = "`aggregateId`, `revision`, `causationId`, `correlationId`, `timestamp`"


class _Collision(StoreError):
    """The batch must be tried again: a deadlock, or a clash of temporary positions."""


def _decode(text: str) -> DomainEvent:
    return DomainEvent.model_validate_json(text)


def _identifier(text: str) -> AggregateIdentifier:
    return AggregateIdentifier.model_validate_json(text)


class MariaDbDomainEventStore(DomainEventStore):
    """Events, snapshots and the position counter in three tables of one database."""

    def __init__(self, database: Database, table_names: DomainEventTableNames) -> None:
        self._database = database
        self._events = events = quote(table_names.domain_events)
        self._snapshots = snapshots = quote(table_names.snapshots)
        self._positions = positions = quote(table_names.domain_events + POSITIONS_SUFFIX)
        self._schema = [
            f"""CREATE TABLE IF NOT EXISTS {events} (
                `aggregateId` BINARY(16) NOT NULL,
                `revision` INT UNSIGNED NOT NULL,
                `causationId` BINARY(16) NOT NULL,
                `correlationId` BINARY(16) NOT NULL,
                `timestamp` BIGINT NOT NULL,
                `position` BIGINT NOT NULL,
                `domainEvent` JSON NOT NULL,
                PRIMARY KEY (`aggregateId`, `revision`),
                UNIQUE KEY `position` (`position`),
                KEY `causationId` (`causationId`),
                KEY `correlationId` (`correlationId`),
                KEY `timestamp` (`timestamp`)
            ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin""",
            f"""CREATE TABLE IF NOT EXISTS {snapshots} (
                `aggregateId` BINARY(16) NOT NULL,
                `revision` INT UNSIGNED NOT NULL,
                `state` JSON NOT NULL,
                PRIMARY KEY (`aggregateId`, `revision`)
            ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin""",
            f"""CREATE TABLE IF NOT EXISTS {positions} (
                `id` TINYINT UNSIGNED NOT NULL PRIMARY KEY,
                `last` BIGINT NOT NULL
            ) ENGINE=InnoDB""",
            # Continues after the highest position should the counter ever be lost.
            f"""INSERT IGNORE INTO {positions} (`id`, `last`)
                SELECT 1, GREATEST(COALESCE(MAX(`position`), 0), 0) FROM {events}""",
        ]
        self._insert = f"INSERT INTO {events} ({_COLUMNS}, `position`, `domainEvent`) VALUES "
        self._take_positions = (
            f"UPDATE {positions} SET `last` = LAST_INSERT_ID(`last` + %s) WHERE `id` = 1"
        )
        # LAST_INSERT_ID() is now the batch's last position; -position - base is 1 ... n.
        self._set_positions = (
            f"UPDATE {events} FORCE INDEX (`position`) "
            "SET `position` = CAST(LAST_INSERT_ID() AS SIGNED) - %s - `position` "
            "WHERE `position` IN "
        )

    async def setup(self) -> None:
        await self._database.create(self._schema)

    async def destroy(self) -> None:
        await self._database.close()

    async def get_last_domain_event(
        self, aggregate_identifier: AggregateIdentifier
    ) -> DomainEvent | None:
        row = await self._database.fetch_one(
            f"SELECT `domainEvent` FROM {self._events} WHERE `aggregateId` = %s "
            "ORDER BY `revision` DESC LIMIT 1",
            (uuid_bytes(aggregate_identifier.aggregate.id),),
        )
        return None if row is None else _decode(row[0])

    async def get_domain_events_by_causation_id(
        self, causation_id: str
    ) -> AsyncIterator[DomainEvent]:
        for row in await self._by_id_column("causationId", causation_id):
            yield _decode(row[0])

    async def has_domain_events_with_causation_id(self, causation_id: str) -> bool:
        row = await self._database.fetch_one(
            f"SELECT 1 FROM {self._events} WHERE `causationId` = %s LIMIT 1",
            (uuid_bytes(causation_id),),
        )
        return row is not None

    async def get_domain_events_by_correlation_id(
        self, correlation_id: str
    ) -> AsyncIterator[DomainEvent]:
        for row in await self._by_id_column("correlationId", correlation_id):
            yield _decode(row[0])

    async def _by_id_column(self, column: str, value: str) -> Sequence[Row]:
        return await self._database.fetch_all(
            f"SELECT `domainEvent` FROM {self._events} WHERE `{column}` = %s ORDER BY `position`",
            (uuid_bytes(value),),
        )

    async def get_replay(self, from_timestamp: int = 0) -> AsyncIterator[DomainEvent]:
        check_from_timestamp(from_timestamp)
        # Pages continue after the last key seen, so the whole replay reads each row once.
        select = (
            f"SELECT `aggregateId`, `revision`, `domainEvent` FROM {self._events} "
            "FORCE INDEX (PRIMARY) WHERE `timestamp` >= %s"
        )
        after = " AND `aggregateId` >= %s AND (`aggregateId` > %s OR `revision` > %s)"
        order = " ORDER BY `aggregateId`, `revision` LIMIT %s"

        async def fetch(previous: Sequence[Row] | None) -> Sequence[Row]:
            if previous is None:
                return await self._database.fetch_all(select + order, (from_timestamp, PAGE_SIZE))
            aggregate_id, revision, _ = previous[-1]
            return await self._database.fetch_all(
                select + after + order,
                (from_timestamp, aggregate_id, aggregate_id, revision, PAGE_SIZE),
            )

        async for rows in pages(fetch):
            for row in rows:
                yield _decode(row[2])

    async def get_replay_for_aggregate(
        self, aggregate_id: str, from_revision: int = 1, to_revision: int = MAX_REVISION
    ) -> AsyncIterator[DomainEvent]:
        check_revision_range(from_revision, to_revision)
        key = uuid_bytes(aggregate_id)
        select = (
            f"SELECT `revision`, `domainEvent` FROM {self._events} WHERE `aggregateId` = %s "
            "AND `revision` BETWEEN %s AND %s ORDER BY `revision` LIMIT %s"
        )

        async def fetch(previous: Sequence[Row] | None) -> Sequence[Row]:
            start = from_revision if previous is None else previous[-1][0] + 1
            return await self._database.fetch_all(select, (key, start, to_revision, PAGE_SIZE))

        async for rows in pages(fetch):
            for row in rows:
                yield _decode(row[1])

    async def get_replay_by_position(
        self, after_position: int = 0, limit: int | None = None
    ) -> AsyncIterator[PositionedDomainEvent]:
        check_position_range(after_position, limit)
        # Every committed position is final (see the module docstring), so no check for
        # writers in flight is needed here.
        select = (
            f"SELECT `position`, `domainEvent` FROM {self._events} FORCE INDEX (`position`) "
            "WHERE `position` > %s ORDER BY `position` LIMIT %s"
        )
        fetched = 0

        async def fetch(previous: Sequence[Row] | None) -> Sequence[Row]:
            nonlocal fetched
            fetched += len(previous or ())
            size = PAGE_SIZE if limit is None else min(PAGE_SIZE, limit - fetched)
            if size < 1:
                return ()
            after = after_position if previous is None else previous[-1][0]
            return await self._database.fetch_all(select, (after, size))

        async for rows in pages(fetch):
            for position, text in rows:
                yield PositionedDomainEvent(position=position, domain_event=_decode(text))

    async def store_domain_events(self, domain_events: Sequence[DomainEvent]) -> None:
        check_domain_events(domain_events)
        rows = [_row(domain_event) for domain_event in domain_events]
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                await self._store(rows)
                return
            except _Collision:
                if attempt == _ATTEMPTS:
                    raise
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _store(self, rows: list[tuple[Any, ...]]) -> None:
        count = len(rows)
        base = secrets.randbelow(_MAX_BASE - count) + 1
        values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s)"] * count)
        arguments: list[Any] = []
        for index, row in enumerate(rows, start=1):
            arguments.extend((*row[:5], -(base + index), row[5]))
        temporary = ", ".join(str(-(base + index)) for index in range(1, count + 1))
        async with self._database.session() as session:
            try:
                await session.script(
                    ("START TRANSACTION", ()),
                    (self._insert + values, arguments),
                    (self._take_positions, (count,)),
                    (f"{self._set_positions}({temporary})", (count + base,)),
                    ("COMMIT", ()),
                )
            except MySQLError as error:
                key = duplicate_key(error)
                if key == "PRIMARY":
                    raise RevisionAlreadyExists(
                        "Aggregate id and revision already exist."
                    ) from None
                if key is not None or error_number(error) == _DEADLOCK:
                    raise _Collision(str(error)) from error
                raise

    async def get_snapshot(self, aggregate_identifier: AggregateIdentifier) -> Snapshot | None:
        row = await self._database.fetch_one(
            f"SELECT `revision`, `state` FROM {self._snapshots} WHERE `aggregateId` = %s "
            "ORDER BY `revision` DESC LIMIT 1",
            (uuid_bytes(aggregate_identifier.aggregate.id),),
        )
        if row is None:
            return None
        return Snapshot.trusted(
            aggregate_identifier=aggregate_identifier, revision=row[0], state=from_json(row[1])
        )

    async def store_snapshot(self, snapshot: Snapshot) -> None:
        # The first snapshot of a revision stays; a second one of it is no error.
        await self._database.execute(
            f"INSERT IGNORE INTO {self._snapshots} (`aggregateId`, `revision`, `state`) "
            "VALUES (%s, %s, %s)",
            (
                uuid_bytes(snapshot.aggregate_identifier.aggregate.id),
                snapshot.revision,
                to_json(snapshot.state).decode(),
            ),
        )

    async def get_aggregate_identifiers(self) -> AsyncIterator[AggregateIdentifier]:
        async for aggregate_identifier in self._first_events("", ()):
            yield aggregate_identifier

    async def get_aggregate_identifiers_by_name(
        self, context_name: str, aggregate_name: str
    ) -> AsyncIterator[AggregateIdentifier]:
        condition = (
            " AND JSON_UNQUOTE(JSON_EXTRACT(`domainEvent`, '$.aggregateIdentifier.context.name'))"
            " = %s AND JSON_UNQUOTE("
            "JSON_EXTRACT(`domainEvent`, '$.aggregateIdentifier.aggregate.name')) = %s"
        )
        async for aggregate_identifier in self._first_events(
            condition, (context_name, aggregate_name)
        ):
            yield aggregate_identifier

    async def _first_events(
        self, condition: str, arguments: tuple[Any, ...]
    ) -> AsyncIterator[AggregateIdentifier]:
        # Aggregates in the order their first events were stored: by position.
        select = (
            f"SELECT `position`, JSON_EXTRACT(`domainEvent`, '$.aggregateIdentifier') "
            f"FROM {self._events} FORCE INDEX (`position`) "
            f"WHERE `revision` = 1 AND `position` > %s{condition} "
            "ORDER BY `position` LIMIT %s"
        )

        async def fetch(previous: Sequence[Row] | None) -> Sequence[Row]:
            after = 0 if previous is None else previous[-1][0]
            return await self._database.fetch_all(select, (after, *arguments, PAGE_SIZE))

        async for rows in pages(fetch):
            for row in rows:
                yield _identifier(row[1])


def _row(domain_event: DomainEvent) -> tuple[Any, ...]:
    """The indexed columns and the JSON of one event (without any state it carries)."""
    if isinstance(domain_event, DomainEventWithState):
        domain_event = domain_event.without_state()
    metadata = domain_event.metadata
    return (
        uuid_bytes(domain_event.aggregate_identifier.aggregate.id),
        metadata.revision,
        uuid_bytes(metadata.causation_id),
        uuid_bytes(metadata.correlation_id),
        metadata.timestamp,
        domain_event.model_dump_json(),
    )
