"""The PostgreSQL database the stores write to, and units of work over it.

Stores that reach one database as one user (same server, database, user, password and
encryption; schemas and table names may differ) can share a transaction. A unit of work
borrows one connection and begins a transaction on it; the stores' statements inside the unit
run on that connection, one at a time, and everything else goes through each store's pool as
before.

A statement that fails inside the unit aborts PostgreSQL's transaction, whatever the caller
makes of the error, so the unit then rolls back and raises at its end, never commits part of
what it did. Statements that may fail for expected reasons (a duplicate key) are written so
that they do not.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from typing import Any

import asyncpg

from wolkenkit.errors import StoreError
from wolkenkit.stores import transactions
from wolkenkit.stores.postgres.connection import DriverErrors, PostgresOptions
from wolkenkit.stores.postgres.pool import ConnectionPool
from wolkenkit.stores.transactions import ServerDatabase

_ROLLBACK_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError)


@dataclass(eq=False)
class _Unit:
    connection: asyncpg.Connection
    #: One statement at a time on the connection, also from tasks the unit's code starts.
    turn: asyncio.Lock = field(default_factory=asyncio.Lock)
    #: A statement failed, so PostgreSQL has aborted the transaction.
    failed: BaseException | None = None


class PostgresDatabase(ServerDatabase):
    """One store's way to its database: statements go through its pool, or, inside a unit
    of work of the database, through the unit's connection."""

    def __init__(self, pool: ConnectionPool, options: PostgresOptions, store: str) -> None:
        super().__init__(
            (
                "Postgres",
                options.host_name,
                options.port,
                options.user_name,
                options.password,
                options.database,
                repr(options.encrypt_connection),
            ),
            f"the PostgreSQL database {options.database} at {options.host_name}:{options.port}",
        )
        self._pool = pool
        self._store = store
        self._errors = DriverErrors(store)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        if transactions.joined(self._key) is not None:
            yield
            return
        async with self._pool.acquire() as connection:
            unit = _Unit(connection)
            with self._errors:
                await connection.execute("BEGIN")
            with transactions.joining(self._key, unit):
                try:
                    yield
                except BaseException:
                    await _roll_back(connection)
                    raise
                async with unit.turn:
                    if unit.failed is not None:
                        await _roll_back(connection)
                        raise StoreError(
                            f"The {self._store} rolled back a unit of work, as a statement "
                            f"in it failed: {unit.failed}"
                        ) from unit.failed
                    with self._errors:
                        await connection.execute("COMMIT")

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[asyncpg.Connection]:
        """A connection inside a transaction for the block: the unit's, or one of the pool's
        in a transaction of the block's own."""
        unit: _Unit | None = transactions.joined(self._key)
        if unit is None:
            async with self._pool.acquire() as connection, connection.transaction():
                yield connection
            return
        async with unit.turn:
            try:
                yield unit.connection
            except asyncpg.PostgresError as error:
                unit.failed = error
                raise

    async def execute(self, query: str, *arguments: Any) -> str:
        status: str = await self._run("execute", query, arguments)
        return status

    async def fetch(self, query: str, *arguments: Any) -> list[asyncpg.Record]:
        rows: list[asyncpg.Record] = await self._run("fetch", query, arguments)
        return rows

    async def fetchrow(self, query: str, *arguments: Any) -> asyncpg.Record | None:
        row: asyncpg.Record | None = await self._run("fetchrow", query, arguments)
        return row

    async def fetchval(self, query: str, *arguments: Any) -> Any:
        return await self._run("fetchval", query, arguments)

    async def _run(self, method: str, query: str, arguments: tuple[Any, ...]) -> Any:
        unit: _Unit | None = transactions.joined(self._key)
        if unit is None:
            return await getattr(self._pool, method)(query, *arguments)
        async with unit.turn:
            try:
                return await getattr(unit.connection, method)(query, *arguments)
            except asyncpg.PostgresError as error:
                unit.failed = error
                raise


async def _roll_back(connection: asyncpg.Connection) -> None:
    # A connection that cannot roll back is broken; the pool closes it, and the server rolls
    # back with it.
    with suppress(*_ROLLBACK_ERRORS):
        await connection.execute("ROLLBACK")
