"""The PostgreSQL priority queue store, safe for competing workers in many processes.

Layout: one row per queue (discriminator) in the priority queue table holds the queue's head
item, its priority, its lock and its size; the items behind the head wait in the items table,
ordered by an identity column. The row of a queue is the one place that serialises everything
done to that queue:

- ``lock_next`` picks the unlocked queue with the lowest head priority with
  ``FOR NO KEY UPDATE SKIP LOCKED`` and locks it in the same statement. A queue whose row
  another transaction holds is skipped, not waited for; a row changed since the statement's
  snapshot is re-checked in its latest version, so a queue locked meanwhile is never handed
  out twice, and the head item returned is always the current one because it lives in the
  row itself. At most one item per discriminator is therefore locked at any time.
- ``enqueue`` upserts the row (taking its row lock) and appends the item behind it in one
  statement; a queue deleted concurrently is simply created again. The items for a queue
  that concurrent callers enqueue while a statement for it is on its way follow together
  in the next one (:mod:`wolkenkit.stores.batching`): the workers of a process all queue
  their events for the same flow, whose row would otherwise let one transaction at a time
  pass, each waiting for its commit to reach the disk. Other queues' items do not wait.
- ``acknowledge``, ``defer`` and ``remove`` first lock the row, then, in a new statement that
  sees everything committed before the lock was granted, move the next item into the row.
  (One statement cannot do both: its snapshot predates the lock, so it would miss an item
  enqueued just before and delete the queue under it.) ``acknowledge`` and ``defer``, which
  every item goes through, send both statements in one round trip as a PL/pgSQL function
  that ``setup()`` creates: a volatile function takes a fresh snapshot per statement, and
  its call is a transaction of its own.

Lock expiry uses the database server's clock, so workers on machines with skewed clocks agree.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import TypeAlias

import asyncpg
from pydantic import Field

from wolkenkit.errors import ItemNotFound, ItemNotLocked, TokenMismatch
from wolkenkit.messages import new_id
from wolkenkit.serialization import json_text
from wolkenkit.stores import table_names
from wolkenkit.stores.batching import KeyedBatching
from wolkenkit.stores.postgres.connection import (
    DriverErrors,
    Names,
    PostgresOptions,
    set_up,
)
from wolkenkit.stores.postgres.pool import ConnectionPool
from wolkenkit.stores.priority_queue_store import (
    DoesIdentifierMatchItem,
    IdentifierT,
    ItemT,
    LockedItem,
    LockMetadata,
    PriorityQueueStore,
    QueueStatistics,
)
from wolkenkit.stores.table_names import NonEmptyName

STORE = "PostgreSQL priority queue store"
#: Items ``remove`` decodes per round trip while it looks for a match.
REMOVE_PREFETCH = 50
#: Items for one queue that concurrent callers enqueue at most in one joint statement.
JOINT_ENQUEUE_SIZE = 1_000

#: An item to enqueue: its priority and the item as JSON.
Entry = tuple[int, str]


PriorityQueueTableNames: TypeAlias = table_names.PriorityQueueTableNames[NonEmptyName]


class PriorityQueueStoreOptions(PostgresOptions):
    table_names: PriorityQueueTableNames = Field(default_factory=PriorityQueueTableNames)


class PostgresPriorityQueueStore(PriorityQueueStore[ItemT, IdentifierT]):
    """Per-discriminator FIFO queues in two tables, served lowest head priority first."""

    def __init__(
        self,
        pool: ConnectionPool,
        options: PriorityQueueStoreOptions,
        item_model: type[ItemT],
        does_identifier_match_item: DoesIdentifierMatchItem[ItemT, IdentifierT],
        expiration_time: int,
    ) -> None:
        self._pool = pool
        self._errors = DriverErrors(STORE)
        self._item_model = item_model
        self._does_identifier_match_item = does_identifier_match_item
        self._expiration = timedelta(milliseconds=expiration_time)
        self._names = Names(options.schema_name)
        table_names = options.table_names
        self._items_name, self._queues_name = table_names.items, table_names.priority_queue
        items = self._items = self._names.table(table_names.items)
        queues = self._queues = self._names.table(table_names.priority_queue)
        self._settle_function = self._names.table(f"{table_names.priority_queue}_settle")
        self._enqueue = (
            f"WITH queue AS (INSERT INTO {queues} AS queue"
            " (discriminator, head_priority, head_item, size, ready_since)"
            " VALUES ($1, $2, $3, 1, clock_timestamp())"
            " ON CONFLICT (discriminator) DO UPDATE SET size = queue.size + 1"
            " RETURNING size)"
            f" INSERT INTO {items} (discriminator, priority, item)"
            " SELECT $1, $2, $3 FROM queue WHERE size > 1"
        )
        # The same for several items of one queue, in the order given. A queue created by
        # the upsert has as many items as the statement brings, and its first one is the
        # head; a queue that existed has more, and all of them go behind.
        self._enqueue_several = (
            f"WITH queue AS (INSERT INTO {queues} AS queue"
            " (discriminator, head_priority, head_item, size, ready_since)"
            " VALUES ($1, ($2::bigint[])[1], ($3::text[])[1]::json, cardinality($3::text[]),"
            " clock_timestamp())"
            " ON CONFLICT (discriminator) DO UPDATE SET size = queue.size + excluded.size"
            " RETURNING size)"
            f" INSERT INTO {items} (discriminator, priority, item)"
            " SELECT $1, entry.priority, entry.item::json"
            " FROM unnest($2::bigint[], $3::text[])"
            " WITH ORDINALITY AS entry (priority, item, position), queue"
            " WHERE entry.position > 1 OR queue.size > cardinality($3::text[])"
            " ORDER BY entry.position"
        )
        self._batching: KeyedBatching[str, Entry] = KeyedBatching(
            self._enqueue_entries, limit=JOINT_ENQUEUE_SIZE
        )
        self._lock_next = (
            f"WITH next AS (SELECT discriminator FROM {queues}"
            " WHERE lock_until IS NULL OR lock_until <= statement_timestamp()"
            " ORDER BY head_priority, ready_since, discriminator LIMIT 1"
            " FOR NO KEY UPDATE SKIP LOCKED)"
            f" UPDATE {queues} AS queue"
            " SET lock_until = statement_timestamp() + $1, lock_token = $2"
            " FROM next WHERE queue.discriminator = next.discriminator"
            " RETURNING queue.discriminator, queue.head_item"
        )
        self._renew = (
            f"UPDATE {queues} SET lock_until = statement_timestamp() + $3"
            " WHERE discriminator = $1 AND lock_token::text = $2 RETURNING true"
        )
        self._lock_state = f"SELECT lock_token::text FROM {queues} WHERE discriminator = $1"
        self._lock_queue = (
            f"SELECT lock_token::text, head_item, lock_until > statement_timestamp()"
            f" FROM {queues} WHERE discriminator = $1 FOR UPDATE"
        )
        # The next item in line leaves the items table; the sibling statements below see the
        # snapshot from before that delete, which is what they are written for.
        next_item = (
            f"next AS (DELETE FROM {items} WHERE discriminator = $1 AND id ="
            f" (SELECT min(id) FROM {items} WHERE discriminator = $1) RETURNING priority, item)"
        )
        self._pop_head = (
            f"WITH {next_item}, promoted AS (UPDATE {queues}"
            " SET head_priority = next.priority, head_item = next.item, size = size - 1,"
            " ready_since = clock_timestamp(), lock_until = NULL, lock_token = NULL"
            " FROM next WHERE discriminator = $1)"
            f" DELETE FROM {queues} WHERE discriminator = $1 AND NOT EXISTS (SELECT FROM next)"
        )
        self._move_head_to_tail = (
            f"WITH {next_item}, appended AS (INSERT INTO {items} (discriminator, priority, item)"
            f" SELECT discriminator, $2, head_item FROM {queues}"
            " WHERE discriminator = $1 AND EXISTS (SELECT FROM next))"
            f" UPDATE {queues} SET head_priority = COALESCE((SELECT priority FROM next), $2),"
            " head_item = COALESCE((SELECT item FROM next), head_item),"
            " ready_since = clock_timestamp(), lock_until = NULL, lock_token = NULL"
            " WHERE discriminator = $1"
        )
        # A queue's row counts its items, the head included: no item needs reading.
        self._totals = f"SELECT coalesce(sum(size), 0), min(head_priority) FROM {queues}"
        self._sizes = (
            f"SELECT discriminator, size FROM {queues} WHERE discriminator = ANY($1::text[])"
        )
        self._tail = f"SELECT id, item FROM {items} WHERE discriminator = $1 ORDER BY id"
        self._remove_from_tail = (
            f"WITH removed AS (DELETE FROM {items} WHERE discriminator = $1 AND id = $2)"
            f" UPDATE {queues} SET size = size - 1 WHERE discriminator = $1"
        )
        # The function's parameters are those of the two statements it runs: $1 the
        # discriminator and $2 the deferred item's priority (NULL to acknowledge), then $3
        # the token.
        self._settle = f"SELECT queued, holder FROM {self._settle_function}($1, $2, $3)"

    async def setup(self) -> None:
        queues, items = self._queues, self._items
        await set_up(
            self._pool,
            self._names,
            [
                f"CREATE TABLE IF NOT EXISTS {queues} ("
                " discriminator text PRIMARY KEY,"
                " head_priority bigint NOT NULL,"
                " head_item json NOT NULL,"
                " size integer NOT NULL,"
                " ready_since timestamptz NOT NULL,"
                " lock_until timestamptz,"
                " lock_token uuid)",
                f"CREATE INDEX IF NOT EXISTS {Names.index(self._queues_name, 'next')}"
                f" ON {queues} (head_priority, ready_since, discriminator)",
                f"CREATE TABLE IF NOT EXISTS {items} ("
                " discriminator text NOT NULL,"
                " id bigint GENERATED ALWAYS AS IDENTITY,"
                " priority bigint NOT NULL,"
                " item json NOT NULL,"
                " PRIMARY KEY (discriminator, id))",
                self._create_settle_function(),
            ],
            STORE,
        )

    def _create_settle_function(self) -> str:
        """``settle(discriminator, priority, token)`` locks the queue's row; if the token
        holds the lock, it acknowledges the head (``priority`` NULL) or defers it. It returns
        whether the queue exists and who holds its lock, for the caller to explain a refusal.
        """
        body = (
            " BEGIN"
            f" SELECT true, lock_token::text INTO queued, holder FROM {self._queues}"
            " WHERE discriminator = $1 FOR UPDATE;"
            " IF holder = $3 THEN"
            f" IF $2 IS NULL THEN {self._pop_head}; ELSE {self._move_head_to_tail}; END IF;"
            " END IF;"
            " END"
        )
        # The body is dollar-quoted with a tag that no configured table name can contain.
        tag = "$settle$"
        while tag in body:
            tag = tag[:-1] + "_$"
        # OR REPLACE, so a newer version's function takes the place of an older one.
        return (
            f"CREATE OR REPLACE FUNCTION {self._settle_function}(text, bigint, text,"
            " OUT queued boolean, OUT holder text) LANGUAGE plpgsql AS"
            f" {tag}{body}{tag}"
        )

    async def destroy(self) -> None:
        await self._pool.close()

    async def enqueue(self, item: ItemT, discriminator: str, priority: int) -> None:
        await self._batching.submit(discriminator, (priority, json_text(item)))

    async def _enqueue_entries(self, discriminator: str, entries: list[Entry]) -> None:
        with self._errors:
            if len(entries) == 1:
                await self._pool.execute(self._enqueue, discriminator, *entries[0])
            else:
                priorities, items = zip(*entries, strict=True)
                await self._pool.execute(self._enqueue_several, discriminator, priorities, items)

    async def lock_next(self) -> LockedItem[ItemT] | None:
        token = new_id()
        with self._errors:
            row = await self._pool.fetchrow(self._lock_next, self._expiration, token)
        if row is None:
            return None
        discriminator, head_item = row
        return LockedItem(
            item=self._item_model.model_validate_json(head_item),
            metadata=LockMetadata(discriminator=discriminator, token=token),
        )

    async def renew_lock(self, discriminator: str, token: str) -> None:
        with self._errors:
            renewed = await self._pool.fetchval(self._renew, discriminator, token, self._expiration)
            if not renewed:
                row = await self._pool.fetchrow(self._lock_state, discriminator)
                _check_lock(discriminator, row, token)
                # The lock changed hands between the two statements.
                raise TokenMismatch(f"Token mismatch for discriminator '{discriminator}'.")

    async def acknowledge(self, discriminator: str, token: str) -> None:
        await self._settle_head(discriminator, token, None)

    async def defer(self, discriminator: str, token: str, priority: int) -> None:
        await self._settle_head(discriminator, token, priority)

    async def _settle_head(self, discriminator: str, token: str, priority: int | None) -> None:
        with self._errors:
            row = await self._pool.fetchrow(self._settle, discriminator, priority, token)
        # The function returns one row, whose ``queued`` is NULL for an unknown queue.
        if row is None or not row["queued"]:
            _check_lock(discriminator, None, token)
        else:
            _check_lock(discriminator, (row["holder"],), token)

    async def remove(self, discriminator: str, item_identifier: IdentifierT) -> None:
        with self._errors:
            async with self._pool.acquire() as connection, connection.transaction():
                row = await connection.fetchrow(self._lock_queue, discriminator)
                if row is None:
                    raise ItemNotFound(f"Item for discriminator '{discriminator}' not found.")
                _, head_item, is_locked = row
                if self._matches(head_item, item_identifier):
                    if is_locked:
                        # The head is being processed; it is too late to take it away.
                        raise ItemNotFound(
                            f"Item for discriminator '{discriminator}' is being processed."
                        )
                    # An expired lock goes with the head, so its holder cannot acknowledge
                    # the next item by mistake.
                    await connection.execute(self._pop_head, discriminator)
                    return
                # The row lock keeps the tail still while it is searched, oldest item first.
                async for item_row in connection.cursor(
                    self._tail, discriminator, prefetch=REMOVE_PREFETCH
                ):
                    if self._matches(item_row[1], item_identifier):
                        await connection.execute(self._remove_from_tail, discriminator, item_row[0])
                        return
        raise ItemNotFound(f"Item for discriminator '{discriminator}' not found.")

    async def statistics(self, discriminators: Sequence[str] = ()) -> QueueStatistics:
        with self._errors:
            totals = await self._pool.fetchrow(self._totals)
            rows = (
                await self._pool.fetch(self._sizes, list(discriminators)) if discriminators else []
            )
        sizes = dict.fromkeys(discriminators, 0)
        sizes.update((row["discriminator"], row["size"]) for row in rows)
        # An aggregate query always returns its one row.
        size, lowest = totals if totals is not None else (0, None)
        return QueueStatistics(size=int(size), lowest_head_priority=lowest, sizes=sizes)

    def _matches(self, item_json: str, item_identifier: IdentifierT) -> bool:
        item = self._item_model.model_validate_json(item_json)
        return self._does_identifier_match_item(item, item_identifier)


def _check_lock(
    discriminator: str, row: asyncpg.Record | tuple[str | None] | None, token: str
) -> None:
    """Raise the error that explains why ``token`` does not hold the queue's lock, if any."""
    if row is None:
        raise ItemNotFound(f"Item for discriminator '{discriminator}' not found.")
    if row[0] is None:
        raise ItemNotLocked(f"Item for discriminator '{discriminator}' not locked.")
    if row[0] != token:
        raise TokenMismatch(f"Token mismatch for discriminator '{discriminator}'.")
