"""The SQLite lock store: one row per lock, keyed by the SHA-256 of its value.

Hashing (as the reference's SQL stores do) keeps the key short whatever the value. Taking and
renewing a lock are single conditional statements in a write transaction, which holds
SQLite's one write lock, so of two connections racing for a lock only one can succeed.
"""

from __future__ import annotations

import hashlib
import sqlite3

from wolkenkit.errors import ExpirationInPast, LockAcquireFailed, LockRenewalFailed
from wolkenkit.messages import now_ms
from wolkenkit.stores.lock_store import NEVER_EXPIRES, LockStore
from wolkenkit.stores.sqlite.database import SqliteDatabase, SqliteTables, quote
from wolkenkit.stores.sqlite.options import LockTableNames

#: Expired locks are swept once in this many acquisitions, so they cannot pile up.
_PURGE_EVERY = 1024


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class SqliteLockStore(SqliteTables, LockStore):
    """Locks as rows of (hash of the value, expiry in ms since the epoch)."""

    def __init__(self, database: SqliteDatabase, table_names: LockTableNames) -> None:
        locks = quote(table_names.locks)
        super().__init__(
            database,
            [
                f"""CREATE TABLE IF NOT EXISTS {locks} (
                    "value" TEXT PRIMARY KEY,
                    "expiresAt" INTEGER NOT NULL
                ) WITHOUT ROWID"""
            ],
        )
        # A held lock (now <= expiresAt) is left alone; an expired one is taken over.
        self._acquire = (
            f'INSERT INTO {locks} ("value", "expiresAt") VALUES (?, ?) '
            f'ON CONFLICT ("value") DO UPDATE SET "expiresAt" = excluded."expiresAt" '
            f'WHERE {locks}."expiresAt" < ?'
        )
        self._select = f'SELECT "expiresAt" FROM {locks} WHERE "value" = ?'
        self._renew = f'UPDATE {locks} SET "expiresAt" = ? WHERE "value" = ? AND "expiresAt" >= ?'
        self._delete = f'DELETE FROM {locks} WHERE "value" = ?'
        self._purge = f'DELETE FROM {locks} WHERE "expiresAt" < ?'
        self._acquisitions = 0

    async def acquire_lock(self, value: str, expires_at: int = NEVER_EXPIRES) -> None:
        now = now_ms()
        if expires_at < now:
            raise ExpirationInPast("A lock must not expire in the past.")
        self._acquisitions += 1
        purge = self._acquisitions % _PURGE_EVERY == 0
        parameters = (_hash(value), expires_at, now)

        def acquire(connection: sqlite3.Connection) -> bool:
            if purge:
                connection.execute(self._purge, (now,))
            return connection.execute(self._acquire, parameters).rowcount == 1

        if not await self._db.write(acquire):
            raise LockAcquireFailed("Failed to acquire lock.")

    async def is_locked(self, value: str) -> bool:
        rows = await self._db.fetch_all(self._select, (_hash(value),))
        return bool(rows) and now_ms() <= rows[0][0]

    async def renew_lock(self, value: str, expires_at: int) -> None:
        now = now_ms()
        if expires_at < now:
            raise ExpirationInPast("A lock must not expire in the past.")
        parameters = (expires_at, _hash(value), now)
        renewed = await self._db.write(
            lambda connection: connection.execute(self._renew, parameters).rowcount == 1
        )
        if not renewed:
            raise LockRenewalFailed("Failed to renew lock.")

    async def release_lock(self, value: str) -> None:
        parameters = (_hash(value),)
        await self._db.write(lambda connection: connection.execute(self._delete, parameters))
