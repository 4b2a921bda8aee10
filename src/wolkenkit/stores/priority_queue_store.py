"""The priority queue store: per-discriminator FIFO queues, served by the head item's priority.

For commands the discriminator is the aggregate id, for flow events the flow name. At most one
item per discriminator is locked at a time, which serialises work per aggregate and per flow.
A lock expires after ``expiration_time`` ms, after which the item is handed out again.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Generic, TypeVar

from pydantic import BaseModel

from wolkenkit.records import frozen_record

ItemT = TypeVar("ItemT", bound=BaseModel)
IdentifierT = TypeVar("IdentifierT")

DEFAULT_EXPIRATION_TIME = 30_000

#: Decides whether a queued item is the one a ``remove`` call names.
DoesIdentifierMatchItem = Callable[[ItemT, IdentifierT], bool]


@frozen_record
class LockMetadata:
    discriminator: str
    token: str


@frozen_record
class LockedItem(Generic[ItemT]):
    item: ItemT
    metadata: LockMetadata


@frozen_record
class QueueStatistics:
    """What waits in a priority queue store, for monitoring: items being processed count."""

    #: Items queued, over all discriminators.
    size: int
    #: The lowest priority among the queues' head items (``None`` when nothing is queued).
    #: The runtime's priorities are times in ms, so this tells how long the oldest waits.
    lowest_head_priority: int | None
    #: Items queued per discriminator asked for, 0 for one with none.
    sizes: Mapping[str, int]


class PriorityQueueStore(ABC, Generic[ItemT, IdentifierT]):
    """Backends take the item model (to decode stored items), the matcher for ``remove`` and
    the lock expiration time in their constructors."""

    @abstractmethod
    async def setup(self) -> None: ...

    @abstractmethod
    async def destroy(self) -> None: ...

    @abstractmethod
    async def enqueue(self, item: ItemT, discriminator: str, priority: int) -> None:
        """Append the item to its discriminator's queue; duplicates are allowed."""

    async def enqueue_and_wake(
        self, item: ItemT, discriminator: str, priority: int, wake: Callable[[], None]
    ) -> None:
        """``enqueue``, and call ``wake`` once a worker can lock the item. Returns once the
        item is safe. Here that is once it is stored; a store that keeps its queue in this
        process may hand the item to workers before it is stored, and then returns as soon
        as it is acknowledged or removed, or stored, whichever comes first. So the caller's
        workers must acknowledge an item only once what its processing wrote is committed
        (the runtime's command handling does)."""
        await self.enqueue(item, discriminator, priority)
        wake()

    @abstractmethod
    async def lock_next(self) -> LockedItem[ItemT] | None:
        """Lock and return the head of the unlocked queue with the lowest head priority,
        without removing it; ``None`` if every queue is empty or locked."""

    @abstractmethod
    async def renew_lock(self, discriminator: str, token: str) -> None:
        """Extend the lock. Raises ``ItemNotFound``, ``ItemNotLocked`` or ``TokenMismatch``."""

    @abstractmethod
    async def acknowledge(self, discriminator: str, token: str) -> None:
        """Remove the locked head item and unlock. Same errors as ``renew_lock``."""

    async def acknowledge_and_lock_next(
        self, discriminator: str, token: str
    ) -> LockedItem[ItemT] | None:
        """``acknowledge``, then ``lock_next``: what a worker does between two items. A
        backend may do both at once, in one transaction; if acknowledging fails, nothing is
        locked."""
        await self.acknowledge(discriminator, token)
        return await self.lock_next()

    @abstractmethod
    async def defer(self, discriminator: str, token: str, priority: int) -> None:
        """Move the locked head item to the tail with a new priority, and unlock."""

    @abstractmethod
    async def remove(self, discriminator: str, item_identifier: IdentifierT) -> None:
        """Remove the first matching item; ``ItemNotFound`` if there is none or it is the
        locked head (being processed)."""

    async def statistics(self, discriminators: Sequence[str] = ()) -> QueueStatistics:
        """How much is queued, and how much of it for each of ``discriminators``; for the
        runtime's metrics. A backend that cannot tell raises ``NotImplementedError``."""
        raise NotImplementedError(f"{type(self).__name__} reports no statistics.")
