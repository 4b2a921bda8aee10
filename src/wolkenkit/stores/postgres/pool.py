"""A lean pool of asyncpg connections.

asyncpg's own pool returns every connection through a shielded task, which costs an extra turn
of the event loop per statement: about 40 µs, as much as a simple query takes on its own. The
stores run one short statement per call on their hot paths (a command loads and appends with
four), so this pool hands connections out and takes them back without awaiting anything.

A connection comes back to the idle list only in a known state: open and outside any
transaction. One whose query was cancelled qualifies, because asyncpg finishes the cancellation
before the connection's next statement. One that met a network or protocol error is closed in
the background, and a new connection is opened when next needed.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from types import TracebackType
from typing import Any

import asyncpg

from wolkenkit.errors import StoreError

Connect = Callable[[], Awaitable[asyncpg.Connection]]

#: Errors after which a connection's protocol state is unknown, so it is not used again.
_POISONING_ERRORS = (asyncpg.InterfaceError, OSError, TimeoutError)
#: Seconds a discarded connection gets to say goodbye to the server before it is cut.
_CLOSE_TIMEOUT = 5.0


class ConnectionPool:
    """At most ``size`` connections, opened on demand and reused last-in, first-out."""

    def __init__(self, connect: Connect, size: int, store: str) -> None:
        self._connect = connect
        self._size = size
        self._store = store
        self._idle: list[asyncpg.Connection] = []
        self._open = 0
        self._waiters: deque[asyncio.Future[asyncpg.Connection | None]] = deque()
        self._closing: set[asyncio.Task[None]] = set()
        self._closed = False

    async def start(self) -> None:
        """Open the first connection, so that an unreachable server fails right away."""
        self.release(await self._new_connection())

    def acquire(self) -> Lease:
        """``async with pool.acquire() as connection:``"""
        return Lease(self)

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

    async def executemany(self, query: str, arguments: list[tuple[Any, ...]]) -> None:
        """The statement once per tuple of arguments, in one transaction."""
        await self._run("executemany", query, (arguments,))

    async def _run(self, method: str, query: str, arguments: tuple[Any, ...]) -> Any:
        """One statement on a borrowed connection; the connection method is named."""
        connection = await self.get()
        try:
            result = await getattr(connection, method)(query, *arguments)
        except BaseException as error:
            self.release(connection, error)
            raise
        self.release(connection)
        return result

    async def get(self) -> asyncpg.Connection:
        """Borrow a connection: an idle one, a new one while below the limit, or the next one
        that comes back. Give it back with :meth:`release`."""
        while True:
            if self._closed:
                raise StoreError(f"The {self._store} has been destroyed.")
            while self._idle:
                connection = self._idle.pop()
                if not connection.is_closed():
                    return connection
                self._open -= 1
            if self._open < self._size:
                return await self._new_connection()
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
            try:
                connection_or_none: asyncpg.Connection | None = await waiter
            except asyncio.CancelledError:
                if waiter.done() and not waiter.cancelled():
                    # Woken just as the wait was cancelled: pass the connection, or the room
                    # for one, on to the next in line.
                    handed = waiter.result()
                    if handed is None:
                        self._wake(None)
                    else:
                        self.release(handed)
                raise
            if connection_or_none is not None:
                return connection_or_none
            # A connection was dropped instead of returned, which frees room for a new one.

    def release(self, connection: asyncpg.Connection, error: BaseException | None = None) -> None:
        """Take a connection back; never awaits, so it is safe in any ``finally``."""
        if (
            self._closed
            or connection.is_closed()
            or connection.is_in_transaction()
            or isinstance(error, _POISONING_ERRORS)
        ):
            task = asyncio.ensure_future(self._discard(connection))
            self._closing.add(task)
            task.add_done_callback(self._closing.discard)
            return
        if not self._wake(connection):
            self._idle.append(connection)

    async def _discard(self, connection: asyncpg.Connection) -> None:
        # A graceful close lets the server end its side (and roll back) right away; a merely
        # dropped socket would leave a running statement to finish first.
        try:
            await connection.close(timeout=_CLOSE_TIMEOUT)
        except (*_POISONING_ERRORS, asyncpg.PostgresError):
            connection.terminate()
        finally:
            self._open -= 1
            self._wake(None)

    def _wake(self, connection: asyncpg.Connection | None) -> bool:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(connection)
                return True
        return False

    async def _new_connection(self) -> asyncpg.Connection:
        self._open += 1
        try:
            return await self._connect()
        except BaseException:
            self._open -= 1
            self._wake(None)
            raise

    async def close(self) -> None:
        """Close idle connections now; connections in use are closed when they come back."""
        self._closed = True
        idle, self._idle = self._idle, []
        for connection in idle:
            self.release(connection)
        await asyncio.gather(*self._closing)
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)


class Lease:
    """A connection borrowed from the pool for the body of an ``async with``."""

    __slots__ = ("_connection", "_pool")

    def __init__(self, pool: ConnectionPool) -> None:
        self._pool = pool
        self._connection: asyncpg.Connection | None = None

    async def __aenter__(self) -> asyncpg.Connection:
        self._connection = await self._pool.get()
        return self._connection

    async def __aexit__(
        self,
        error_type: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if self._connection is not None:
            self._pool.release(self._connection, error)
            self._connection = None
