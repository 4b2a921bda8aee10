"""Connections to MariaDB/MySQL: one asyncmy pool per store, sessions, and error translation.

Every connection runs in READ COMMITTED, so locking statements lock only the rows they match
and never a gap: concurrent writers then wait for each other only where they really touch the
same rows. Sessions run positional statements as server-side prepared statements (asyncmy's
statement cache), and several statements in one round trip as a *script* in the text protocol,
which is how transactions start and end without extra round trips.

Driver errors are translated here, at the boundary: a failed start-up becomes
``StoreOptionsInvalid`` in one line, a failure later a ``StoreError`` naming the store.

Units of work (``wolkenkit.stores.transactions``). Stores that reach one database as one user
share a unit: it borrows a connection and begins a transaction, and the stores' sessions
inside the unit run on that connection, one at a time, without beginning or ending
transactions of their own. A statement that fails alone (a duplicate key) leaves the unit
going, as in any InnoDB transaction; one after which the transaction is gone (a deadlock, a
lost connection) fails every later statement of the unit and the unit itself, since the
connection would otherwise go on committing statement by statement.
"""

from __future__ import annotations

import asyncio
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import asyncmy
from asyncmy.connection import Connection
from asyncmy.cursors import Cursor
from asyncmy.errors import MySQLError

from wolkenkit.errors import ParameterInvalid, StoreError, StoreOptionsInvalid, WolkenkitError
from wolkenkit.stores import transactions
from wolkenkit.stores.mariadb.options import MariaDbOptions
from wolkenkit.stores.transactions import ServerDatabase

Row = tuple[Any, ...]
Statement = tuple[str, Sequence[Any]]
#: Fetches the page after the given one (``None``: the first page).
Fetch = Callable[[Sequence[Row] | None], Awaitable[Sequence[Row]]]

#: Rows per query when streaming.
PAGE_SIZE = 1000

#: Server-side error numbers; the 2000s are the client library's (lost connections and such).
_DUPLICATE_ENTRY = 1062
_CLIENT_ERRORS = range(2000, 3000)
#: Server errors after which InnoDB may have rolled back the whole transaction.
_TRANSACTION_ENDING_ERRORS = frozenset({1205, 1213})  # lock wait timeout, deadlock
_POOL_SIZE = 10
_STATEMENT_CACHE_SIZE = 64
_INIT = "SET SESSION TRANSACTION ISOLATION LEVEL READ COMMITTED"

PRODUCT_NAMES = {"MariaDb": "MariaDB", "MySql": "MySQL"}


def quote(name: str) -> str:
    """A table or index name as an identifier."""
    return "`" + name.replace("`", "``") + "`"


def uuid_bytes(uuid: str) -> bytes:
    """A uuid as the 16 bytes a ``BINARY(16)`` column keeps (byte order = string order)."""
    try:
        raw = bytes.fromhex(uuid.replace("-", ""))
    except ValueError:
        raw = b""
    if len(raw) != 16:
        raise ParameterInvalid(f"'{uuid}' is not a uuid.")
    return raw


def error_number(error: BaseException) -> int | None:
    args: tuple[Any, ...] = getattr(error, "args", ())
    return args[0] if args and isinstance(args[0], int) else None


def duplicate_key(error: BaseException) -> str | None:
    """The unique key a statement violated (``PRIMARY``, ``position``), if that was the error."""
    args: tuple[Any, ...] = getattr(error, "args", ())
    if error_number(error) != _DUPLICATE_ENTRY or len(args) < 2:
        return None
    # "Duplicate entry '...' for key 'position'"; MySQL 8 says 'table.position'.
    key = str(args[1]).rpartition(" for key ")[2].strip("'")
    return key.rpartition(".")[2]


def describe(error: BaseException) -> str:
    """The cause of a driver error in a few words (``Connection refused``)."""
    cause = error.__cause__ or error.__context__
    if isinstance(cause, socket.gaierror):
        return str(cause.strerror)
    if isinstance(cause, OSError) and isinstance(cause.errno, int) and cause.errno > 0:
        return os.strerror(cause.errno)
    if isinstance(error, TimeoutError):
        return "Timed out"
    args: tuple[Any, ...] = getattr(error, "args", ())
    if len(args) >= 2 and isinstance(args[1], str):
        return args[1].rstrip(".")
    return str(error).rstrip(".") or type(error).__name__


