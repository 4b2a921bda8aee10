"""The journal of a queue that one process owns (``wolkenkit.stores.journaled_queue``), in SQLite.

One table, keyed by the rowid: an accepted item is appended at its end and deleted once done,
so a commit touches one B-tree where the shared queue (``priority_queue_store``) touches four,
and locking and acknowledging write nothing at all. Deletions are batched: one statement for
all the items done since the last one.

One process at a time: ``setup`` takes an exclusive ``flock`` on a file beside the database
(``<file>-<table>.owner``), which the kernel releases when the process ends, however it ends.

Items that the shared queue of the same table names holds (queued by an earlier version, or
by another process such as a ``wk replay`` beside the runtime) move into the journal at
``setup``, and later whenever the queue looks (``take_over``), so nothing queued there is
left behind.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import os
import sqlite3
from collections.abc import Callable
from typing import IO

from pydantic import BaseModel

from wolkenkit.errors import StoreError
from wolkenkit.serialization import json_text
from wolkenkit.stores.journaled_queue import JournalEntry, QueueJournal
from wolkenkit.stores.sqlite.database import MEMORY, SqliteDatabase, SqliteTables, quote
from wolkenkit.stores.sqlite.options import PriorityQueueTableNames
from wolkenkit.stores.transactions import SharedDatabase

try:
    import fcntl
except ImportError:  # pragma: no cover - not on Windows; there the guard is left out
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)


def journal_table(table_names: PriorityQueueTableNames) -> str:
    """The journal's table, named after the queue's items table."""
    return f"{table_names.items}-journal"


def owner_file(file_name: str, table_names: PriorityQueueTableNames) -> str:
    """The file whose lock says which process owns the journal of these tables."""
    return f"{os.path.realpath(file_name)}-{journal_table(table_names)}.owner"


def is_owned(file_name: str, table_names: PriorityQueueTableNames) -> bool:
    """Whether a running process owns the journal of these tables in ``file_name``."""
    if fcntl is None:
        return False
    try:
        probe = open(owner_file(file_name, table_names), "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        return False
    with probe:
        try:
            fcntl.flock(probe.fileno(), fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        except OSError:
            return False
        fcntl.flock(probe.fileno(), fcntl.LOCK_UN)
    return False


class SqliteQueueJournal(SqliteTables, QueueJournal):
    """Accepted items as rows of (position, discriminator, priority, item JSON)."""

    def __init__(self, database: SqliteDatabase, table_names: PriorityQueueTableNames) -> None:
        name = journal_table(table_names)
        journal = quote(name)
        super().__init__(
            database,
            [
                f"""CREATE TABLE IF NOT EXISTS {journal} (
                    "position" INTEGER PRIMARY KEY,
                    "discriminator" TEXT NOT NULL,
                    "priority" INTEGER NOT NULL,
                    "item" TEXT NOT NULL
                )""",
                self._take_over_at_setup,
            ],
        )
        self._holds_items = _holds_items(quote(table_names.items))
        self._take_over = _take_over(table_names, journal, self._holds_items)
        self._owner_file = (
            None if database.file_name == MEMORY else owner_file(database.file_name, table_names)
        )
        self._owner: IO[bytes] | None = None
        self._insert = (
            f'INSERT INTO {journal} ("discriminator", "priority", "item") VALUES (?, ?, ?)'
        )
        self._delete = f'DELETE FROM {journal} WHERE "position" = ?'
        self._select = (
            f'SELECT "position", "discriminator", "priority", "item" FROM {journal} '
            'ORDER BY "position"'
        )
        #: Positions done but not yet deleted, and the task that deletes them.
        self._removed: list[int] = []
        self._deleting: asyncio.Task[None] | None = None

    async def setup(self) -> None:
        self._own()
        try:
            await super().setup()
        except BaseException:
            self._disown()
            raise

    async def destroy(self) -> None:
        try:
            if self._deleting is not None:
                await self._deleting
            await self._delete_removed()
        finally:
            self._disown()
            await super().destroy()

    def _take_over_at_setup(self, connection: sqlite3.Connection) -> None:
        # (``entries`` reads what it moved, with everything else the journal holds.)
        self._take_over(connection)

    async def take_over(self) -> list[JournalEntry]:
        if not await self._db.read(self._holds_items):
            return []
        return await self._db.write(self._take_over)

    async def entries(self) -> list[JournalEntry]:
        rows = await self._db.fetch_all(self._select)
        return [JournalEntry(*row) for row in rows]

    async def append(
        self, item: BaseModel, discriminator: str, priority: int, then: Callable[[int], None]
    ) -> None:
        parameters = (discriminator, priority, json_text(item))

        def insert(connection: sqlite3.Connection) -> int:
            position = connection.execute(self._insert, parameters).lastrowid
            assert position is not None  # an INSERT into a rowid table always has one
            return position

        position = await self._db.write(insert)
        if not self._db.after_commit(lambda: then(position)):
            then(position)

    @property
    def shared_database(self) -> SharedDatabase:
        return self._db

    def after_commit(self, callback: Callable[[], None]) -> bool:
        return self._db.after_commit(callback)

    def in_unit_of_work(self) -> bool:
        return self._db.in_unit_of_work()

    def remove(self, position: int) -> None:
        if not self._db.after_commit(lambda: self._remove_soon(position)):
            self._remove_soon(position)

    def _remove_soon(self, position: int) -> None:
        self._removed.append(position)
        if self._deleting is None:
            # Not in the caller's context: a unit of work it may be in is none of this.
            self._deleting = asyncio.get_running_loop().create_task(
                self._delete_removed(), context=contextvars.Context()
            )

    async def _delete_removed(self) -> None:
        try:
            while self._removed:
                positions, self._removed = self._removed, []
                try:
                    await self._db.write(self._deleting_rows(positions))
                except Exception:
                    # They are queued again at the next start, and recognised as done then.
                    logger.exception(
                        "Deleting %d done items from the journal failed.", len(positions)
                    )
        finally:
            self._deleting = None

    def _deleting_rows(self, positions: list[int]) -> Callable[[sqlite3.Connection], None]:
        rows = [(position,) for position in positions]

        def delete(connection: sqlite3.Connection) -> None:
            connection.executemany(self._delete, rows)

        return delete

    def _own(self) -> None:
        if self._owner_file is None or fcntl is None:
            return
        owner = open(self._owner_file, "ab")  # noqa: SIM115 - held until ``destroy``
        try:
            fcntl.flock(owner.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as error:
            owner.close()
            if not isinstance(error, BlockingIOError):
                # A file system without locks (some network mounts): run without the guard.
                logger.warning(
                    "Cannot lock %s (%s); nothing keeps a second process off the queue.",
                    self._owner_file,
                    error,
                )
                return
            raise StoreError(
                f"Another runtime uses {self._db.file_name} (it holds {self._owner_file}): a "
                "single-process runtime keeps its queue of commands to itself. Stop that one "
                "first."
            ) from None
        self._owner = owner

    def _disown(self) -> None:
        owner, self._owner = self._owner, None
        if owner is not None:
            # The file stays: deleting it would let two processes lock two different files.
            owner.close()


def _take_over(
    table_names: PriorityQueueTableNames,
    journal: str,
    holds_items: Callable[[sqlite3.Connection], bool],
) -> Callable[[sqlite3.Connection], list[JournalEntry]]:
    """Move what the shared queue of these tables holds into the journal; the entries added."""
    items, queues = quote(table_names.items), quote(table_names.priority_queue)

    def take_over(connection: sqlite3.Connection) -> list[JournalEntry]:
        # (The shared queue makes its two tables together.)
        if not holds_items(connection):
            return []
        last = connection.execute(f'SELECT max("position") FROM {journal}').fetchone()[0]
        moved = connection.execute(
            f'INSERT INTO {journal} ("discriminator", "priority", "item") '
            f'SELECT "discriminator", "priority", "item" FROM {items} ORDER BY "sequence"'
        ).rowcount
        connection.execute(f"DELETE FROM {items}")
        connection.execute(f"DELETE FROM {queues}")
        logger.info("Moved %d queued items of %s into its journal.", moved, items)
        rows = connection.execute(
            f'SELECT "position", "discriminator", "priority", "item" FROM {journal} '
            'WHERE "position" > ? ORDER BY "position"',
            (last or 0,),
        )
        return [JournalEntry(*row) for row in rows]

    return take_over


def _holds_items(items: str) -> Callable[[sqlite3.Connection], bool]:
    """Whether the shared queue's items table exists and holds anything."""

    def holds(connection: sqlite3.Connection) -> bool:
        try:
            return connection.execute(f"SELECT 1 FROM {items} LIMIT 1").fetchone() is not None
        except sqlite3.OperationalError:
            # No such table: no other process ever used the shared queue here.
            return False

    return holds
