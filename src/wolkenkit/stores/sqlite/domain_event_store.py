"""The SQLite domain event store: each event as JSON beside the columns it is found by.

The global order is the table's rowid, ``position``. SQLite admits one writer at a time,
across connections and processes, and a new rowid is the highest one plus one, taken inside
that writer's transaction: a transaction that commits later took its write lock later and so
gets higher positions than everything committed before it. A reader's snapshot therefore
always holds a gap-free prefix of the order, and a reader that continues after the last
position it saw never skips an event. A rolled-back batch leaves its positions to the next
writer; nobody could have seen them. (Events are never deleted, so no position is ever
handed out twice; AUTOINCREMENT would guard against that at the cost of another page written
per commit.)
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
from collections.abc import AsyncIterator, Sequence
from typing import Any

from wolkenkit.errors import RevisionAlreadyExists
from wolkenkit.messages import AggregateIdentifier, DomainEvent, Snapshot
from wolkenkit.stores.domain_event_store import (
    MAX_REVISION,
    CommandReplay,
    DomainEventStore,
    PositionedDomainEvent,
    check_domain_events,
    check_from_timestamp,
    check_position_range,
    check_revision_range,
    event_json,
    with_version,
)
from wolkenkit.stores.sqlite.database import (
    SqliteDatabase,
    SqliteTables,
    Work,
    add_column,
    quote,
)
from wolkenkit.stores.sqlite.options import DomainEventTableNames

#: Rows per query when streaming; between pages other tasks get their turn.
PAGE_SIZE = 1000

#: Stored JSON back to an event. pydantic-core parses and validates in one pass, which
#: measured faster than ``json.loads`` plus building the models without validation.
_decode = DomainEvent.model_validate_json


def _read(text: str, version: int) -> DomainEvent:
    return with_version(_decode(text), version)


def _snapshot(
    aggregate_identifier: AggregateIdentifier, revision: int, state: str, state_model: str
) -> Snapshot:
    return Snapshot.trusted(
        aggregate_identifier=aggregate_identifier,
        revision=revision,
        state=json.loads(state),
        state_model=state_model,
    )


class SqliteDomainEventStore(SqliteTables, DomainEventStore):
    """Events and snapshots in two tables of one database, which the store owns."""

    reads_fresh_events = True

    def __init__(self, database: SqliteDatabase, table_names: DomainEventTableNames) -> None:
        events = quote(table_names.domain_events)
        snapshots = quote(table_names.snapshots)
        checkpoints = quote(table_names.domain_events + "-checkpoints")
        schema: list[str | Work[None]] = [
            f"""CREATE TABLE IF NOT EXISTS {events} (
                "position" INTEGER PRIMARY KEY,
                "aggregateId" TEXT NOT NULL,
                "revision" INTEGER NOT NULL,
                "causationId" TEXT NOT NULL,
                "correlationId" TEXT NOT NULL,
                "timestamp" INTEGER NOT NULL,
                "domainEvent" TEXT NOT NULL,
                "version" INTEGER NOT NULL DEFAULT 1
            )""",
            # Tables from before versions: their events are all at version 1.
            add_column(events, "version", "INTEGER NOT NULL DEFAULT 1"),
            # The optimistic-concurrency key, and the order of replays.
            f"""CREATE UNIQUE INDEX IF NOT EXISTS {quote(table_names.domain_events + "_aggregate")}
                ON {events} ("aggregateId", "revision")""",
            f"""CREATE INDEX IF NOT EXISTS {quote(table_names.domain_events + "_causation")}
                ON {events} ("causationId")""",
            # Only events whose correlation id differs from their causation id: the events of
            # the command that began a conversation (most events) are found by causation id.
            # A random id puts each new entry on a page of its own, which a commit rewrites
            # whole.
            f"DROP INDEX IF EXISTS {quote(table_names.domain_events + '_correlation')}",
            f"CREATE INDEX IF NOT EXISTS {quote(table_names.domain_events + '_inherited')} "
            f'ON {events} ("correlationId") WHERE "correlationId" != "causationId"',
            # Only first events: the aggregates in the order they began.
            f"""CREATE INDEX IF NOT EXISTS {quote(table_names.domain_events + "_first")}
                ON {events} ("revision") WHERE "revision" = 1""",
            f"""CREATE TABLE IF NOT EXISTS {snapshots} (
                "aggregateId" TEXT NOT NULL,
                "revision" INTEGER NOT NULL,
                "state" TEXT NOT NULL,
                "stateModel" TEXT NOT NULL DEFAULT '',
                PRIMARY KEY ("aggregateId", "revision")
            ) WITHOUT ROWID""",
            add_column(snapshots, "stateModel", "TEXT NOT NULL DEFAULT ''"),
            f"""CREATE TABLE IF NOT EXISTS {checkpoints} (
                "name" TEXT NOT NULL PRIMARY KEY,
                "position" INTEGER NOT NULL
            ) WITHOUT ROWID""",
        ]
        super().__init__(database, schema)
        self._insert = (
            f'INSERT INTO {events} ("aggregateId", "revision", "causationId", "correlationId", '
            f'"timestamp", "domainEvent", "version") VALUES (?, ?, ?, ?, ?, ?, ?)'
        )
        self._select_last = (
            f'SELECT "domainEvent", "version" FROM {events} WHERE "aggregateId" = ? '
            f'ORDER BY "revision" DESC LIMIT 1'
        )
        self._select_caused = (
            f'SELECT "position", "domainEvent", "version" FROM {events} WHERE "causationId" = ? '
            f'AND "position" > ? ORDER BY "position" LIMIT ?'
        )
        self._select_any_caused = f'SELECT 1 FROM {events} WHERE "causationId" = ? LIMIT 1'
        # The two halves that the two indexes serve (see the schema).
        self._select_correlated = (
            f'SELECT "position", "domainEvent", "version" FROM {events} WHERE "causationId" = ?1 '
            f'AND "correlationId" = ?1 AND "position" > ?2 '
            f"UNION ALL "
            f'SELECT "position", "domainEvent", "version" FROM {events} WHERE "correlationId" = ?1 '
            f'AND "correlationId" != "causationId" AND "position" > ?2 '
            f'ORDER BY "position" LIMIT ?3'
        )
        self._select_replay = (
            f'SELECT "aggregateId", "revision", "domainEvent", "version" FROM {events} '
            f'WHERE "timestamp" >= ? AND ("aggregateId", "revision") > (?, ?) '
            f'ORDER BY "aggregateId", "revision" LIMIT ?'
        )
        self._select_aggregate = (
            f'SELECT "revision", "domainEvent", "version" FROM {events} WHERE "aggregateId" = ? '
            f'AND "revision" <= ? AND "revision" > ? ORDER BY "revision" LIMIT ?'
        )
        self._select_aggregate_from = (
            f'SELECT "domainEvent", "version" FROM {events} WHERE "aggregateId" = ? '
            f'AND "revision" >= ? ORDER BY "revision"'
        )
        self._select_by_position = (
            f'SELECT "position", "domainEvent", "version" FROM {events} WHERE "position" > ? '
            f'ORDER BY "position" LIMIT ?'
        )
        self._select_first = (
            f'SELECT "position", "domainEvent" FROM {events} WHERE "revision" = 1 '
            f'AND "position" > ? ORDER BY "position" LIMIT ?'
        )
        # A snapshot of a revision that has one stays out, unless it was taken under
        # another state model: then it takes the old one's place.
        self._insert_snapshot = (
            f'INSERT INTO {snapshots} ("aggregateId", "revision", "state", "stateModel") '
            f'VALUES (?, ?, ?, ?) ON CONFLICT ("aggregateId", "revision") DO UPDATE SET '
            f'"state" = excluded."state", "stateModel" = excluded."stateModel" '
            f'WHERE "stateModel" != excluded."stateModel"'
        )
        self._select_snapshot = (
            f'SELECT "revision", "state", "stateModel" FROM {snapshots} WHERE "aggregateId" = ? '
            f'ORDER BY "revision" DESC LIMIT 1'
        )
        self._count = f"SELECT count(*) FROM {events}"
        self._select_checkpoint = f'SELECT "position" FROM {checkpoints} WHERE "name" = ?'
        self._set_checkpoint = (
            f'INSERT INTO {checkpoints} ("name", "position") '
            f'SELECT ?, coalesce(max("position"), 0) FROM {events} WHERE true '
            f'ON CONFLICT ("name") DO UPDATE SET "position" = excluded."position"'
        )

    async def get_last_domain_event(
        self, aggregate_identifier: AggregateIdentifier
    ) -> DomainEvent | None:
        rows = await self._db.fetch_all(self._select_last, (aggregate_identifier.aggregate.id,))
        return _read(*rows[0]) if rows else None

    async def get_domain_events_by_causation_id(
        self, causation_id: str
    ) -> AsyncIterator[DomainEvent]:
        async for row in self._pages(self._select_caused, (causation_id,), (0,)):
            yield _read(row[1], row[2])

    async def has_domain_events_with_causation_id(self, causation_id: str) -> bool:
        return bool(await self._db.fetch_all(self._select_any_caused, (causation_id,)))

    async def get_domain_events_by_correlation_id(
        self, correlation_id: str
    ) -> AsyncIterator[DomainEvent]:
        async for row in self._pages(self._select_correlated, (correlation_id,), (0,)):
            yield _read(row[1], row[2])

    async def get_replay(self, from_timestamp: int = 0) -> AsyncIterator[DomainEvent]:
        check_from_timestamp(from_timestamp)
        async for row in self._pages(self._select_replay, (from_timestamp,), ("", 0)):
            yield _read(row[2], row[3])

    async def get_replay_for_aggregate(
        self, aggregate_id: str, from_revision: int = 1, to_revision: int = MAX_REVISION
    ) -> AsyncIterator[DomainEvent]:
        check_revision_range(from_revision, to_revision)
        fixed = (aggregate_id, to_revision)
        async for row in self._pages(self._select_aggregate, fixed, (from_revision - 1,)):
            yield _read(row[1], row[2])

    async def get_replay_for_command(
        self,
        aggregate_identifier: AggregateIdentifier,
        causation_id: str,
        from_revision: int | None = None,
    ) -> CommandReplay:
        if from_revision is not None:
            check_revision_range(from_revision, MAX_REVISION)
        aggregate_id = aggregate_identifier.aggregate.id

        # One read transaction instead of three: a consistent view, and a third of the cost.
        def read(connection: sqlite3.Connection) -> CommandReplay:
            handled = bool(connection.execute(self._select_any_caused, (causation_id,)).fetchall())
            snapshot = None
            start = from_revision
            if start is None:
                rows = connection.execute(self._select_snapshot, (aggregate_id,)).fetchall()
                if rows:
                    snapshot = _snapshot(aggregate_identifier, *rows[0])
                start = 1 if snapshot is None else snapshot.revision + 1
            rows = connection.execute(self._select_aggregate_from, (aggregate_id, start)).fetchall()
            return CommandReplay(handled, snapshot, [_read(*row) for row in rows])

        return await self._db.read(read)

    async def wait_until_readable(self) -> None:
        # One writer at a time: positions follow commits, so a reader sees them all.
        return

    async def get_replay_by_position(
        self, after_position: int = 0, limit: int | None = None
    ) -> AsyncIterator[PositionedDomainEvent]:
        check_position_range(after_position, limit)
        # Every committed event is final here (see the module docstring), so any page of
        # committed rows is safe to hand out.
        async for row in self._pages(self._select_by_position, (), (after_position,), limit):
            yield PositionedDomainEvent(position=row[0], domain_event=_read(row[1], row[2]))

    async def count_domain_events(self) -> int:
        rows = await self._db.fetch_all(self._count)
        count: int = rows[0][0]
        return count

    async def store_domain_events(self, domain_events: Sequence[DomainEvent]) -> None:
        check_domain_events(domain_events)
        rows = [
            (
                domain_event.aggregate_identifier.aggregate.id,
                domain_event.metadata.revision,
                domain_event.metadata.causation_id,
                domain_event.metadata.correlation_id,
                domain_event.metadata.timestamp,
                event_json(domain_event),
                domain_event.version,
            )
            for domain_event in domain_events
        ]

        def insert(connection: sqlite3.Connection) -> None:
            try:
                connection.executemany(self._insert, rows)
            except sqlite3.IntegrityError:
                # The unique (aggregate id, revision) index; the transaction rolls back whole.
                raise RevisionAlreadyExists("Aggregate id and revision already exist.") from None

        await self._db.write(insert)

    async def checkpoint(self, name: str) -> int:
        rows = await self._db.fetch_all(self._select_checkpoint, (name,))
        return int(rows[0][0]) if rows else 0

    async def set_checkpoint(self, name: str) -> None:
        # The last position as this write finds it: SQLite runs one write at a time, and the
        # database runs a loop's writes in the order they were called.
        await self._db.write(lambda connection: connection.execute(self._set_checkpoint, (name,)))

    async def get_snapshot(self, aggregate_identifier: AggregateIdentifier) -> Snapshot | None:
        rows = await self._db.fetch_all(self._select_snapshot, (aggregate_identifier.aggregate.id,))
        return _snapshot(aggregate_identifier, *rows[0]) if rows else None

    async def store_snapshot(self, snapshot: Snapshot) -> None:
        row = (
            snapshot.aggregate_identifier.aggregate.id,
            snapshot.revision,
            json.dumps(snapshot.state, separators=(",", ":")),
            snapshot.state_model,
        )
        await self._db.write(lambda connection: connection.execute(self._insert_snapshot, row))

    async def get_aggregate_identifiers(self) -> AsyncIterator[AggregateIdentifier]:
        async for row in self._pages(self._select_first, (), (0,)):
            yield _decode(row[1]).aggregate_identifier

    async def get_aggregate_identifiers_by_name(
        self, context_name: str, aggregate_name: str
    ) -> AsyncIterator[AggregateIdentifier]:
        async for aggregate_identifier in self.get_aggregate_identifiers():
            if (
                aggregate_identifier.context.name == context_name
                and aggregate_identifier.aggregate.name == aggregate_name
            ):
                yield aggregate_identifier

    async def _pages(
        self, sql: str, fixed: tuple[Any, ...], after: tuple[Any, ...], limit: int | None = None
    ) -> AsyncIterator[Any]:
        """The rows of a keyset-paged query: its parameters are ``fixed``, then the key of
        the last row seen (the row's leading columns, starting at ``after``), then the page
        size. Each page is one short read, so no statement stays open between pages."""
        remaining = limit
        while True:
            size = PAGE_SIZE if remaining is None else min(PAGE_SIZE, remaining)
            rows = await self._db.fetch_all(sql, (*fixed, *after, size))
            for row in rows:
                yield row
            if remaining is not None:
                remaining -= len(rows)
            if len(rows) < size or remaining == 0:
                return
            after = tuple(rows[-1][: len(after)])
            await asyncio.sleep(0)
