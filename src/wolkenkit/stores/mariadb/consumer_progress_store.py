"""The MariaDB/MySQL consumer progress store: one row per flow and aggregate.

Consumer ids are kept as SHA-256 digests, as in the reference. Every change is a single
conditional statement, so concurrent flows' workers cannot interleave a read and a write: the
number of rows it changed says whether the condition held.
"""

from __future__ import annotations

import hashlib

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
from wolkenkit.stores.mariadb.database import Database, quote, uuid_bytes
from wolkenkit.stores.mariadb.options import ProgressTableNames
from wolkenkit.stores.transactions import SharedDatabase


def _key(consumer_id: str, aggregate_identifier: AggregateIdentifier) -> tuple[bytes, bytes]:
    return _consumer(consumer_id), uuid_bytes(aggregate_identifier.aggregate.id)


def _consumer(consumer_id: str) -> bytes:
    return hashlib.sha256(consumer_id.encode()).digest()


class MariaDbConsumerProgressStore(ConsumerProgressStore):
    """Revisions and replay ranges by (consumer digest, aggregate id)."""

    def __init__(self, database: Database, table_names: ProgressTableNames) -> None:
        self._database = database
        self._progress = quote(table_names.progress)

    async def setup(self) -> None:
        await self._database.execute(
            f"""CREATE TABLE IF NOT EXISTS {self._progress} (
                `consumerId` BINARY(32) NOT NULL,
                `aggregateId` BINARY(16) NOT NULL,
                `revision` INT UNSIGNED NOT NULL,
                `isReplayingFrom` INT UNSIGNED NULL,
                `isReplayingTo` INT UNSIGNED NULL,
                PRIMARY KEY (`consumerId`, `aggregateId`)
            ) ENGINE=InnoDB"""
        )

    async def destroy(self) -> None:
        await self._database.close()

    @property
    def shared_database(self) -> SharedDatabase:
        """Inside a unit of work of the database, its statements run in the unit."""
        return self._database

    async def get_progress(
        self, consumer_id: str, aggregate_identifier: AggregateIdentifier
    ) -> Progress:
        row = await self._database.fetch_one(
            f"SELECT `revision`, `isReplayingFrom`, `isReplayingTo` FROM {self._progress} "
            "WHERE `consumerId` = %s AND `aggregateId` = %s",
            _key(consumer_id, aggregate_identifier),
        )
        if row is None:
            return Progress(revision=0, is_replaying=False)
        revision, from_revision, to_revision = row
        is_replaying: IsReplaying = (
            False if from_revision is None else ReplayRange(from_revision, to_revision)
        )
        return Progress(revision=revision, is_replaying=is_replaying)

    async def set_progress(
        self, consumer_id: str, aggregate_identifier: AggregateIdentifier, revision: int
    ) -> None:
        check_revision(revision)
        # No row changed means the stored revision was already as high or higher.
        changed = await self._database.execute(
            f"INSERT INTO {self._progress} (`consumerId`, `aggregateId`, `revision`) "
            "VALUES (%s, %s, %s) ON DUPLICATE KEY UPDATE "
            "`revision` = IF(`revision` < VALUES(`revision`), VALUES(`revision`), `revision`)",
            (*_key(consumer_id, aggregate_identifier), revision),
        )
        if changed == 0:
            raise RevisionTooLow("Revision must be higher than the stored one.")

    async def claim_next(
        self, consumer_id: str, aggregate_identifier: AggregateIdentifier, revision: int
    ) -> bool:
        check_revision(revision)
        key = _key(consumer_id, aggregate_identifier)
        # Assignments run left to right and see earlier ones: the replay's end is read
        # before it is cleared, and the revision, which the conditions read, moves last.
        if revision == 1:
            fits = "`revision` = 0 AND `isReplayingTo` <= 1"
            changed = await self._database.execute(
                f"INSERT INTO {self._progress} (`consumerId`, `aggregateId`, `revision`) "
                "VALUES (%s, %s, 1) ON DUPLICATE KEY UPDATE "
                f"`isReplayingFrom` = IF({fits}, NULL, `isReplayingFrom`), "
                f"`isReplayingTo` = IF({fits}, NULL, `isReplayingTo`), "
                "`revision` = IF(`revision` = 0, 1, `revision`)",
                key,
            )
        else:
            changed = await self._database.execute(
                f"UPDATE {self._progress} SET "
                "`isReplayingFrom` = IF(`isReplayingTo` <= %s, NULL, `isReplayingFrom`), "
                "`isReplayingTo` = IF(`isReplayingTo` <= %s, NULL, `isReplayingTo`), "
                "`revision` = %s "
                "WHERE `consumerId` = %s AND `aggregateId` = %s AND `revision` = %s",
                (revision, revision, revision, *key, revision - 1),
            )
        # Rows changed: 1 for a new row or an update, 2 for an update of a duplicate key.
        return changed > 0

    async def set_is_replaying(
        self,
        consumer_id: str,
        aggregate_identifier: AggregateIdentifier,
        is_replaying: IsReplaying,
    ) -> None:
        key = _key(consumer_id, aggregate_identifier)
        if is_replaying is False:
            # Clearing always succeeds, known or not, and may be repeated.
            await self._database.execute(
                f"UPDATE {self._progress} SET `isReplayingFrom` = NULL, `isReplayingTo` = NULL "
                "WHERE `consumerId` = %s AND `aggregateId` = %s",
                key,
            )
            return
        check_replay_range(is_replaying)
        # Assignments run left to right and see earlier ones, so the end is set while the
        # start still tells whether a replay was running.
        changed = await self._database.execute(
            f"INSERT INTO {self._progress} (`consumerId`, `aggregateId`, `revision`, "
            "`isReplayingFrom`, `isReplayingTo`) VALUES (%s, %s, 0, %s, %s) "
            "ON DUPLICATE KEY UPDATE "
            "`isReplayingTo` = IF(`isReplayingFrom` IS NULL, "
            "VALUES(`isReplayingTo`), `isReplayingTo`), "
            "`isReplayingFrom` = IF(`isReplayingFrom` IS NULL, "
            "VALUES(`isReplayingFrom`), `isReplayingFrom`)",
            (*key, is_replaying.from_revision, is_replaying.to_revision),
        )
        if changed == 0:
            raise FlowIsAlreadyReplaying("Flow is already replaying.")

    async def reset_progress(self, consumer_id: str) -> None:
        await self._database.execute(
            f"DELETE FROM {self._progress} WHERE `consumerId` = %s", (_consumer(consumer_id),)
        )

    async def reset_progress_to_revision(
        self, consumer_id: str, aggregate_identifier: AggregateIdentifier, revision: int
    ) -> None:
        check_revision(revision)
        key = _key(consumer_id, aggregate_identifier)
        changed = await self._database.execute(
            f"UPDATE {self._progress} SET `revision` = %s, `isReplayingFrom` = NULL, "
            "`isReplayingTo` = NULL WHERE `consumerId` = %s AND `aggregateId` = %s "
            "AND `revision` >= %s",
            (revision, *key, revision),
        )
        if changed:
            return
        # Nothing changed: unknown progress (fine), a revision above the current one, or
        # the row already was exactly like this.
        row = await self._database.fetch_one(
            f"SELECT `revision` FROM {self._progress} "
            "WHERE `consumerId` = %s AND `aggregateId` = %s",
            key,
        )
        if row is not None and revision > row[0]:
            raise ParameterInvalid("Revision must not be higher than the current one.")
