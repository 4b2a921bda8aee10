"""The SQLite consumer progress store: one row per (consumer, aggregate id).

Consumer ids (flow names) are stored as they are: they are short names of the application,
and readable rows help when looking into a development database. Each read-modify-write runs
in one write transaction, so concurrent writers see each other's results.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

from wolkenkit.errors import FlowIsAlreadyReplaying, ParameterInvalid, RevisionTooLow
from wolkenkit.messages import AggregateIdentifier
from wolkenkit.stores.consumer_progress_store import (
    ConsumerProgressStore,
    IsReplaying,
    Progress,
    ReplayRange,
    check_replay_range,
    check_revision,
)
from wolkenkit.stores.sqlite.database import SqliteDatabase, SqliteTables, quote
from wolkenkit.stores.sqlite.options import ProgressTableNames

_UNKNOWN = Progress(revision=0, is_replaying=False)
_Row = tuple[int, int | None, int | None]


def _progress(row: _Row | None) -> Progress:
    if row is None:
        return _UNKNOWN
    revision, replaying_from, replaying_to = row
    if replaying_from is None or replaying_to is None:
        return Progress(revision, False)
    return Progress(revision, ReplayRange(replaying_from, replaying_to))


class SqliteConsumerProgressStore(SqliteTables, ConsumerProgressStore):
    """Progress rows of (consumer id, aggregate id, revision, replay range or NULLs)."""

    def __init__(self, database: SqliteDatabase, table_names: ProgressTableNames) -> None:
        progress = quote(table_names.progress)
        super().__init__(
            database,
            [
                f"""CREATE TABLE IF NOT EXISTS {progress} (
                    "consumerId" TEXT NOT NULL,
                    "aggregateId" TEXT NOT NULL,
                    "revision" INTEGER NOT NULL,
                    "isReplayingFrom" INTEGER,
                    "isReplayingTo" INTEGER,
                    PRIMARY KEY ("consumerId", "aggregateId")
                ) WITHOUT ROWID"""
            ],
        )
        self._select = (
            f'SELECT "revision", "isReplayingFrom", "isReplayingTo" FROM {progress} '
            f'WHERE "consumerId" = ? AND "aggregateId" = ?'
        )
        self._upsert = (
            f'INSERT INTO {progress} ("consumerId", "aggregateId", "revision", '
            f'"isReplayingFrom", "isReplayingTo") VALUES (?, ?, ?, ?, ?) '
            f'ON CONFLICT ("consumerId", "aggregateId") DO UPDATE SET '
            f'"revision" = excluded."revision", "isReplayingFrom" = excluded."isReplayingFrom", '
            f'"isReplayingTo" = excluded."isReplayingTo"'
        )
        self._delete = f'DELETE FROM {progress} WHERE "consumerId" = ?'

        # ``claim_next``: from revision - 1 to revision, ending a replay that this reaches
        # (every right-hand side reads the row as it was).
        def claimed(revision: str) -> str:
            ended = f'"isReplayingTo" <= {revision}'
            return (
                f'"revision" = {revision}, '
                f'"isReplayingFrom" = CASE WHEN {ended} THEN NULL ELSE "isReplayingFrom" END, '
                f'"isReplayingTo" = CASE WHEN {ended} THEN NULL ELSE "isReplayingTo" END'
            )

        self._claim = (
            f"UPDATE {progress} SET {claimed('?')} "
            f'WHERE "consumerId" = ? AND "aggregateId" = ? AND "revision" = ?'
        )
        # Revision 1: a new row, or one moved back to 0.
        self._claim_first = (
            f'INSERT INTO {progress} ("consumerId", "aggregateId", "revision") VALUES (?, ?, 1) '
            f'ON CONFLICT ("consumerId", "aggregateId") DO UPDATE SET {claimed("1")} '
            f'WHERE "revision" = 0'
        )
        # Moving forward only: no row is changed for a revision at or below the stored one.
        self._advance = (
            f'INSERT INTO {progress} ("consumerId", "aggregateId", "revision") VALUES (?, ?, ?) '
            f'ON CONFLICT ("consumerId", "aggregateId") DO UPDATE SET '
            f'"revision" = excluded."revision" WHERE "revision" < excluded."revision"'
        )

    async def get_progress(
        self, consumer_id: str, aggregate_identifier: AggregateIdentifier
    ) -> Progress:
        rows = await self._db.fetch_all(
            self._select, (consumer_id, aggregate_identifier.aggregate.id)
        )
        return _progress(rows[0] if rows else None)

    async def set_progress(
        self, consumer_id: str, aggregate_identifier: AggregateIdentifier, revision: int
    ) -> None:
        check_revision(revision)
        parameters = (consumer_id, aggregate_identifier.aggregate.id, revision)

        # One statement, as a flow moves its progress for every event.
        def advance(connection: sqlite3.Connection) -> None:
            if connection.execute(self._advance, parameters).rowcount == 0:
                raise RevisionTooLow("Revision must be higher than the stored one.")

        await self._db.write(advance)

    async def claim_next(
        self, consumer_id: str, aggregate_identifier: AggregateIdentifier, revision: int
    ) -> bool:
        check_revision(revision)
        aggregate_id = aggregate_identifier.aggregate.id
        statement = self._claim_first if revision == 1 else self._claim
        parameters: tuple[object, ...] = (
            (consumer_id, aggregate_id)
            if revision == 1
            else (revision, revision, revision, consumer_id, aggregate_id, revision - 1)
        )

        # One statement: a flow claims every event it handles.
        def claim(connection: sqlite3.Connection) -> bool:
            return connection.execute(statement, parameters).rowcount == 1

        return await self._db.write(claim)

    async def set_is_replaying(
        self,
        consumer_id: str,
        aggregate_identifier: AggregateIdentifier,
        is_replaying: IsReplaying,
    ) -> None:
        if is_replaying is not False:
            check_replay_range(is_replaying)

        def mark(row: _Row | None) -> _Row | None:
            if is_replaying is False:
                # Clearing always succeeds, known or not, so the flag never sticks.
                return None if row is None else (row[0], None, None)
            current = _progress(row)
            if current.is_replaying is not False:
                raise FlowIsAlreadyReplaying("Flow is already replaying.")
            return (current.revision, is_replaying.from_revision, is_replaying.to_revision)

        await self._change(consumer_id, aggregate_identifier, mark)

    async def reset_progress(self, consumer_id: str) -> None:
        await self._db.write(lambda connection: connection.execute(self._delete, (consumer_id,)))

    async def reset_progress_to_revision(
        self, consumer_id: str, aggregate_identifier: AggregateIdentifier, revision: int
    ) -> None:
        check_revision(revision)

        def move_back(row: _Row | None) -> _Row | None:
            if row is None:
                return None
            if revision > row[0]:
                raise ParameterInvalid("Revision must not be higher than the current one.")
            return (revision, None, None)

        await self._change(consumer_id, aggregate_identifier, move_back)

    async def _change(
        self,
        consumer_id: str,
        aggregate_identifier: AggregateIdentifier,
        change: Callable[[_Row | None], _Row | None],
    ) -> None:
        """Read the row and store what ``change`` makes of it (``None``: leave it), in one
        write transaction; what ``change`` raises rolls it back."""
        key = (consumer_id, aggregate_identifier.aggregate.id)

        def update(connection: sqlite3.Connection) -> None:
            changed = change(connection.execute(self._select, key).fetchone())
            if changed is not None:
                connection.execute(self._upsert, (*key, *changed))

        await self._db.write(update)
