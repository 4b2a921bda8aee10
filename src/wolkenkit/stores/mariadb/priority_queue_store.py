"""The MariaDB/MySQL priority queue store, shared by competing workers in many processes.

Two tables: ``<priorityQueue>`` has one row per non-empty queue (its discriminator, the
priority of its head item, and its lock), ``<items>`` the queued items, FIFO per
discriminator by an AUTO_INCREMENT id.

Concurrency rests on InnoDB row locks, in READ COMMITTED:

- Every operation on a queue first locks that queue's row (``FOR UPDATE``, or the
  ``INSERT ... ON DUPLICATE KEY UPDATE`` of ``enqueue``) and keeps it until its transaction
  commits, so operations on one discriminator are serial across all connections, and a queue
  row exists exactly while the queue has items.
- ``lock_next`` picks the ready queue with the lowest head priority with ``FOR UPDATE SKIP
  LOCKED``, walking the priority index: a queue another worker is locking right now is
  skipped, not waited for, and the lock is written in the same transaction. Two workers can
  therefore never hold the same discriminator, and none of them blocks another.

Each operation is one or two round trips: statements travel together as scripts, transactions
begin and end inside them. Times are this process's clock, as in the reference.
"""

from __future__ import annotations

from collections.abc import Sequence

from wolkenkit.errors import ItemNotFound, ItemNotLocked, TokenMismatch
from wolkenkit.messages import new_id, now_ms
from wolkenkit.stores.mariadb.database import Database, Row, Session, Statement, quote
from wolkenkit.stores.mariadb.options import PriorityQueueTableNames
from wolkenkit.stores.priority_queue_store import (
    DEFAULT_EXPIRATION_TIME,
    DoesIdentifierMatchItem,
    IdentifierT,
    ItemT,
    LockedItem,
    LockMetadata,
    PriorityQueueStore,
)

_BEGIN: Statement = ("START TRANSACTION", ())
_COMMIT: Statement = ("COMMIT", ())


def _not_found(discriminator: str) -> ItemNotFound:
    return ItemNotFound(f"Item for discriminator '{discriminator}' not found.")


