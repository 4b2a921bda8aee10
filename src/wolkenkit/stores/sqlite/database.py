"""One SQLite database file as the stores use it: a connection, transactions, and lock waits.

Every operation is a synchronous function of the connection that runs to completion on the
event loop in one go, so a transaction never stays open across an ``await``. SQLite's own
busy handler is off (``busy_timeout = 0``) while serving: when another connection holds the
write lock, the attempt fails at once, is rolled back, and is retried after an asynchronous
sleep, so waiting for a lock never blocks the event loop. Only opening a file waits
synchronously, once, at start-up.

Group commit. A commit appends every page it changed to the WAL, whole, however little of it
changed: a command's handful of one-row writes (queue, events, progress) rewrote the same
few table and index pages again and again, ~120 KB per command. So writes are not run when
they are called but at the end of the event loop's turn, all that were called meanwhile in
one transaction, each in a savepoint of its own: a page that several of them change is
written once. Each caller still gets its own outcome, a work that raises is rolled back
alone, and every caller returns only after the COMMIT that holds its work.
"""

from __future__ import annotations

import asyncio
import os
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from wolkenkit.errors import StoreError, StoreOptionsInvalid

T = TypeVar("T")

MEMORY = ":memory:"
#: How long (seconds) an operation waits for another connection's write lock before failing.
BUSY_TIMEOUT = 10.0
_FIRST_RETRY_DELAY = 0.0005
_LONGEST_RETRY_DELAY = 0.01

Work = Callable[[sqlite3.Connection], T]


def quote(name: str) -> str:
    """An identifier for SQL: table names contain dashes, and may contain quotes."""
    return '"' + name.replace('"', '""') + '"'


def _is_busy(error: sqlite3.Error) -> bool:
    # Extended codes (BUSY_RECOVERY, BUSY_SNAPSHOT, ...) keep SQLITE_BUSY in the low byte.
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and code & 0xFF == sqlite3.SQLITE_BUSY


@dataclass(slots=True)
class _Write:
    work: Work[Any]
    answer: asyncio.Future[Any]


@dataclass(slots=True)
class _Writes:
    """The writes of one event loop that wait for their transaction."""

    waiting: list[_Write] = field(default_factory=list)
    #: Whether a commit of what waits is scheduled.
    scheduled: bool = False
    #: While another connection holds the write lock: when to give up, and the next wait.
    deadline: float | None = None
    delay: float = _FIRST_RETRY_DELAY


class _TransactionLost(Exception):
    """A work's error ended the whole transaction (SQLite rolls back on some I/O errors):
    the works before it were undone too."""

    def __init__(self, index: int, error: Exception) -> None:
        super().__init__(str(error))
        self.index = index
        self.error = error


