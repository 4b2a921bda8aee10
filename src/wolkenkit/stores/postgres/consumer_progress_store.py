"""The PostgreSQL consumer progress store: one row per consumer and aggregate.

Consumer ids are stored as SHA-256 hashes, as in the reference. Every change is one conditional
statement, so concurrent writers cannot both move progress past the same revision. Inside a
unit of work of its database (``transactions``), its statements run in the unit.
"""

from __future__ import annotations

import hashlib
from typing import TypeAlias

from pydantic import Field

from wolkenkit.errors import FlowIsAlreadyReplaying, ParameterInvalid, RevisionTooLow
from wolkenkit.messages import AggregateIdentifier
from wolkenkit.stores import table_names
from wolkenkit.stores.consumer_progress_store import (
    ConsumerProgressStore,
    IsReplaying,
    Progress,
    ReplayRange,
    check_replay_range,
    check_revision,
)
from wolkenkit.stores.postgres.connection import (
    DriverErrors,
    Names,
    PostgresOptions,
    set_up,
)
from wolkenkit.stores.postgres.pool import ConnectionPool
from wolkenkit.stores.postgres.transactions import PostgresDatabase
from wolkenkit.stores.table_names import NonEmptyName
from wolkenkit.stores.transactions import SharedDatabase

STORE = "PostgreSQL consumer progress store"


ProgressTableNames: TypeAlias = table_names.ProgressTableNames[NonEmptyName]


class ConsumerProgressStoreOptions(PostgresOptions):
    table_names: ProgressTableNames = Field(default_factory=ProgressTableNames)


def _hash(consumer_id: str) -> str:
    return hashlib.sha256(consumer_id.encode()).hexdigest()