class MariaDbPriorityQueueStore(PriorityQueueStore[ItemT, IdentifierT]):
    """Per-discriminator FIFO queues, served lowest head priority first."""

    def __init__(
        self,
        database: Database,
        table_names: PriorityQueueTableNames,
        item_model: type[ItemT],
        does_identifier_match_item: DoesIdentifierMatchItem[ItemT, IdentifierT],
        expiration_time: int = DEFAULT_EXPIRATION_TIME,
    ) -> None:
        self._database = database
        self._item_model = item_model
        self._does_identifier_match_item = does_identifier_match_item
        self._expiration_time = expiration_time
        self._queues = queues = quote(table_names.priority_queue)
        self._items = items = quote(table_names.items)
        self._schema = [
            f"""CREATE TABLE IF NOT EXISTS {queues} (
                `discriminator` VARCHAR(255) NOT NULL PRIMARY KEY,
                `headPriority` BIGINT NOT NULL,
                `lockUntil` BIGINT NULL,
                `lockToken` CHAR(36) CHARACTER SET ascii NULL,
                KEY `headPriority` (`headPriority`)
            ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin""",
            f"""CREATE TABLE IF NOT EXISTS {items} (
                `id` BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
                `discriminator` VARCHAR(255) NOT NULL,
                `priority` BIGINT NOT NULL,
                `item` JSON NOT NULL,
                KEY `discriminator` (`discriminator`, `id`)
            ) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin""",
        ]
        self._lock_queue = (
            f"SELECT `lockToken`, `lockUntil` FROM {queues} WHERE `discriminator` = %s FOR UPDATE"
        )
        select = f"FROM {items} WHERE `discriminator` = %s ORDER BY `id`"
        self._head = f"SELECT `item` {select} LIMIT 1"
        self._first_two = f"SELECT `id`, `priority` {select} LIMIT 2"
        self._all = f"SELECT `id`, `priority`, `item` {select}"

    async def setup(self) -> None:
        await self._database.create(self._schema)

    async def destroy(self) -> None:
        await self._database.close()

    async def enqueue(self, item: ItemT, discriminator: str, priority: int) -> None:
        # Locking (or creating) the queue row first orders this after any operation that
        # might be about to delete the queue as empty.
        async with self._database.session() as session:
            await session.script(
                _BEGIN,
                (
                    f"INSERT INTO {self._queues} (`discriminator`, `headPriority`) "
                    "VALUES (%s, %s) ON DUPLICATE KEY UPDATE `headPriority` = `headPriority`",
                    (discriminator, priority),
                ),
                (
                    f"INSERT INTO {self._items} (`discriminator`, `priority`, `item`) "
                    "VALUES (%s, %s, %s)",
                    (discriminator, priority, item.model_dump_json()),
                ),
                _COMMIT,
            )

    async def lock_next(self) -> LockedItem[ItemT] | None:
        async with self._database.session() as session:
            now = now_ms()
            results = await session.script(
                _BEGIN,
                (
                    f"SELECT `discriminator` FROM {self._queues} FORCE INDEX (`headPriority`) "
                    "WHERE `lockUntil` IS NULL OR `lockUntil` <= %s "
                    "ORDER BY `headPriority` LIMIT 1 FOR UPDATE SKIP LOCKED",
                    (now,),
                ),
            )
            if not results[1]:
                await session.execute("COMMIT")
                return None
            discriminator: str = results[1][0][0]
            token = new_id()
            results = await session.script(
                (self._head, (discriminator,)),
                (
                    f"UPDATE {self._queues} SET `lockUntil` = %s, `lockToken` = %s "
                    "WHERE `discriminator` = %s",
                    (now + self._expiration_time, token, discriminator),
                ),
                _COMMIT,
            )
        if not results[0]:
            # A queue without items breaks the tables' invariant (someone edited them); drop
            # it rather than let it block the queues behind it.
            await self._database.execute(
                f"DELETE FROM {self._queues} WHERE `discriminator` = %s AND NOT EXISTS "
                f"(SELECT 1 FROM {self._items} WHERE `discriminator` = %s)",
                (discriminator, discriminator),
            )
            return await self.lock_next()
        item = self._item_model.model_validate_json(results[0][0][0])
        return LockedItem(item=item, metadata=LockMetadata(discriminator, token))

    async def renew_lock(self, discriminator: str, token: str) -> None:
        # A lock that expired but was not taken over is still its holder's to renew.
        changed = await self._database.execute(
            f"UPDATE {self._queues} SET `lockUntil` = %s "
            "WHERE `discriminator` = %s AND `lockToken` = %s",
            (now_ms() + self._expiration_time, discriminator, token),
        )
        if changed == 0:
            row = await self._database.fetch_one(
                f"SELECT `lockToken` FROM {self._queues} WHERE `discriminator` = %s",
                (discriminator,),
            )
            # Renewed twice within a millisecond, the row stays the same: no error then.
            _check_token(discriminator, row, token)

    async def acknowledge(self, discriminator: str, token: str) -> None:
        async with self._database.session() as session:
            head, following = await self._locked_head(session, discriminator, token)
            await session.script(
                (f"DELETE FROM {self._items} WHERE `id` = %s", (head[0],)),
                self._unlock(discriminator, following[1] if following else None),
                _COMMIT,
            )

    async def defer(self, discriminator: str, token: str, priority: int) -> None:
        async with self._database.session() as session:
            head, following = await self._locked_head(session, discriminator, token)
            await session.script(
                # A new id puts the item at the tail.
                (
                    f"INSERT INTO {self._items} (`discriminator`, `priority`, `item`) "
                    f"SELECT `discriminator`, %s, `item` FROM {self._items} WHERE `id` = %s",
                    (priority, head[0]),
                ),
                (f"DELETE FROM {self._items} WHERE `id` = %s", (head[0],)),
                self._unlock(discriminator, following[1] if following else priority),
                _COMMIT,
            )

    async def remove(self, discriminator: str, item_identifier: IdentifierT) -> None:
        async with self._database.session() as session:
            results = await session.script(
                _BEGIN,
                (self._lock_queue, (discriminator,)),
                (self._all, (discriminator,)),
            )
            queue, items = results[1], results[2]
            index = self._find(items, item_identifier) if queue else None
            if index is None:
                raise _not_found(discriminator)
            statements: list[Statement] = [
                (f"DELETE FROM {self._items} WHERE `id` = %s", (items[index][0],))
            ]
            if index == 0:
                lock_token, lock_until = queue[0]
                if lock_token is not None and lock_until > now_ms():
                    # The head is being processed; it is too late to take it away.
                    raise ItemNotFound(
                        f"Item for discriminator '{discriminator}' is being processed."
                    )
                # An expired lock goes with the head, so its holder cannot acknowledge the
                # next item by mistake.
                statements.append(
                    self._unlock(discriminator, items[1][1] if len(items) > 1 else None)
                )
            await session.script(*statements, _COMMIT)

    def _find(self, items: Sequence[Row], item_identifier: IdentifierT) -> int | None:
        for index, row in enumerate(items):
            item = self._item_model.model_validate_json(row[2])
            if self._does_identifier_match_item(item, item_identifier):
                return index
        return None

    async def _locked_head(
        self, session: Session, discriminator: str, token: str
    ) -> tuple[Row, Row | None]:
        """Begin, lock the queue, check the token; the head item and the one after it."""
        results = await session.script(
            _BEGIN, (self._lock_queue, (discriminator,)), (self._first_two, (discriminator,))
        )
        queue, items = results[1], results[2]
        _check_token(discriminator, queue[0] if queue else None, token)
        return items[0], items[1] if len(items) > 1 else None

    def _unlock(self, discriminator: str, head_priority: int | None) -> Statement:
        """Unlock the queue under its new head's priority, or delete it once it is empty."""
        if head_priority is None:
            return (f"DELETE FROM {self._queues} WHERE `discriminator` = %s", (discriminator,))
        return (
            f"UPDATE {self._queues} SET `headPriority` = %s, `lockUntil` = NULL, "
            "`lockToken` = NULL WHERE `discriminator` = %s",
            (head_priority, discriminator),
        )


def _check_token(discriminator: str, queue: Row | None, token: str) -> None:
    if queue is None:
        raise _not_found(discriminator)
    if queue[0] is None:
        raise ItemNotLocked(f"Item for discriminator '{discriminator}' not locked.")
    if queue[0] != token:
        raise TokenMismatch(f"Token mismatch for discriminator '{discriminator}'.")
