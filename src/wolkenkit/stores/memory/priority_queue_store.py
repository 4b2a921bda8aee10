"""A priority queue store that keeps its queues in the process's memory.

Two heaps keep every operation at O(log n) in the number of queues:

- ``_ready`` holds the queues that may be locked, keyed by their head item's priority. Entries
  are never removed in place; a queue's ``ticket`` names its one valid entry, and entries with
  another ticket are skipped when they surface.
- ``_expiring`` holds locked queues keyed by the moment their lock expires. When that moment
  has passed and the lock is unchanged, the queue goes back into ``_ready``.

Everything runs inside the event loop without awaiting, so each operation is atomic.
"""

from __future__ import annotations

import heapq
import itertools
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Generic

from wolkenkit.errors import ItemNotFound, ItemNotLocked, TokenMismatch
from wolkenkit.messages import new_id, now_ms
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

#: The ticket of a queue that has no valid entry in the ready heap, because it is locked.
_NOT_READY = 0


@dataclass(slots=True)
class _Lock:
    token: str
    until: int


@dataclass(slots=True)
class _Queue(Generic[ItemT]):
    discriminator: str
    # (item, priority) pairs, head first.
    items: deque[tuple[ItemT, int]] = field(default_factory=deque)
    lock: _Lock | None = None
    ticket: int = _NOT_READY


class InMemoryPriorityQueueStore(PriorityQueueStore[ItemT, IdentifierT]):
    """Per-discriminator FIFO queues, served lowest head priority first."""

    def __init__(
        self,
        does_identifier_match_item: DoesIdentifierMatchItem[ItemT, IdentifierT],
        expiration_time: int = DEFAULT_EXPIRATION_TIME,
    ) -> None:
        self._does_identifier_match_item = does_identifier_match_item
        self._expiration_time = expiration_time
        self._clear()

    def _clear(self) -> None:
        self._queues: dict[str, _Queue[ItemT]] = {}
        # (head priority, ticket, discriminator); the ticket also keeps equal priorities FIFO.
        self._ready: list[tuple[int, int, str]] = []
        # (lock until, token, discriminator)
        self._expiring: list[tuple[int, str, str]] = []
        self._tickets = itertools.count(_NOT_READY + 1)

    async def setup(self) -> None:
        pass

    async def destroy(self) -> None:
        self._clear()

    async def enqueue(self, item: ItemT, discriminator: str, priority: int) -> None:
        self._enqueue(item, discriminator, priority)

    def _enqueue(self, item: ItemT, discriminator: str, priority: int) -> None:
        queue = self._queues.get(discriminator)
        if queue is None:
            queue = self._queues[discriminator] = _Queue(discriminator)
            queue.items.append((item, priority))
            self._make_ready(queue)
            return
        # Appending leaves the head, and so the queue's place in the heaps, unchanged.
        queue.items.append((item, priority))

    async def lock_next(self) -> LockedItem[ItemT] | None:
        now = now_ms()
        self._release_expired_locks(now)
        while self._ready:
            _, ticket, discriminator = heapq.heappop(self._ready)
            queue = self._queues.get(discriminator)
            if queue is None or queue.ticket != ticket:
                continue
            # Whoever held an expired lock loses it here: their token no longer matches.
            token = self._lock(queue, now, new_id())
            return LockedItem(
                item=queue.items[0][0],
                metadata=LockMetadata(discriminator=discriminator, token=token),
            )
        return None

    async def renew_lock(self, discriminator: str, token: str) -> None:
        queue = self._get_locked(discriminator, token)
        # A lock that expired but was not taken over yet is still its holder's to renew.
        self._lock(queue, now_ms(), token)

    async def acknowledge(self, discriminator: str, token: str) -> None:
        self._acknowledge(discriminator, token)

    def _acknowledge(self, discriminator: str, token: str) -> ItemT:
        """Take the locked head out, unlock the queue, and return the head."""
        queue = self._get_locked(discriminator, token)
        item, _ = queue.items.popleft()
        self._unlock(queue)
        return item

    async def defer(self, discriminator: str, token: str, priority: int) -> None:
        queue = self._get_locked(discriminator, token)
        item, _ = queue.items.popleft()
        queue.items.append((item, priority))
        self._unlock(queue)

    async def remove(self, discriminator: str, item_identifier: IdentifierT) -> None:
        self._remove(discriminator, item_identifier)

    def _remove(self, discriminator: str, item_identifier: IdentifierT) -> ItemT:
        """Take the first matching item out and return it."""
        queue = self._queues.get(discriminator)
        if queue is None:
            raise ItemNotFound(f"Item for discriminator '{discriminator}' not found.")
        index = next(
            (
                index
                for index, (item, _) in enumerate(queue.items)
                if self._does_identifier_match_item(item, item_identifier)
            ),
            None,
        )
        if index is None:
            raise ItemNotFound(f"Item for discriminator '{discriminator}' not found.")
        if index > 0:
            item, _ = queue.items[index]
            del queue.items[index]
            return item
        if queue.lock is not None and queue.lock.until > now_ms():
            # The head is being processed; removing it would pull it from under its worker.
            raise ItemNotFound(f"Item for discriminator '{discriminator}' is being processed.")
        item, _ = queue.items.popleft()
        # The expired lock goes with the head, so its holder cannot acknowledge the next item.
        self._unlock(queue)
        return item

    async def statistics(self, discriminators: Sequence[str] = ()) -> QueueStatistics:
        queues = self._queues
        return QueueStatistics(
            size=sum(len(queue.items) for queue in queues.values()),
            lowest_head_priority=min(
                (queue.items[0][1] for queue in queues.values()), default=None
            ),
            sizes={
                name: len(queue.items) if (queue := queues.get(name)) else 0
                for name in discriminators
            },
        )

    def _get_locked(self, discriminator: str, token: str) -> _Queue[ItemT]:
        queue = self._queues.get(discriminator)
        if queue is None:
            raise ItemNotFound(f"Item for discriminator '{discriminator}' not found.")
        if queue.lock is None:
            raise ItemNotLocked(f"Item for discriminator '{discriminator}' not locked.")
        if queue.lock.token != token:
            raise TokenMismatch(f"Token mismatch for discriminator '{discriminator}'.")
        return queue

    def _lock(self, queue: _Queue[ItemT], now: int, token: str) -> str:
        until = now + self._expiration_time
        queue.lock = _Lock(token=token, until=until)
        queue.ticket = _NOT_READY
        heapq.heappush(self._expiring, (until, token, queue.discriminator))
        return token

    def _unlock(self, queue: _Queue[ItemT]) -> None:
        queue.lock = None
        if not queue.items:
            del self._queues[queue.discriminator]
            return
        # The head changed, so the queue needs a fresh entry under its new head priority.
        self._make_ready(queue)

    def _make_ready(self, queue: _Queue[ItemT]) -> None:
        queue.ticket = next(self._tickets)
        heapq.heappush(self._ready, (queue.items[0][1], queue.ticket, queue.discriminator))

    def _release_expired_locks(self, now: int) -> None:
        while self._expiring and self._expiring[0][0] <= now:
            until, token, discriminator = heapq.heappop(self._expiring)
            queue = self._queues.get(discriminator)
            # Skip entries of locks that were renewed, released or replaced since.
            if (
                queue is None
                or queue.lock is None
                or queue.lock.token != token
                or queue.lock.until != until
                or queue.ticket != _NOT_READY
            ):
                continue
            # The expired lock stays in place until someone locks the queue anew.
            self._make_ready(queue)