class PostgresConsumerProgressStore(ConsumerProgressStore):
    """Progress by (hashed consumer id, aggregate id), with the replay range beside it."""

    def __init__(self, pool: ConnectionPool, options: ConsumerProgressStoreOptions) -> None:
        self._pool = pool
        self._database = PostgresDatabase(pool, options, STORE)
        self._errors = DriverErrors(STORE)
        self._names = Names(options.schema_name)
        progress = self._progress = self._names.table(options.table_names.progress)
        key = "consumer_id = $1 AND aggregate_id = $2"
        self._get = (
            f"SELECT revision, is_replaying_from, is_replaying_to FROM {progress} WHERE {key}"
        )
        self._set = (
            f"INSERT INTO {progress} AS progress (consumer_id, aggregate_id, revision)"
            " VALUES ($1, $2, $3) ON CONFLICT (consumer_id, aggregate_id)"
            " DO UPDATE SET revision = excluded.revision"
            " WHERE progress.revision < excluded.revision RETURNING true"
        )
        # ``claim_next``: from revision - 1 to revision, ending a replay that this reaches;
        # revision 1 also on unknown progress (a new row).
        ended = "CASE WHEN progress.is_replaying_to <= $3 THEN NULL ELSE progress.{0} END"
        claimed = (
            "revision = $3, is_replaying_from = " + ended.format("is_replaying_from") + ","
            " is_replaying_to = " + ended.format("is_replaying_to")
        )
        self._claim = (
            f"UPDATE {progress} AS progress SET {claimed}"
            f" WHERE {key} AND progress.revision = $3 - 1 RETURNING true"
        )
        self._claim_first = (
            f"INSERT INTO {progress} AS progress (consumer_id, aggregate_id, revision)"
            " VALUES ($1, $2, $3) ON CONFLICT (consumer_id, aggregate_id)"
            f" DO UPDATE SET {claimed} WHERE progress.revision = 0 RETURNING true"
        )
        self._start_replay = (
            f"INSERT INTO {progress} AS progress"
            " (consumer_id, aggregate_id, revision, is_replaying_from, is_replaying_to)"
            " VALUES ($1, $2, 0, $3, $4) ON CONFLICT (consumer_id, aggregate_id)"
            " DO UPDATE SET is_replaying_from = excluded.is_replaying_from,"
            " is_replaying_to = excluded.is_replaying_to"
            " WHERE progress.is_replaying_from IS NULL RETURNING true"
        )
        self._clear_replay = (
            f"UPDATE {progress} SET is_replaying_from = NULL, is_replaying_to = NULL WHERE {key}"
        )
        self._reset = f"DELETE FROM {progress} WHERE consumer_id = $1"
        self._reset_to_revision = (
            f"UPDATE {progress} SET revision = $3, is_replaying_from = NULL,"
            f" is_replaying_to = NULL WHERE {key} AND revision >= $3 RETURNING true"
        )
        self._exists = f"SELECT EXISTS (SELECT FROM {progress} WHERE {key})"

    async def setup(self) -> None:
        await set_up(
            self._pool,
            self._names,
            [
                f"CREATE TABLE IF NOT EXISTS {self._progress} ("
                " consumer_id char(64) NOT NULL,"
                " aggregate_id uuid NOT NULL,"
                " revision integer NOT NULL,"
                " is_replaying_from integer,"
                " is_replaying_to integer,"
                " PRIMARY KEY (consumer_id, aggregate_id))"
            ],
            STORE,
        )

    async def destroy(self) -> None:
        await self._pool.close()

    @property
    def shared_database(self) -> SharedDatabase:
        return self._database

    async def get_progress(
        self, consumer_id: str, aggregate_identifier: AggregateIdentifier
    ) -> Progress:
        with self._errors:
            row = await self._database.fetchrow(
                self._get, _hash(consumer_id), aggregate_identifier.aggregate.id
            )
        if row is None:
            return Progress(revision=0, is_replaying=False)
        revision, replaying_from, replaying_to = row
        is_replaying: IsReplaying = (
            False if replaying_from is None else ReplayRange(replaying_from, replaying_to)
        )
        return Progress(revision=revision, is_replaying=is_replaying)

    async def set_progress(
        self, consumer_id: str, aggregate_identifier: AggregateIdentifier, revision: int
    ) -> None:
        check_revision(revision)
        with self._errors:
            stored = await self._database.fetchval(
                self._set, _hash(consumer_id), aggregate_identifier.aggregate.id, revision
            )
        if not stored:
            raise RevisionTooLow("Revision must be higher than the stored one.")

    async def claim_next(
        self, consumer_id: str, aggregate_identifier: AggregateIdentifier, revision: int
    ) -> bool:
        check_revision(revision)
        statement = self._claim_first if revision == 1 else self._claim
        with self._errors:
            claimed = await self._database.fetchval(
                statement, _hash(consumer_id), aggregate_identifier.aggregate.id, revision
            )
        return bool(claimed)

    async def set_is_replaying(
        self,
        consumer_id: str,
        aggregate_identifier: AggregateIdentifier,
        is_replaying: IsReplaying,
    ) -> None:
        key = (_hash(consumer_id), aggregate_identifier.aggregate.id)
        if is_replaying is False:
            # Clearing always succeeds, known or not, and may be repeated.
            with self._errors:
                await self._database.execute(self._clear_replay, *key)
            return
        check_replay_range(is_replaying)
        with self._errors:
            started = await self._database.fetchval(
                self._start_replay, *key, is_replaying.from_revision, is_replaying.to_revision
            )
        if not started:
            raise FlowIsAlreadyReplaying("Flow is already replaying.")

    async def reset_progress(self, consumer_id: str) -> None:
        with self._errors:
            await self._database.execute(self._reset, _hash(consumer_id))

    async def reset_progress_to_revision(
        self, consumer_id: str, aggregate_identifier: AggregateIdentifier, revision: int
    ) -> None:
        check_revision(revision)
        key = (_hash(consumer_id), aggregate_identifier.aggregate.id)
        with self._errors:
            moved = await self._database.fetchval(self._reset_to_revision, *key, revision)
            # Not moved: either nothing is known, which is fine, or the revision is too high.
            if not moved and await self._database.fetchval(self._exists, *key):
                raise ParameterInvalid("Revision must not be higher than the current one.")
