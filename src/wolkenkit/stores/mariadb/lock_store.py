"""The MariaDB/MySQL lock store: one row per held lock, safe across any number of processes.

Lock values are kept as their SHA-256 digests, as in the reference, so any string fits the
key. Each operation is one statement, atomic on the server: acquiring inserts the row or takes
over an expired one in a single ``INSERT ... ON DUPLICATE KEY UPDATE``, and renewing moves the
expiry only of a row that has not expired. Expiries are compared with this process's clock,
as the reference does.
"""

from __future__ import annotations

import hashlib
import time

from wolkenkit.errors import ExpirationInPast, LockAcquireFailed, LockRenewalFailed
from wolkenkit.messages import now_ms
from wolkenkit.stores.lock_store import NEVER_EXPIRES, LockStore
from wolkenkit.stores.mariadb.database import Database, quote
from wolkenkit.stores.mariadb.options import LockTableNames

#: Expired locks that nobody takes over are deleted at most this often (seconds).
PURGE_INTERVAL = 60.0


def _key(value: str) -> bytes:
    return hashlib.sha256(value.encode()).digest()


def _check_expiry(expires_at: int, now: int) -> None:
    if expires_at < now:
        raise ExpirationInPast("A lock must not expire in the past.")


class MariaDbLockStore(LockStore):
    """Locks as rows of ``(value digest, expiresAt)``; ``destroy`` closes the connections."""

    def __init__(self, database: Database, table_names: LockTableNames) -> None:
        self._database = database
        self._locks = quote(table_names.locks)
        self._purged_at = time.monotonic()

    async def setup(self) -> None:
        await self._database.execute(
            f"""CREATE TABLE IF NOT EXISTS {self._locks} (
                `value` BINARY(32) NOT NULL PRIMARY KEY,
                `expiresAt` BIGINT NOT NULL,
                KEY `expiresAt` (`expiresAt`)
            ) ENGINE=InnoDB"""
        )

    async def destroy(self) -> None:
        await self._database.close()

    async def acquire_lock(self, value: str, expires_at: int = NEVER_EXPIRES) -> None:
        now = now_ms()
        _check_expiry(expires_at, now)
        await self._purge_expired(now)
        # One row changed (1: inserted, 2: an expired lock taken over) means we hold it now;
        # none means someone else holds it.
        changed = await self._database.execute(
            f"INSERT INTO {self._locks} (`value`, `expiresAt`) VALUES (%s, %s) "
            "ON DUPLICATE KEY UPDATE "
            "`expiresAt` = IF(`expiresAt` < %s, VALUES(`expiresAt`), `expiresAt`)",
            (_key(value), expires_at, now),
        )
        if changed == 0:
            raise LockAcquireFailed("Failed to acquire lock.")

    async def is_locked(self, value: str) -> bool:
        row = await self._database.fetch_one(
            f"SELECT 1 FROM {self._locks} WHERE `value` = %s AND `expiresAt` >= %s",
            (_key(value), now_ms()),
        )
        return row is not None

    async def renew_lock(self, value: str, expires_at: int) -> None:
        now = now_ms()
        _check_expiry(expires_at, now)
        key = _key(value)
        changed = await self._database.execute(
            f"UPDATE {self._locks} SET `expiresAt` = %s WHERE `value` = %s AND `expiresAt` >= %s",
            (expires_at, key, now),
        )
        if changed:
            return
        # Nothing changed: the lock is gone or expired, or it already had this very expiry.
        row = await self._database.fetch_one(
            f"SELECT 1 FROM {self._locks} WHERE `value` = %s AND `expiresAt` = %s",
            (key, expires_at),
        )
        if row is None:
            raise LockRenewalFailed("Failed to renew lock.")

    async def release_lock(self, value: str) -> None:
        await self._database.execute(
            f"DELETE FROM {self._locks} WHERE `value` = %s", (_key(value),)
        )

    async def _purge_expired(self, now: int) -> None:
        # Acquiring takes over expired rows anyway; this only keeps abandoned ones from
        # piling up.
        if time.monotonic() - self._purged_at < PURGE_INTERVAL:
            return
        self._purged_at = time.monotonic()
        await self._database.execute(f"DELETE FROM {self._locks} WHERE `expiresAt` < %s", (now,))