async def pages(fetch: Fetch) -> AsyncIterator[Sequence[Row]]:
    """Pages of rows, until one comes back short of ``PAGE_SIZE``.

    The next page is fetched while the caller works through the current one, so the server's
    work and the decoding overlap.
    """
    rows = await fetch(None)
    while rows:
        following = asyncio.ensure_future(fetch(rows)) if len(rows) == PAGE_SIZE else None
        try:
            yield rows
        except BaseException:
            # The caller stopped early: the next page is not wanted, nor its failure.
            if following is not None:
                following.cancel()
                following.add_done_callback(_forget)
            raise
        if following is None:
            return
        rows = await following


def _forget(task: asyncio.Future[Sequence[Row]]) -> None:
    if not task.cancelled():
        task.exception()


class Session:
    """One pooled connection for a few statements; see :meth:`Database.session`."""

    def __init__(self, cursor: Cursor, in_unit: bool = False) -> None:
        self.cursor = cursor
        #: The session runs inside a unit of work's transaction: its statements must neither
        #: begin nor end one.
        self.in_unit = in_unit

    async def execute(self, sql: str, args: Sequence[Any] = ()) -> int:
        """Run one statement; returns the number of affected rows."""
        await self.cursor.execute(sql, tuple(args) or None)
        rowcount = self.cursor.rowcount
        return rowcount if isinstance(rowcount, int) else 0

    async def fetch_all(self, sql: str, args: Sequence[Any] = ()) -> Sequence[Row]:
        await self.cursor.execute(sql, tuple(args) or None)
        rows: Sequence[Row] = await self.cursor.fetchall()
        return rows

    async def fetch_one(self, sql: str, args: Sequence[Any] = ()) -> Row | None:
        rows = await self.fetch_all(sql, args)
        return rows[0] if rows else None

    async def script(self, *statements: Statement) -> list[Sequence[Row]]:
        """Several statements in one round trip; the rows of each, in order.

        A failing statement stops the script and raises; the session rolls back.
        """
        cursor = self.cursor
        text = ";\n".join(cursor.mogrify(sql, tuple(args) or None) for sql, args in statements)
        # No arguments: the text protocol, because scripts cannot be prepared.
        await cursor.execute(text)
        results: list[Sequence[Row]] = []
        while True:
            results.append(await cursor.fetchall() if cursor.description else ())
            if not await cursor.nextset():
                return results


@dataclass(eq=False)
class _Unit:
    connection: Connection
    #: One session at a time on the connection, also from tasks the unit's code starts.
    turn: asyncio.Lock = field(default_factory=asyncio.Lock)
    #: The error after which the transaction may be gone.
    lost: BaseException | None = None