class SqliteDatabase:
    """A connection to one database file (or to a private in-memory database).

    ``write`` runs its work inside ``BEGIN IMMEDIATE``: the write lock is taken before the
    first read, so a read-modify-write cannot be overtaken by another connection or process.
    A threading lock lets threads share the connection; within one thread it is never
    contended. Writes are grouped per event loop.
    """

    def __init__(self, file_name: str, description: str = "SQLite store") -> None:
        """Open the file (creating it and its folder if needed); ``description`` names the
        store in the error raised when that fails."""
        self.file_name = file_name
        #: Set while the database is shared through ``open_shared``.
        self.shared_key: str | None = None
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = _connect(file_name, description)
        self._writes: dict[asyncio.AbstractEventLoop, _Writes] = {}

    def close(self) -> None:
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None

    async def write(self, work: Work[T]) -> T:
        """Run ``work`` in a write transaction: committed if it returns, rolled back if it
        raises; returns (or raises) once that is done. The transaction may hold other
        callers' works too (see the module's description). ``work`` may run more than once,
        so it must change nothing but the database."""
        loop = asyncio.get_running_loop()
        writes = self._writes.get(loop)
        if writes is None:
            writes = self._writes[loop] = _Writes()
        answer: asyncio.Future[T] = loop.create_future()
        writes.waiting.append(_Write(work, answer))
        if not writes.scheduled:
            writes.scheduled = True
            # Run after the callbacks that are ready now, so that theirs join this one.
            loop.call_soon(self._commit_waiting, loop, writes)
        # A caller cancelled before its turn cancels the answer: its work is left out.
        return await answer

    async def read(self, work: Work[T]) -> T:
        """Run ``work`` in a read transaction, which sees one consistent snapshot."""
        return await self._run(work, "BEGIN")

    async def fetch_all(self, sql: str, parameters: tuple[Any, ...] = ()) -> list[Any]:
        """The rows of one query."""
        return await self.read(lambda connection: connection.execute(sql, parameters).fetchall())

    def _commit_waiting(self, loop: asyncio.AbstractEventLoop, writes: _Writes) -> None:
        writes.scheduled = False
        group = [write for write in writes.waiting if not write.answer.done()]
        writes.waiting.clear()
        try:
            outcomes = self._commit_group([write.work for write in group])
        except _TransactionLost as lost:
            # Only its own caller gets the error; the others go again, in a new transaction.
            self._answer(group.pop(lost.index), _Failed(lost.error))
            self._retry(loop, writes, group, 0.0)
            return
        except sqlite3.Error as error:
            if _is_busy(error):
                self._wait_for_lock(loop, writes, group)
                return
            outcomes = [_Failed(error)] * len(group)
        except Exception as error:
            outcomes = [_Failed(error)] * len(group)
        except BaseException:
            for write in group:
                write.answer.cancel()
            raise
        else:
            writes.deadline = None
            writes.delay = _FIRST_RETRY_DELAY
        for write, outcome in zip(group, outcomes, strict=True):
            self._answer(write, outcome)
        if not writes.waiting and not writes.scheduled:
            del self._writes[loop]

    def _answer(self, write: _Write, outcome: Any) -> None:
        if write.answer.done():
            return
        if isinstance(outcome, _Failed):
            write.answer.set_exception(self._failure(outcome.error))
        else:
            write.answer.set_result(outcome)

    def _wait_for_lock(
        self, loop: asyncio.AbstractEventLoop, writes: _Writes, group: list[_Write]
    ) -> None:
        """Another connection holds the write lock: try again after a short sleep, with the
        writes that arrive meanwhile, or fail them all once it has been held too long."""
        now = time.monotonic()
        if writes.deadline is None:
            writes.deadline = now + BUSY_TIMEOUT
        elif now >= writes.deadline:
            writes.deadline = None
            writes.delay = _FIRST_RETRY_DELAY
            failure = StoreError(
                f"The SQLite database '{self.file_name}' stayed locked by another "
                f"connection for {BUSY_TIMEOUT:g} s."
            )
            for write in (*group, *writes.waiting):
                self._answer(write, _Failed(failure))
            writes.waiting.clear()
            del self._writes[loop]
            return
        # Jitter keeps competing processes from retrying in lockstep.
        delay = writes.delay * random.uniform(0.5, 1.5)
        writes.delay = min(writes.delay * 2, _LONGEST_RETRY_DELAY)
        self._retry(loop, writes, group, delay)

    def _retry(
        self,
        loop: asyncio.AbstractEventLoop,
        writes: _Writes,
        group: list[_Write],
        delay: float,
    ) -> None:
        writes.waiting[:0] = group
        if not writes.scheduled:
            writes.scheduled = True
            loop.call_later(delay, self._commit_waiting, loop, writes)

    def _commit_group(self, works: list[Work[Any]]) -> list[Any]:
        """Run the works in one transaction; each one's result, or the exception it raised
        (and the changes it made undone). Raises only what fails the whole transaction."""
        alone = len(works) == 1
        with self._lock:
            connection = self._connection
            if connection is None:
                raise StoreError(f"The SQLite database '{self.file_name}' is closed.")
            connection.execute("BEGIN IMMEDIATE")
            try:
                outcomes = [
                    _run_work(connection, work, index, alone) for index, work in enumerate(works)
                ]
                if all(isinstance(outcome, _Failed) for outcome in outcomes):
                    connection.execute("ROLLBACK")
                else:
                    connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
        return outcomes

    def _failure(self, error: Exception) -> Exception:
        if isinstance(error, sqlite3.Error):
            failure = StoreError(f"The SQLite database '{self.file_name}' failed: {error}.")
            failure.__cause__ = error
            return failure
        return error

    async def _run(self, work: Work[T], begin: str) -> T:
        deadline: float | None = None
        delay = _FIRST_RETRY_DELAY
        while True:
            try:
                return self._attempt(work, begin)
            except sqlite3.Error as error:
                if not _is_busy(error):
                    raise StoreError(
                        f"The SQLite database '{self.file_name}' failed: {error}."
                    ) from error
            now = time.monotonic()
            if deadline is None:
                deadline = now + BUSY_TIMEOUT
            elif now >= deadline:
                raise StoreError(
                    f"The SQLite database '{self.file_name}' stayed locked by another "
                    f"connection for {BUSY_TIMEOUT:g} s."
                )
            # Jitter keeps competing processes from retrying in lockstep.
            await asyncio.sleep(delay * random.uniform(0.5, 1.5))
            delay = min(delay * 2, _LONGEST_RETRY_DELAY)

    def _attempt(self, work: Work[T], begin: str) -> T:
        with self._lock:
            connection = self._connection
            if connection is None:
                raise StoreError(f"The SQLite database '{self.file_name}' is closed.")
            connection.execute(begin)
            try:
                result = work(connection)
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
            return result


@dataclass(slots=True)
class _Failed:
    error: Exception


