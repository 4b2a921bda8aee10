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

Each operation is one round trip (``remove`` two): statements travel together as scripts,
transactions begin and end inside them, and what a later statement of a script needs from an
earlier one passes through session variables (``@wk_...``), set afresh by every script.
``acknowledge`` and ``defer`` make each of their changes conditional on the token found under
the row lock, and report that token, so a refusal changes nothing and is explained after.
The items for a queue that concurrent callers enqueue while a script for it is on its way
follow together in the next one (:mod:`wolkenkit.stores.batching`): the workers of a process
all queue their events for the same flow, whose row would otherwise let one transaction at a
time pass. Other queues' items do not wait.
Times are this process's clock, as in the reference.
"""

from __future__ import annotations

from collections.abc import Sequence

from wolkenkit.errors import ItemNotFound, ItemNotLocked, TokenMismatch
from wolkenkit.messages import new_id, now_ms
from wolkenkit.serialization import json_text
from wolkenkit.stores.batching import KeyedBatching
from wolkenkit.stores.mariadb.database import Database, Row, Statement, quote
from wolkenkit.stores.mariadb.options import PriorityQueueTableNames
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

_BEGIN: Statement = ("START TRANSACTION", ())
_COMMIT: Statement = ("COMMIT", ())
#: Bytes of items for one queue that concurrent callers enqueue at most in one joint
#: script, well below the smallest ``max_allowed_packet`` servers ship with (4 MiB).
_JOINT_ENQUEUE_BYTES = 1_000_000

#: An item to enqueue: its priority and the item as JSON.
Entry = tuple[int, str]


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
        # ``@wk_queued`` and ``@wk_holder`` tell whether the queue exists and who holds it.
        self._lock_holder = (
            "SELECT 1, `lockToken` INTO @wk_queued, @wk_holder"
            f" FROM {queues} WHERE `discriminator` = %s FOR UPDATE"
        )
        self._delete_head = (
            f"DELETE FROM {items} WHERE `discriminator` = %s AND @wk_holder = %s"
            " ORDER BY `id` LIMIT 1"
        )
        # A new id puts the item at the tail.
        self._copy_head_to_tail = (
            f"INSERT INTO {items} (`discriminator`, `priority`, `item`)"
            f" SELECT `discriminator`, %s, `item` FROM {items}"
            " WHERE `discriminator` = %s AND @wk_holder = %s ORDER BY `id` LIMIT 1"
        )
        self._unlock_under_new_head = (
            f"UPDATE {queues} SET `headPriority` = (SELECT `priority` FROM {items}"
            " WHERE `discriminator` = %s ORDER BY `id` LIMIT 1),"
            " `lockUntil` = NULL, `lockToken` = NULL"
            f" WHERE `discriminator` = %s AND @wk_holder = %s"
            f" AND EXISTS (SELECT 1 FROM {items} WHERE `discriminator` = %s)"
        )
        self._delete_if_empty = (
            f"DELETE FROM {queues} WHERE `discriminator` = %s AND @wk_holder = %s"
            f" AND NOT EXISTS (SELECT 1 FROM {items} WHERE `discriminator` = %s)"
        )
        self._batching: KeyedBatching[str, Entry] = KeyedBatching(
            self._enqueue_entries, _entry_bytes, _JOINT_ENQUEUE_BYTES
        )
        self._all = (
            f"SELECT `id`, `priority`, `item` FROM {items} WHERE `discriminator` = %s ORDER BY `id`"
        )

    async def setup(self) -> None:
        await self._database.create(self._schema)

    async def destroy(self) -> None:
        await self._database.close()

    async def enqueue(self, item: ItemT, discriminator: str, priority: int) -> None:
        await self._batching.submit(discriminator, (priority, json_text(item)))

    async def _enqueue_entries(self, discriminator: str, entries: list[Entry]) -> None:
        # Locking (or creating) the queue row first orders this after any operation that
        # might be about to delete the queue as empty; the items get their ids in order. A
        # new queue is ranked by its first item.
        async with self._database.session() as session:
            await session.script(
                _BEGIN,
                (
                    f"INSERT INTO {self._queues} (`discriminator`, `headPriority`) "
                    "VALUES (%s, %s) ON DUPLICATE KEY UPDATE `headPriority` = `headPriority`",
                    (discriminator, entries[0][0]),
                ),
                (
                    f"INSERT INTO {self._items} (`discriminator`, `priority`, `item`) VALUES "
                    + ", ".join(["(%s, %s, %s)"] * len(entries)),
                    [value for entry in entries for value in (discriminator, *entry)],
                ),
                _COMMIT,
            )

    async def lock_next(self) -> LockedItem[ItemT] | None:
        now, token = now_ms(), new_id()
        async with self._database.session() as session:
            results = await session.script(
                _BEGIN,
                ("SET @wk_next = NULL", ()),
                (
                    f"SELECT `discriminator` INTO @wk_next FROM {self._queues}"
                    " FORCE INDEX (`headPriority`) WHERE `lockUntil` IS NULL OR `lockUntil` <= %s"
                    " ORDER BY `headPriority` LIMIT 1 FOR UPDATE SKIP LOCKED",
                    (now,),
                ),
                (
                    f"UPDATE {self._queues} SET `lockUntil` = %s, `lockToken` = %s "
                    "WHERE `discriminator` = @wk_next",
                    (now + self._expiration_time, token),
                ),
                (
                    f"SELECT @wk_next, (SELECT `item` FROM {self._items}"
                    " WHERE `discriminator` = @wk_next ORDER BY `id` LIMIT 1)",
                    (),
                ),
                _COMMIT,
            )
        discriminator, head = results[-2][0]
        if discriminator is None:
            return None
        if head is None:
            # A queue without items breaks the tables' invariant (someone edited them); drop
            # it rather than let it block the queues behind it.
            await self._database.execute(
                f"DELETE FROM {self._queues} WHERE `discriminator` = %s AND NOT EXISTS "
                f"(SELECT 1 FROM {self._items} WHERE `discriminator` = %s)",
                (discriminator, discriminator),
            )
            return await self.lock_next()
        item = self._item_model.model_validate_json(head)
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
        holding = (discriminator, token)
        await self._settle_head(
            discriminator,
            token,
            (self._delete_head, holding),
            (self._unlock_under_new_head, (discriminator, *holding, discriminator)),
            (self._delete_if_empty, (*holding, discriminator)),
        )

    async def defer(self, discriminator: str, token: str, priority: int) -> None:
        holding = (discriminator, token)
        await self._settle_head(
            discriminator,
            token,
            (self._copy_head_to_tail, (priority, *holding)),
            (self._delete_head, holding),
            (self._unlock_under_new_head, (discriminator, *holding, discriminator)),
        )

    async def _settle_head(self, discriminator: str, token: str, *changes: Statement) -> None:
        """Lock the queue and make the changes, which take effect only if ``token`` holds it;
        then raise what explains a refusal."""
        async with self._database.session() as session:
            results = await session.script(
                _BEGIN,
                ("SET @wk_queued = NULL, @wk_holder = NULL", ()),
                (self._lock_holder, (discriminator,)),
                *changes,
                ("SELECT @wk_queued, @wk_holder", ()),
                _COMMIT,
            )
        queued, holder = results[-2][0]
        _check_token(discriminator, (holder,) if queued else None, token)

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

    async def statistics(self, discriminators: Sequence[str] = ()) -> QueueStatistics:
        size_row = await self._database.fetch_one(f"SELECT count(*) FROM {self._items}")
        lowest_row = await self._database.fetch_one(
            f"SELECT min(`headPriority`) FROM {self._queues}"
        )
        sizes = dict.fromkeys(discriminators, 0)
        if discriminators:
            placeholders = ", ".join(["%s"] * len(discriminators))
            rows = await self._database.fetch_all(
                f"SELECT `discriminator`, count(*) FROM {self._items}"
                f" WHERE `discriminator` IN ({placeholders}) GROUP BY `discriminator`",
                list(discriminators),
            )
            sizes.update((row[0], int(row[1])) for row in rows)
        lowest = lowest_row[0] if lowest_row is not None else None
        return QueueStatistics(
            size=int(size_row[0]) if size_row is not None else 0,
            lowest_head_priority=None if lowest is None else int(lowest),
            sizes=sizes,
        )

    def _find(self, items: Sequence[Row], item_identifier: IdentifierT) -> int | None:
        for index, row in enumerate(items):
            item = self._item_model.model_validate_json(row[2])
            if self._does_identifier_match_item(item, item_identifier):
                return index
        return None

    def _unlock(self, discriminator: str, head_priority: int | None) -> Statement:
        """Unlock the queue under its new head's priority, or delete it once it is empty."""
        if head_priority is None:
            return (f"DELETE FROM {self._queues} WHERE `discriminator` = %s", (discriminator,))
        return (
            f"UPDATE {self._queues} SET `headPriority` = %s, `lockUntil` = NULL, "
            "`lockToken` = NULL WHERE `discriminator` = %s",
            (head_priority, discriminator),
        )


def _entry_bytes(entry: Entry) -> int:
    """At most the bytes of an entry's row before escaping: four per character of the item,
    and room for the discriminator (255 characters) and the priority. Escaping doubles them
    at worst, so a joint script stays below 4 MiB."""
    return 4 * len(entry[1]) + 1_100


def _check_token(discriminator: str, queue: Row | None, token: str) -> None:
    if queue is None:
        raise _not_found(discriminator)
    if queue[0] is None:
        raise ItemNotLocked(f"Item for discriminator '{discriminator}' not locked.")
    if queue[0] != token:
        raise TokenMismatch(f"Token mismatch for discriminator '{discriminator}'.")