class Database(ServerDatabase):
    """A pool of connections to one database, for one store."""

    def __init__(self, pool: asyncmy.Pool, store: str, options: MariaDbOptions) -> None:
        super().__init__(
            (
                "MariaDb",
                options.host_name,
                options.port,
                options.user_name,
                options.password,
                options.database,
            ),
            f"the {PRODUCT_NAMES[options.type]} database {options.database} at "
            f"{options.host_name}:{options.port}",
        )
        self._pool = pool
        self.store = store

    async def close(self) -> None:
        self._pool.close()
        await self._pool.wait_closed()

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        if transactions.joined(self._key) is not None:
            yield
            return
        try:
            connection = await self._pool.acquire()
        except (MySQLError, OSError) as error:
            raise StoreError(f"The {self.store} failed: {describe(error)}.") from error
        unit = _Unit(connection)
        try:
            await self._call(unit, connection.begin)
            with transactions.joining(self._key, unit):
                try:
                    yield
                except BaseException:
                    await self._roll_back(unit)
                    raise
            async with unit.turn:
                if unit.lost is not None:
                    await self._roll_back(unit)
                    raise StoreError(
                        f"The {self.store} rolled back a unit of work, as its transaction "
                        f"ended early: {describe(unit.lost)}."
                    ) from unit.lost
                await self._call(unit, connection.commit)
        finally:
            self._pool.release(connection)

    async def _call(self, unit: _Unit, statement: Callable[[], Awaitable[None]]) -> None:
        """Begin or commit the unit's transaction; a failure leaves it rolled back."""
        try:
            await statement()
        except (MySQLError, OSError) as error:
            unit.lost = error
            await self._roll_back(unit)
            raise StoreError(f"The {self.store} failed: {describe(error)}.") from error

    @staticmethod
    async def _roll_back(unit: _Unit) -> None:
        """Roll back; a connection in an unknown state is closed instead, which rolls back on
        the server (and the pool does not take it back)."""
        connection = unit.connection
        if unit.lost is None:
            try:
                await connection.rollback()
                return
            except (MySQLError, OSError):
                pass
        connection.close()

    @asynccontextmanager
    async def session(self) -> AsyncIterator[Session]:
        """A connection for the block.

        If the block fails, an open transaction is rolled back; a connection whose state is
        unknown (lost, or interrupted mid-statement) is closed instead of being reused.
        Driver errors leave as ``StoreError``.
        """
        unit: _Unit | None = transactions.joined(self._key)
        if unit is not None:
            async with self._in(unit) as session:
                yield session
            return
        try:
            async with self._pool.acquire() as connection:
                try:
                    yield Session(connection.cursor())
                except BaseException as error:
                    await self._recover(connection, error)
                    raise
        except (MySQLError, OSError) as error:
            raise StoreError(f"The {self.store} failed: {describe(error)}.") from error

    @asynccontextmanager
    async def _in(self, unit: _Unit) -> AsyncIterator[Session]:
        """A session on the unit's connection; what goes wrong is left to the unit's end."""
        async with unit.turn:
            if unit.lost is not None:
                raise StoreError(
                    f"The {self.store} cannot go on with a unit of work whose transaction "
                    f"ended early: {describe(unit.lost)}."
                )
            try:
                yield Session(unit.connection.cursor(), in_unit=True)
            except (MySQLError, OSError) as error:
                number = error_number(error) if isinstance(error, MySQLError) else None
                if (
                    number is None
                    or number in _CLIENT_ERRORS
                    or (number in _TRANSACTION_ENDING_ERRORS)
                ):
                    unit.lost = error
                raise StoreError(f"The {self.store} failed: {describe(error)}.") from error
            except asyncio.CancelledError as error:
                # Cut off mid-statement, the connection's state is unknown.
                unit.lost = error
                raise

    async def _recover(self, connection: Connection, error: BaseException) -> None:
        number = error_number(error) if isinstance(error, MySQLError) else None
        server_side = isinstance(error, WolkenkitError) or (
            number is not None and number not in _CLIENT_ERRORS
        )
        if server_side:
            try:
                await connection.rollback()
                return
            except MySQLError:
                pass
        connection.close()

    async def create(self, schema: Sequence[str]) -> None:
        """Run a store's ``CREATE ... IF NOT EXISTS`` statements, in order."""
        async with self.session() as session:
            for statement in schema:
                await session.execute(statement)

    async def execute(self, sql: str, args: Sequence[Any] = ()) -> int:
        async with self.session() as session:
            return await session.execute(sql, args)

    async def fetch_all(self, sql: str, args: Sequence[Any] = ()) -> Sequence[Row]:
        async with self.session() as session:
            return await session.fetch_all(sql, args)

    async def fetch_one(self, sql: str, args: Sequence[Any] = ()) -> Row | None:
        async with self.session() as session:
            return await session.fetch_one(sql, args)


async def connect(options: MariaDbOptions, store: str) -> Database:
    """A pool that has reached the server once, or ``StoreOptionsInvalid`` in one line."""
    try:
        pool = await asyncmy.create_pool(
            minsize=1,
            maxsize=_POOL_SIZE,
            host=options.host_name,
            port=options.port,
            user=options.user_name,
            password=options.password,
            database=options.database,
            charset="utf8mb4",
            # Bytes go into scripts as _binary'...' literals, never as text.
            binary_prefix=True,
            autocommit=True,
            init_command=_INIT,
            connect_timeout=5,
            stmt_cache_size=_STATEMENT_CACHE_SIZE,
        )
    except (MySQLError, OSError) as error:
        raise StoreOptionsInvalid(
            f"The {store} cannot connect to {options.host_name}:{options.port}: {describe(error)}."
        ) from None
    return Database(pool, store, options)
