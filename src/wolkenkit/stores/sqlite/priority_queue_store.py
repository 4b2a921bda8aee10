"""The SQLite priority queue store: items in one table, one row per queue in another.

Items keep their insertion order in ``sequence`` (the rowid: a new row always numbers above
every existing one). A queue's row names its head item and that item's priority, so the
queue to serve next is the first row, in ``(headPriority, headSequence)`` index order, whose
lock is missing or expired; the rows skipped on the way are the locked ones, at most one per
worker. Unlocked queues have ``lockUntil = 0`` and no token; an expired lock keeps its token
until someone locks the queue anew, so a slow holder can still finish.

An item this store enqueued is handed out as the very object it was given (the in-memory
store does the same), when the stored JSON is still what it wrote: decoding it again costs
more than the statements that lock it. Other items (of another process, or from before a
restart) are decoded.

Every operation is one ``BEGIN IMMEDIATE`` transaction. It holds SQLite's single write lock
from its first read to its commit, across connections and processes, so two workers can
never lock the same queue, and no read-modify-write sees a half-done one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

from wolkenkit.errors import ItemNotFound, ItemNotLocked, TokenMismatch
from wolkenkit.messages import new_id, now_ms
from wolkenkit.serialization import json_text
from wolkenkit.stores.priority_queue_store import (
    DEFAULT_EXPIRATION_TIME,
    DoesIdentifierMatchItem,
    IdentifierT,
    ItemT,
    LockedItem,
    LockMetadata,
    PriorityQueueStore,
    QueueStatistics,
)
from wolkenkit.stores.sqlite.database import SqliteDatabase, SqliteTables, quote
from wolkenkit.stores.sqlite.options import PriorityQueueTableNames

#: A locked item as the database hands it out: discriminator, token, item JSON.
_Locked = tuple[str, str, str]
#: How many enqueued items are kept to be handed out undecoded (most are locked soon after).
_KEPT_ITEMS = 4096


def _not_found(discriminator: str) -> ItemNotFound:
    return ItemNotFound(f"Item for discriminator '{discriminator}' not found.")


class SqlitePriorityQueueStore(SqliteTables, PriorityQueueStore[ItemT, IdentifierT]):
    """Per-discriminator FIFO queues, served lowest head priority first; items as JSON."""

    def __init__(
        self,
        database: SqliteDatabase,
        table_names: PriorityQueueTableNames,
        item_model: type[ItemT],
        does_identifier_match_item: DoesIdentifierMatchItem[ItemT, IdentifierT],
        expiration_time: int = DEFAULT_EXPIRATION_TIME,
    ) -> None:
        items = quote(table_names.items)
        queues = quote(table_names.priority_queue)
        super().__init__(
            database,
            [
                f"""CREATE TABLE IF NOT EXISTS {items} (
                    "sequence" INTEGER PRIMARY KEY,
                    "discriminator" TEXT NOT NULL,
                    "priority" INTEGER NOT NULL,
                    "item" TEXT NOT NULL
                )""",
                f"""CREATE INDEX IF NOT EXISTS {quote(table_names.items + "_queue")}
                    ON {items} ("discriminator", "sequence")""",
                f"""CREATE TABLE IF NOT EXISTS {queues} (
                    "discriminator" TEXT PRIMARY KEY,
                    "headSequence" INTEGER NOT NULL,
                    "headPriority" INTEGER NOT NULL,
                    "lockUntil" INTEGER NOT NULL DEFAULT 0,
                    "lockToken" TEXT
                ) WITHOUT ROWID""",
                f"""CREATE INDEX IF NOT EXISTS {quote(table_names.priority_queue + "_order")}
                    ON {queues} ("headPriority", "headSequence")""",
            ],
        )
        self._item_model = item_model
        #: Items enqueued here and not yet handed out, by the JSON they were stored as.
        self._enqueued: dict[str, ItemT] = {}
        self._does_identifier_match_item = does_identifier_match_item
        self._expiration_time = expiration_time
        self._insert_item = (
            f'INSERT INTO {items} ("discriminator", "priority", "item") VALUES (?, ?, ?)'
        )
        self._insert_queue = (
            f'INSERT INTO {queues} ("discriminator", "headSequence", "headPriority") '
            f'VALUES (?, ?, ?) ON CONFLICT ("discriminator") DO NOTHING'
        )
        # The next queue with its head item, in one statement.
        self._select_next = (
            f'SELECT q."discriminator", i."item" FROM {queues} AS q '
            f'JOIN {items} AS i ON i."sequence" = q."headSequence" WHERE q."lockUntil" <= ? '
            f'ORDER BY q."headPriority", q."headSequence" LIMIT 1'
        )
        self._select_queue = (
            f'SELECT "headSequence", "lockUntil", "lockToken" FROM {queues} '
            f'WHERE "discriminator" = ?'
        )
        self._lock = (
            f'UPDATE {queues} SET "lockUntil" = ?, "lockToken" = ? WHERE "discriminator" = ?'
        )
        self._select_items = (
            f'SELECT "sequence", "item" FROM {items} WHERE "discriminator" = ? ORDER BY "sequence"'
        )
        self._select_head = (
            f'SELECT "sequence", "priority" FROM {items} WHERE "discriminator" = ? '
            f'ORDER BY "sequence" LIMIT 1'
        )
        self._requeue_item = (
            f'INSERT INTO {items} ("discriminator", "priority", "item") '
            f'SELECT "discriminator", ?, "item" FROM {items} WHERE "sequence" = ?'
        )
        self._count_items = f"SELECT count(*) FROM {items}"
        self._count_items_of = f'SELECT count(*) FROM {items} WHERE "discriminator" = ?'
        self._lowest_head_priority = f'SELECT min("headPriority") FROM {queues}'
        self._delete_item = f'DELETE FROM {items} WHERE "sequence" = ?'
        # Acknowledging: the head goes if the token holds the lock (else nothing changes,
        # and the lock is looked at to say why).
        self._delete_locked_head = (
            f'DELETE FROM {items} WHERE "sequence" = (SELECT "headSequence" FROM {queues} '
            f'WHERE "discriminator" = ? AND "lockToken" = ?)'
        )
        self._delete_queue = f'DELETE FROM {queues} WHERE "discriminator" = ?'
        self._set_head = (
            f'UPDATE {queues} SET "headSequence" = ?, "headPriority" = ?, "lockUntil" = 0, '
            f'"lockToken" = NULL WHERE "discriminator" = ?'
        )

    async def enqueue(self, item: ItemT, discriminator: str, priority: int) -> None:
        text = json_text(item)

        def enqueue(connection: sqlite3.Connection) -> None:
            sequence = connection.execute(
                self._insert_item, (discriminator, priority, text)
            ).lastrowid
            # A new queue starts with this item as its head; an existing one keeps its head.
            connection.execute(self._insert_queue, (discriminator, sequence, priority))

        await self._db.write(enqueue)
        enqueued = self._enqueued
        if len(enqueued) >= _KEPT_ITEMS:
            del enqueued[next(iter(enqueued))]
        enqueued[text] = item

    async def lock_next(self) -> LockedItem[ItemT] | None:
        return self._decode(await self._db.write(self._lock_next))

    async def acknowledge_and_lock_next(
        self, discriminator: str, token: str
    ) -> LockedItem[ItemT] | None:
        # One transaction instead of two: the queue's pages are written once, not twice.
        def acknowledge_and_lock_next(connection: sqlite3.Connection) -> _Locked | None:
            self._acknowledge(connection, discriminator, token)
            return self._lock_next(connection)

        return self._decode(await self._db.write(acknowledge_and_lock_next))

    def _lock_next(self, connection: sqlite3.Connection) -> _Locked | None:
        now = now_ms()
        queue = connection.execute(self._select_next, (now,)).fetchone()
        if queue is None:
            return None
        discriminator, text = queue
        # Whoever held an expired lock loses it here: their token no longer matches.
        token = new_id()
        connection.execute(self._lock, (now + self._expiration_time, token, discriminator))
        return discriminator, token, text

    def _decode(self, locked: _Locked | None) -> LockedItem[ItemT] | None:
        if locked is None:
            return None
        discriminator, token, text = locked
        item = self._enqueued.pop(text, None)
        return LockedItem(
            item=self._item_model.model_validate_json(text) if item is None else item,
            metadata=LockMetadata(discriminator=discriminator, token=token),
        )

    async def renew_lock(self, discriminator: str, token: str) -> None:
        def renew(connection: sqlite3.Connection) -> None:
            self._check_lock(connection, discriminator, token)
            # A lock that expired but was not taken over yet is still its holder's to renew.
            until = now_ms() + self._expiration_time
            connection.execute(self._lock, (until, token, discriminator))

        await self._db.write(renew)

    async def acknowledge(self, discriminator: str, token: str) -> None:
        await self._db.write(lambda connection: self._acknowledge(connection, discriminator, token))

    def _acknowledge(self, connection: sqlite3.Connection, discriminator: str, token: str) -> None:
        if connection.execute(self._delete_locked_head, (discriminator, token)).rowcount == 0:
            self._check_lock(connection, discriminator, token)
            raise _not_found(discriminator)
        self._advance(connection, discriminator)

    async def defer(self, discriminator: str, token: str, priority: int) -> None:
        def defer(connection: sqlite3.Connection) -> None:
            head_sequence = self._check_lock(connection, discriminator, token)
            # Re-inserting numbers the item above every other, which puts it at the tail.
            connection.execute(self._requeue_item, (priority, head_sequence))
            connection.execute(self._delete_item, (head_sequence,))
            self._advance(connection, discriminator)

        await self._db.write(defer)

    async def remove(self, discriminator: str, item_identifier: IdentifierT) -> None:
        def remove(connection: sqlite3.Connection) -> None:
            queue = connection.execute(self._select_queue, (discriminator,)).fetchone()
            if queue is None:
                raise _not_found(discriminator)
            head_sequence, lock_until, lock_token = queue
            sequence = self._find(connection, discriminator, item_identifier)
            if sequence is None:
                raise _not_found(discriminator)
            is_head = sequence == head_sequence
            if is_head and lock_token is not None and lock_until > now_ms():
                # The head is being processed; removing it would pull it from under its worker.
                raise ItemNotFound(f"Item for discriminator '{discriminator}' is being processed.")
            connection.execute(self._delete_item, (sequence,))
            if is_head:
                # An expired lock goes with the head, so its holder cannot acknowledge the
                # next item.
                self._advance(connection, discriminator)

        await self._db.write(remove)

    async def statistics(self, discriminators: Sequence[str] = ()) -> QueueStatistics:
        def read(connection: sqlite3.Connection) -> QueueStatistics:
            (size,) = connection.execute(self._count_items).fetchone()
            (lowest,) = connection.execute(self._lowest_head_priority).fetchone()
            sizes = {
                name: connection.execute(self._count_items_of, (name,)).fetchone()[0]
                for name in discriminators
            }
            return QueueStatistics(size=size, lowest_head_priority=lowest, sizes=sizes)

        return await self._db.read(read)

    def _find(
        self, connection: sqlite3.Connection, discriminator: str, item_identifier: IdentifierT
    ) -> int | None:
        """The sequence of the queue's first item that the identifier matches."""
        cursor = connection.execute(self._select_items, (discriminator,))
        try:
            for sequence, text in cursor:
                item = self._item_model.model_validate_json(text)
                if self._does_identifier_match_item(item, item_identifier):
                    result: int = sequence
                    return result
            return None
        finally:
            cursor.close()

    def _check_lock(self, connection: sqlite3.Connection, discriminator: str, token: str) -> int:
        """The head's sequence, if ``token`` holds the queue's lock."""
        queue: tuple[Any, ...] | None = connection.execute(
            self._select_queue, (discriminator,)
        ).fetchone()
        if queue is None:
            raise _not_found(discriminator)
        head_sequence, _, lock_token = queue
        if lock_token is None:
            raise ItemNotLocked(f"Item for discriminator '{discriminator}' not locked.")
        if lock_token != token:
            raise TokenMismatch(f"Token mismatch for discriminator '{discriminator}'.")
        result: int = head_sequence
        return result

    def _advance(self, connection: sqlite3.Connection, discriminator: str) -> None:
        """After the head left: rank the queue by its new head, unlocked, or drop it if empty."""
        head = connection.execute(self._select_head, (discriminator,)).fetchone()
        if head is None:
            connection.execute(self._delete_queue, (discriminator,))
        else:
            connection.execute(self._set_head, (*head, discriminator))