_SAVEPOINT = "SAVEPOINT work"
_RELEASE = "RELEASE work"
_ROLLBACK_TO = "ROLLBACK TO work"


def _run_work(connection: sqlite3.Connection, work: Work[Any], index: int, alone: bool) -> Any:
    """The work's result, or ``_Failed`` with what it raised and its changes undone. A lone
    work needs no savepoint: the transaction is rolled back when it fails."""
    if not alone:
        connection.execute(_SAVEPOINT)
    try:
        result = work(connection)
    except Exception as error:
        if isinstance(error, sqlite3.Error) and _is_busy(error):
            raise
        if not connection.in_transaction:
            raise _TransactionLost(index, error) from error
        if not alone:
            connection.execute(_ROLLBACK_TO)
            connection.execute(_RELEASE)
        return _Failed(error)
    if not alone:
        connection.execute(_RELEASE)
    return result


def _connect(file_name: str, description: str) -> sqlite3.Connection:
    try:
        if file_name != MEMORY:
            Path(file_name).parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(
            file_name,
            isolation_level=None,  # we issue BEGIN and COMMIT ourselves
            check_same_thread=False,  # guarded by SqliteDatabase._lock instead
            timeout=BUSY_TIMEOUT,  # at start-up only; see below
            cached_statements=256,
        )
    except (OSError, sqlite3.Error) as error:
        raise StoreOptionsInvalid(f"The {description} cannot open {file_name}: {error}.") from None
    try:
        # WAL lets readers and the one writer proceed side by side, across processes. With
        # synchronous=NORMAL a commit is written to the WAL but not fsynced: a crashed or
        # killed process loses nothing it committed; only a power cut or OS crash may take
        # the last commits (never consistency). FULL would fsync every commit, which costs
        # milliseconds per command on real disks.
        connection.execute("PRAGMA journal_mode = WAL").fetchall()
        connection.execute("PRAGMA synchronous = NORMAL")
        # After a checkpoint, shrink a WAL that a burst of writes made large.
        connection.execute("PRAGMA journal_size_limit = 67108864")
        connection.execute("PRAGMA busy_timeout = 0")
    except sqlite3.Error as error:
        connection.close()
        raise StoreOptionsInvalid(f"The {description} cannot open {file_name}: {error}.") from None
    return connection


class _Shared:
    __slots__ = ("database", "users")

    def __init__(self, database: SqliteDatabase) -> None:
        self.database = database
        self.users = 0


_registry: dict[str, _Shared] = {}
_registry_lock = threading.Lock()


def open_shared(file_name: str, description: str) -> SqliteDatabase:
    """The process's database for ``file_name``, opened on first use.

    Stores of one file share a connection: switching connections after another one wrote
    discards SQLite's page cache, which costs more per command than the statements
    themselves. ``:memory:`` is one database for the whole process this way.
    """
    key = file_name if file_name == MEMORY else os.path.realpath(file_name)
    with _registry_lock:
        shared = _registry.get(key)
        if shared is None:
            shared = _registry[key] = _Shared(SqliteDatabase(file_name, description))
            shared.database.shared_key = key
        shared.users += 1
        return shared.database


def release(database: SqliteDatabase) -> None:
    """Give back a database: one from ``open_shared`` closes with its last user, any other
    one at once (a store owns a database it was given)."""
    key = database.shared_key
    if key is not None:
        with _registry_lock:
            shared = _registry.get(key)
            if shared is not None and shared.database is database:
                shared.users -= 1
                if shared.users > 0:
                    return
                del _registry[key]
    database.close()


def add_column(table: str, column: str, definition: str) -> Work[None]:
    """A step of a schema that adds a column to a table created before the column existed
    (SQLite has no ``ADD COLUMN IF NOT EXISTS``); ``table`` is quoted already."""

    def add(connection: sqlite3.Connection) -> None:
        columns = {row[1] for row in connection.execute(f"PRAGMA table_info({table})")}
        if column not in columns:
            connection.execute(f"ALTER TABLE {table} ADD COLUMN {quote(column)} {definition}")

    return add


class SqliteTables:
    """What every SQLite store shares: its database and the schema that ``setup`` creates:
    statements, or steps that look before they change (``add_column``)."""

    def __init__(self, database: SqliteDatabase, schema: Sequence[str | Work[None]]) -> None:
        self._db = database
        self._schema = schema
        self._destroyed = False

    async def setup(self) -> None:
        """Create the tables and indexes; idempotent."""

        def create(connection: sqlite3.Connection) -> None:
            for step in self._schema:
                if isinstance(step, str):
                    connection.execute(step)
                else:
                    step(connection)

        await self._db.write(create)

    async def destroy(self) -> None:
        """Give the database back; the last store of a shared one closes it."""
        if not self._destroyed:
            self._destroyed = True
            release(self._db)
