"""Workers that take items from a priority queue store and process them.

Each worker locks the next item, works on it, and then acknowledges the item (locking the
next one in the same call) or defers it.

Given a unit of work of the queue's database (where the processing writes too, and where a
unit inside a unit is undone alone), a worker runs an item's processing and its settlement in
one transaction, and goes on with the next item it locked in the same transaction, for a few
milliseconds of work at most: one commit for a run of items instead of two per item, and no
wait for a commit between them. An item whose processing fails has its own writes undone and
is dropped as usual; if the commit fails, the run's items come back once their locks expire.
One renewer per group of workers keeps the locks of items that take long: a few times per
renewal interval it renews the locks in hand that are as old as the interval, so an item
costs a dict entry, not a timer of its own. Idle workers wait to be woken when work arrives,
and poll with a growing back-off besides, since a lock that expires frees work without
anyone saying so; one poll at a time for the whole group, not one per idle worker (dozens of
command workers each polling every few milliseconds cost more, on SQLite, than the commands
they wait for). Stopping lets every worker finish the item it holds.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import logging
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from wolkenkit.records import frozen_record
from wolkenkit.stores.priority_queue_store import LockedItem, LockMetadata, PriorityQueueStore

ItemT = TypeVar("ItemT", bound=BaseModel)

MIN_IDLE_SECONDS = 0.01
MAX_IDLE_SECONDS = 0.5
#: How long a worker goes on with items in one transaction before it commits them.
RUN_SECONDS = 0.01

logger = logging.getLogger("wolkenkit.runtime.workers")


@frozen_record
class Defer:
    """Put the item back at the tail of its queue with this priority."""

    priority: int


#: What processing an item decided: ``None`` acknowledges it.
Verdict = Defer | None
Process = Callable[[LockedItem[ItemT]], Awaitable[Verdict]]
#: Runs a block as one transaction of the queue's database (``SharedDatabase.transaction``).
UnitOfWork = Callable[[], AbstractAsyncContextManager[None]]


class Wakeup:
    """Wakes one idle worker per unit of new work (never the whole herd), and one idle
    worker to poll, the one that has waited longest, once per back-off interval: the group
    has one poll timer, armed with the back-off of the worker that found it unarmed."""

    def __init__(self) -> None:
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._pending = False
        self._poll: asyncio.TimerHandle | None = None

    def notify(self, count: int = 1) -> None:
        """Wake ``count`` waiting workers; if fewer wait, the next one to wait returns at
        once."""
        while self._waiters and count > 0:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                count -= 1
        if count > 0:
            self._pending = True

    def notify_all(self) -> None:
        if self._poll is not None:
            self._poll.cancel()
            self._poll = None
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
        self._pending = True

    async def wait(self, at_most_seconds: float) -> None:
        """Until notified, or until it is this worker's turn to poll (at most
        ``at_most_seconds`` if no poll is due sooner)."""
        if self._pending:
            self._pending = False
            return
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[None] = loop.create_future()
        self._waiters.append(waiter)
        if self._poll is None:
            self._poll = loop.call_later(at_most_seconds, self._wake_to_poll)
        await waiter

    def _wake_to_poll(self) -> None:
        self._poll = None
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return


class QueueWorkers(Generic[ItemT]):
    def __init__(
        self,
        name: str,
        queue: PriorityQueueStore[ItemT, Any],
        process: Process[ItemT],
        concurrency: int,
        renew_interval_ms: int,
        wakeup: Wakeup,
        unit_of_work: UnitOfWork | None = None,
        alone: Callable[[LockedItem[ItemT]], bool] = lambda locked: False,
    ) -> None:
        """``unit_of_work``, if given, is of the queue's database, and a unit inside it is
        undone alone when its block raises (``SharedDatabase.nested_units_undo_alone``).
        Items for which ``alone`` is true are those that wait for others (a rebuild's
        barrier waits for the rebuild): each is handled in a task of its own, outside any
        run (whose transaction the others may wait for), and the worker goes on meanwhile (a
        rebuild of two flows puts a barrier in each flow's queue: one worker holding the
        first must not keep the second from being held)."""
        self._name = name
        self._unit_of_work = unit_of_work
        self._alone = alone
        self._queue = queue
        self._process = process
        self._concurrency = concurrency
        self._renew_interval = renew_interval_ms / 1000
        self._wakeup = wakeup
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []
        self._renewer: asyncio.Task[None] | None = None
        #: The locks of the items in hand, by token, with when each was taken or renewed
        #: (event-loop time).
        self._in_hand: dict[str, tuple[LockMetadata, float]] = {}
        #: The items handled alone, beside the workers.
        self._aside: set[asyncio.Task[LockedItem[ItemT] | None]] = set()

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._work(), name=f"{self._name} worker {number}")
            for number in range(self._concurrency)
        ]
        self._renewer = asyncio.create_task(self._renew_locks(), name=f"{self._name} renewer")

    async def stop(self) -> None:
        """Stop taking work; wait until every worker has finished its current item."""
        self._stopping = True
        self._wakeup.notify_all()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        # What waits for others (a barrier for its rebuild) is let go: its lock expires, and
        # the item comes back.
        aside = list(self._aside)
        for task in aside:
            task.cancel()
        await asyncio.gather(*aside, return_exceptions=True)
        if self._renewer is not None:
            self._renewer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewer
            self._renewer = None

    async def _work(self) -> None:
        idle = MIN_IDLE_SECONDS
        locked: LockedItem[ItemT] | None = None
        # An item in hand is finished even when stopping.
        while locked is not None or not self._stopping:
            if locked is None:
                try:
                    locked = await self._queue.lock_next()
                except Exception:
                    logger.exception("%s: locking the next item failed.", self._name)
                if locked is None:
                    await self._wakeup.wait(idle)
                    idle = min(idle * 2, MAX_IDLE_SECONDS)
                    continue
            idle = MIN_IDLE_SECONDS
            if self._alone(locked):
                task = asyncio.create_task(self._handle(locked, lock_next=False))
                self._aside.add(task)
                task.add_done_callback(self._aside.discard)
                locked = None
            elif self._unit_of_work is None:
                locked = await self._handle(locked)
            else:
                locked = await self._handle_run(locked, self._unit_of_work)

    async def _handle_run(
        self, locked: LockedItem[ItemT], unit_of_work: UnitOfWork
    ) -> LockedItem[ItemT] | None:
        """Handle the item, and the next ones locked meanwhile, in one transaction; the next
        item, if the run ended with one locked."""
        loop = asyncio.get_running_loop()
        ends = loop.time() + RUN_SECONDS
        next_item: LockedItem[ItemT] | None = locked
        try:
            async with unit_of_work():
                while next_item is not None:
                    next_item = await self._handle(next_item)
                    if (
                        self._stopping
                        or loop.time() >= ends
                        or (next_item is not None and self._alone(next_item))
                    ):
                        break
        except Exception:
            # The locks taken in the run went with it; the items come back when they expire.
            logger.exception(
                "%s: committing a run of items failed; they come back when their locks expire.",
                self._name,
            )
            return None
        return next_item

    async def _handle(
        self, locked: LockedItem[ItemT], *, lock_next: bool = True
    ) -> LockedItem[ItemT] | None:
        """Process the item and settle it; the next item, if settling locked one too (only
        with ``lock_next``)."""
        metadata = locked.metadata
        in_hand = self._in_hand
        in_hand[metadata.token] = (metadata, asyncio.get_running_loop().time())
        verdict: Verdict = None
        try:
            verdict = await self._process(locked)
        except Exception:
            # As in the reference, a failing item is dropped (logged), never retried forever.
            logger.exception("%s: processing an item failed; it is dropped.", self._name)
        finally:
            # (Gone already if renewing its lock failed.)
            in_hand.pop(metadata.token, None)
        try:
            if verdict is not None:
                await self._queue.defer(metadata.discriminator, metadata.token, verdict.priority)
                self._wakeup.notify()
            elif self._stopping or not lock_next:
                await self._queue.acknowledge(metadata.discriminator, metadata.token)
            else:
                # One write instead of two where the store can (SQLite: half the pages).
                return await self._queue.acknowledge_and_lock_next(
                    metadata.discriminator, metadata.token
                )
        except Exception:
            logger.exception(
                "%s: settling an item (or locking the next) failed; a lock left will expire.",
                self._name,
            )
        return None

    async def _renew_locks(self) -> None:
        """Renew every lock in hand that is as old as the renewal interval; look four times
        per interval, so no lock goes more than 1.25 intervals without renewal."""
        loop = asyncio.get_running_loop()
        interval = self._renew_interval
        while True:
            await asyncio.sleep(interval / 4)
            now = loop.time()
            in_hand = self._in_hand.values()
            due = [metadata for metadata, since in in_hand if now - since >= interval]
            if due:
                await asyncio.gather(*(self._renew(metadata, now) for metadata in due))

    async def _renew(self, metadata: LockMetadata, now: float) -> None:
        try:
            await self._queue.renew_lock(metadata.discriminator, metadata.token)
        except Exception:
            # An item finished meanwhile has nothing left to renew; for any other, its lock
            # will expire and the item will be handed out again.
            if self._in_hand.pop(metadata.token, None) is not None:
                logger.warning("%s: renewing a lock failed.", self._name, exc_info=True)
            return
        if metadata.token in self._in_hand:
            self._in_hand[metadata.token] = (metadata, now)
