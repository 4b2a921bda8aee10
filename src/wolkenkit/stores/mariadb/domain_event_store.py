"""The MariaDB/MySQL domain event store: each event as JSON beside the columns it is found by.

Events are written by ``event_writer``, which gives them positions in the order their
transactions commit (how, and why a reader can therefore never skip an event, is told
there), and joins the batches of concurrent callers into one transaction. Readers need no
locks: a plain ``SELECT ... WHERE position > ?`` continues safely from the last position seen.
``get_replay_for_command`` is one statement, so a command costs the engine one read and its
share of one commit.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from typing import Any

from pydantic_core import from_json, to_json

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
    with_version,
)
from wolkenkit.stores.mariadb.database import (
    PAGE_SIZE,
    Database,
    Row,
    pages,
    quote,
    uuid_bytes,
)
from wolkenkit.stores.mariadb.event_writer import MariaDbEventWriter
from wolkenkit.stores.mariadb.options import POSITIONS_SUFFIX, DomainEventTableNames

#: The rows of ``get_replay_for_command``'s statement, told apart by their first column.
_SNAPSHOT, _HANDLED, _EVENT = 0, 1, 2


def _decode(text: str, version: int) -> DomainEvent:
    return with_version(DomainEvent.model_validate_json(text), version)


def _snapshot(
    aggregate_identifier: AggregateIdentifier, revision: int, state: str, state_model: str
) -> Snapshot:
    return Snapshot.trusted(
        aggregate_identifier=aggregate_identifier,
        revision=revision,
        state=from_json(state),
        state_model=state_model,
    )


def _identifier(text: str) -> AggregateIdentifier:
    return AggregateIdentifier.model_validate_json(text)


class MariaDbDomainEventStore(DomainEventStore):
    """Events, snapshots and the position counter in three tables of one database."""

    reads_fresh_events = True

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
                `version` INT UNSIGNED NOT NULL DEFAULT 1,
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
                `stateModel` VARCHAR(64) NOT NULL DEFAULT '',
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
        # Tables from before versions and state models: their events are at version 1, their
        # snapshots of no known model.
        self._added_columns = (
            (table_names.domain_events, "version", "INT UNSIGNED NOT NULL DEFAULT 1"),
            (table_names.snapshots, "stateModel", "VARCHAR(64) NOT NULL DEFAULT ''"),
        )
        self._writer = MariaDbEventWriter(database, events, positions)
        # A command's reads in one statement, so they see one snapshot of the tables (READ
        # COMMITTED takes one per statement). The outer ORDER BY is needed: inside a UNION,
        # an ORDER BY without LIMIT is ignored.
        # Rows of kind, revision, JSON, and the event's version or the snapshot's state model.
        handled = (
            f"(SELECT {_HANDLED}, NULL, NULL, NULL, NULL FROM DUAL WHERE EXISTS "
            f"(SELECT 1 FROM {events} WHERE `causationId` = %s))"
        )
        revisions = (
            f"SELECT {_EVENT}, `revision`, `domainEvent`, `version`, NULL FROM {events} "
            "WHERE `aggregateId` = %s AND `revision`"
        )
        self._replay_for_command = f"{handled} UNION ALL ({revisions} >= %s) ORDER BY 1, 2"
        self._replay_for_command_from_snapshot = (
            f"(SELECT {_SNAPSHOT}, `revision`, `state`, NULL, `stateModel` FROM {snapshots} "
            f"WHERE `aggregateId` = %s ORDER BY `revision` DESC LIMIT 1) "
            f"UNION ALL {handled} "
            f"UNION ALL ({revisions} > (SELECT COALESCE(MAX(`revision`), 0) "
            f"FROM {snapshots} WHERE `aggregateId` = %s)) ORDER BY 1, 2"
        )

    async def setup(self) -> None:
        await self._database.create(self._schema)
        for table, column, definition in self._added_columns:
            found = await self._database.fetch_one(
                "SELECT 1 FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() "
                "AND TABLE_NAME = %s AND COLUMN_NAME = %s",
                (table, column),
            )
            if found is None:
                await self._database.execute(
                    f"ALTER TABLE {quote(table)} ADD COLUMN `{column}` {definition}"
                )

    async def destroy(self) -> None:
        await self._database.close()

    async def get_last_domain_event(
        self, aggregate_identifier: AggregateIdentifier
    ) -> DomainEvent | None:
        row = await self._database.fetch_one(
            f"SELECT `domainEvent`, `version` FROM {self._events} WHERE `aggregateId` = %s "
            "ORDER BY `revision` DESC LIMIT 1",
            (uuid_bytes(aggregate_identifier.aggregate.id),),
        )
        return None if row is None else _decode(row[0], row[1])

    async def get_domain_events_by_causation_id(
        self, causation_id: str
    ) -> AsyncIterator[DomainEvent]:
        for row in await self._by_id_column("causationId", causation_id):
            yield _decode(row[0], row[1])

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
            yield _decode(row[0], row[1])

    async def _by_id_column(self, column: str, value: str) -> Sequence[Row]:
        return await self._database.fetch_all(
            f"SELECT `domainEvent`, `version` FROM {self._events} WHERE `{column}` = %s "
            "ORDER BY `position`",
            (uuid_bytes(value),),
        )

    async def get_replay(self, from_timestamp: int = 0) -> AsyncIterator[DomainEvent]:
        check_from_timestamp(from_timestamp)
        # Pages continue after the last key seen, so the whole replay reads each row once.
        select = (
            f"SELECT `aggregateId`, `revision`, `domainEvent`, `version` FROM {self._events} "
            "FORCE INDEX (PRIMARY) WHERE `timestamp` >= %s"
        )
        after = " AND `aggregateId` >= %s AND (`aggregateId` > %s OR `revision` > %s)"
        order = " ORDER BY `aggregateId`, `revision` LIMIT %s"

        async def fetch(previous: Sequence[Row] | None) -> Sequence[Row]:
            if previous is None:
                return await self._database.fetch_all(select + order, (from_timestamp, PAGE_SIZE))
            aggregate_id, revision = previous[-1][:2]
            return await self._database.fetch_all(
                select + after + order,
                (from_timestamp, aggregate_id, aggregate_id, revision, PAGE_SIZE),
            )

        async for rows in pages(fetch):
            for row in rows:
                yield _decode(row[2], row[3])

    async def get_replay_for_aggregate(
        self, aggregate_id: str, from_revision: int = 1, to_revision: int = MAX_REVISION
    ) -> AsyncIterator[DomainEvent]:
        check_revision_range(from_revision, to_revision)
        key = uuid_bytes(aggregate_id)
        select = (
            f"SELECT `revision`, `domainEvent`, `version` FROM {self._events} "
            "WHERE `aggregateId` = %s AND `revision` BETWEEN %s AND %s ORDER BY `revision` "
            "LIMIT %s"
        )

        async def fetch(previous: Sequence[Row] | None) -> Sequence[Row]:
            start = from_revision if previous is None else previous[-1][0] + 1
            return await self._database.fetch_all(select, (key, start, to_revision, PAGE_SIZE))

        async for rows in pages(fetch):
            for row in rows:
                yield _decode(row[1], row[2])

    async def get_replay_for_command(
        self,
        aggregate_identifier: AggregateIdentifier,
        causation_id: str,
        from_revision: int | None = None,
    ) -> CommandReplay:
        key, caused = uuid_bytes(aggregate_identifier.aggregate.id), uuid_bytes(causation_id)
        sql = self._replay_for_command_from_snapshot
        arguments: tuple[Any, ...] = (key, caused, key, key)
        if from_revision is not None:
            check_revision_range(from_revision, MAX_REVISION)
            sql, arguments = self._replay_for_command, (caused, key, from_revision)
        handled, snapshot, domain_events = False, None, []
        rows = await self._database.fetch_all(sql, arguments)
        for kind, revision, text, version, state_model in rows:
            if kind == _EVENT:
                domain_events.append(_decode(text, version))
            elif kind == _HANDLED:
                handled = True
            else:
                snapshot = _snapshot(aggregate_identifier, revision, text, state_model)
        return CommandReplay(handled, snapshot, domain_events)

    async def wait_until_readable(self) -> None:
        # Positions are given in the order of commits, so a reader sees them all.
        return

    async def get_replay_by_position(
        self, after_position: int = 0, limit: int | None = None
    ) -> AsyncIterator[PositionedDomainEvent]:
        check_position_range(after_position, limit)
        # Every committed position is final (see the module docstring), so no check for
        # writers in flight is needed here.
        select = (
            f"SELECT `position`, `domainEvent`, `version` FROM {self._events} "
            "FORCE INDEX (`position`) "
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
            for position, text, version in rows:
                yield PositionedDomainEvent(position=position, domain_event=_decode(text, version))

    async def count_domain_events(self) -> int:
        row = await self._database.fetch_one(f"SELECT COUNT(*) FROM {self._events}")
        assert row is not None, "a count has a row"
        return int(row[0])

    async def store_domain_events(self, domain_events: Sequence[DomainEvent]) -> None:
        check_domain_events(domain_events)
        await self._writer.write(domain_events)

    async def get_snapshot(self, aggregate_identifier: AggregateIdentifier) -> Snapshot | None:
        row = await self._database.fetch_one(
            f"SELECT `revision`, `state`, `stateModel` FROM {self._snapshots} "
            "WHERE `aggregateId` = %s ORDER BY `revision` DESC LIMIT 1",
            (uuid_bytes(aggregate_identifier.aggregate.id),),
        )
        return None if row is None else _snapshot(aggregate_identifier, *row)

    async def store_snapshot(self, snapshot: Snapshot) -> None:
        # The first snapshot of a revision stays, and a second one of it is no error, unless
        # it was taken under another state model: then it takes the old one's place. (The
        # assignments run in order: the first still sees the old state model.)
        await self._database.execute(
            f"INSERT INTO {self._snapshots} (`aggregateId`, `revision`, `state`, `stateModel`) "
            "VALUES (%s, %s, %s, %s) ON DUPLICATE KEY UPDATE "
            "`state` = IF(`stateModel` <> VALUES(`stateModel`), VALUES(`state`), `state`), "
            "`stateModel` = VALUES(`stateModel`)",
            (
                uuid_bytes(snapshot.aggregate_identifier.aggregate.id),
                snapshot.revision,
                to_json(snapshot.state).decode(),
                snapshot.state_model,
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
