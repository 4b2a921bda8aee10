"""The PostgreSQL lock store: one row per held lock, keyed by the SHA-256 of its value.

Taking a lock is a single upsert that only overwrites an expired row, so of any number of
concurrent takers exactly one gets it: PostgreSQL locks the conflicting row and re-checks the
expiry against its latest version.
"""

from __future__ import annotations

import hashlib
from typing import TypeAlias

from pydantic import Field

from wolkenkit.errors import ExpirationInPast, LockAcquireFailed, LockRenewalFailed
from wolkenkit.messages import now_ms
from wolkenkit.stores import table_names
from wolkenkit.stores.lock_store import NEVER_EXPIRES, LockStore
from wolkenkit.stores.postgres.connection import (
    DriverErrors,
    Names,
    PostgresOptions,
    set_up,
)
from wolkenkit.stores.postgres.pool import ConnectionPool
from wolkenkit.stores.table_names import NonEmptyName

STORE = "PostgreSQL lock store"
#: Expired rows of locks nobody takes again are swept after this many acquisitions.
PURGE_INTERVAL = 1_000


LockTableNames: TypeAlias = table_names.LockTableNames[NonEmptyName]


class LockStoreOptions(PostgresOptions):
    table_names: LockTableNames = Field(default_factory=LockTableNames)


def _hash(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


class PostgresLockStore(LockStore):
    """Locks with expiry times in ms since the epoch, as the callers' clocks give them."""

    def __init__(self, pool: ConnectionPool, options: LockStoreOptions) -> None:
        self._pool = pool
        self._errors = DriverErrors(STORE)
        self._names = Names(options.schema_name)
        self._table_name = options.table_names.locks
        locks = self._locks = self._names.table(self._table_name)
        self._acquire = (
            f"INSERT INTO {locks} AS lock (value, expires_at) VALUES ($1, $2)"
            " ON CONFLICT (value) DO UPDATE SET expires_at = excluded.expires_at"
            " WHERE lock.expires_at < $3 RETURNING true"
        )
        self._is_locked = f"SELECT expires_at >= $2 FROM {locks} WHERE value = $1"
        self._renew = (
            f"UPDATE {locks} SET expires_at = $2 WHERE value = $1 AND expires_at >= $3"
            " RETURNING true"
        )
        self._release = f"DELETE FROM {locks} WHERE value = $1"
        self._purge = f"DELETE FROM {locks} WHERE expires_at < $1"
        self._acquisitions = 0

    async def setup(self) -> None:
        locks = self._locks
        await set_up(
            self._pool,
            self._names,
            [
                f"CREATE TABLE IF NOT EXISTS {locks} ("
                " value char(64) PRIMARY KEY,"
                " expires_at bigint NOT NULL)",
                f"CREATE INDEX IF NOT EXISTS {Names.index(self._table_name, 'expires_at')}"
                f" ON {locks} (expires_at)",
            ],
            STORE,
        )

    async def destroy(self) -> None:
        await self._pool.close()

    async def acquire_lock(self, value: str, expires_at: int = NEVER_EXPIRES) -> None:
        now = now_ms()
        if expires_at < now:
            raise ExpirationInPast("A lock must not expire in the past.")
        with self._errors:
            acquired = await self._pool.fetchval(self._acquire, _hash(value), expires_at, now)
            self._acquisitions += 1
            if self._acquisitions % PURGE_INTERVAL == 0:
                await self._pool.execute(self._purge, now)
        if not acquired:
            raise LockAcquireFailed("Failed to acquire lock.")

    async def is_locked(self, value: str) -> bool:
        with self._errors:
            locked = await self._pool.fetchval(self._is_locked, _hash(value), now_ms())
        return bool(locked)

    async def renew_lock(self, value: str, expires_at: int) -> None:
        now = now_ms()
        if expires_at < now:
            raise ExpirationInPast("A lock must not expire in the past.")
        with self._errors:
            renewed = await self._pool.fetchval(self._renew, _hash(value), expires_at, now)
        if not renewed:
            raise LockRenewalFailed("Failed to renew lock.")

    async def release_lock(self, value: str) -> None:
        with self._errors:
            await self._pool.execute(self._release, _hash(value))
