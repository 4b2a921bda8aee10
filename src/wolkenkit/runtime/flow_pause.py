"""Pausing flows, in every process, while a rebuild brings their new tables level and swaps
them in: a barrier in each flow's queue.

The flow queue hands out its items one at a time per flow (a flow's name is its
discriminator), in order, across processes. So a flow is paused everywhere exactly while the
head of its queue is an item that nobody acknowledges, and none of its events is in a
handler then. A rebuild holds a lock per flow (``rebuild_lock``) for as long as it runs, and
enqueues a barrier for each of its flows once its tables have nearly caught up. Whoever locks
a barrier (a runtime's flow worker, or the rebuild's own process) holds it: it takes the
barrier's paused lock, which tells the rebuild that the flow stands still, waits until the
rebuild lock is released or has expired, and only then acknowledges it. A rebuild that dies
so unpauses its flows when its lock expires; a barrier that outlives its rebuild is let
through at once.

The barrier is a domain event of the reserved aggregate ``wolkenkit.rebuild``, because the
queue holds domain events; no flow ever runs for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Sequence

from wolkenkit import errors
from wolkenkit.messages import (
    AggregateIdentifier,
    DomainEvent,
    DomainEventMetadata,
    Initiator,
    User,
    new_id,
    now_ms,
)
from wolkenkit.stores.lock_store import LockStore

logger = logging.getLogger("wolkenkit.runtime.flow_pause")

#: A rebuild's lock (and a barrier's paused lock) lasts this long unless it is renewed.
LOCK_SECONDS = 30.0
#: How often the holders renew them; a stalled process loses them after the rest.
RENEW_SECONDS = 3.0
#: How often a barrier's holder looks whether the rebuild is done, and the rebuild whether
#: its flows stand still.
POLL_SECONDS = 0.02

_CONTEXT, _AGGREGATE, _NAME = "wolkenkit", "rebuild", "barrier"
_REBUILDER = Initiator(user=User(id="rebuild", claims={"sub": "rebuild"}))

#: Puts a barrier into the named flow's queue (and wakes its workers).
Enqueue = Callable[[DomainEvent, str], Awaitable[None]]


def rebuild_lock(flow_name: str) -> str:
    """The lock a rebuild of the flow's tables holds while it runs."""
    return f"wolkenkit rebuild of flow {flow_name}"


def paused_lock(lock: str) -> str:
    """The lock that says a barrier of the rebuild holding ``lock`` is held."""
    return f"{lock}: paused"


def barrier(lock: str) -> DomainEvent:
    """A barrier for the queue of the flow whose rebuild holds ``lock``."""
    event_id = new_id()
    return DomainEvent(
        aggregate_identifier=AggregateIdentifier.of(_CONTEXT, _AGGREGATE, new_id()),
        name=_NAME,
        data={"lock": lock},
        id=event_id,
        metadata=DomainEventMetadata(
            causation_id=event_id,
            correlation_id=event_id,
            timestamp=now_ms(),
            revision=1,
            initiator=_REBUILDER,
        ),
    )


def is_barrier(event: DomainEvent) -> bool:
    identifier = event.aggregate_identifier
    return (
        event.name == _NAME
        and identifier.aggregate.name == _AGGREGATE
        and identifier.context.name == _CONTEXT
    )


async def hold(event: DomainEvent, locks: LockStore) -> None:
    """Hold the barrier ``event``, which the caller has locked in its queue, until its
    rebuild is done; then the caller acknowledges it."""
    lock = str(event.data.get("lock", ""))
    if not await locks.is_locked(lock):
        return
    paused = paused_lock(lock)
    # Taken already if an earlier holder died with it: the barrier was never acknowledged,
    # so the flow has stood still since, and the lock says so rightly.
    with contextlib.suppress(errors.LockAcquireFailed):
        await locks.acquire_lock(paused, _expiry())
    try:
        renewed = asyncio.get_running_loop().time()
        while await locks.is_locked(lock):
            await asyncio.sleep(POLL_SECONDS)
            if asyncio.get_running_loop().time() - renewed >= RENEW_SECONDS:
                renewed = asyncio.get_running_loop().time()
                with contextlib.suppress(errors.LockRenewalFailed):
                    await locks.renew_lock(paused, _expiry())
    finally:
        with contextlib.suppress(Exception):
            await locks.release_lock(paused)


class FlowPause:
    """A rebuild's side: its flows' rebuild locks, held and renewed from ``acquire`` to
    ``release``, and their barriers."""

    def __init__(self, locks: LockStore, flow_names: Sequence[str]) -> None:
        self._locks = locks
        self._names = [rebuild_lock(flow_name) for flow_name in flow_names]
        self._flow_names = list(flow_names)
        self._renewal: asyncio.Task[None] | None = None
        self._lost: str | None = None

    async def acquire(self) -> None:
        """Take every flow's rebuild lock; ``RebuildFailed`` if another rebuild holds one."""
        taken: list[str] = []
        for flow_name, lock in zip(self._flow_names, self._names, strict=True):
            try:
                await self._locks.acquire_lock(lock, _expiry())
            except errors.LockAcquireFailed:
                for name in taken:
                    await self._locks.release_lock(name)
                raise errors.RebuildFailed(
                    f"The tables of flow '{flow_name}' are being rebuilt already."
                ) from None
            taken.append(lock)
        self._renewal = asyncio.create_task(self._renew(), name="rebuild lock renewal")

    async def pause(self, enqueue: Enqueue) -> None:
        """Put a barrier into each flow's queue and wait until every one is held: from then
        on, until ``release``, no event of the flows is in a handler anywhere."""
        for flow_name, lock in zip(self._flow_names, self._names, strict=True):
            await enqueue(barrier(lock), flow_name)
        waiting = [paused_lock(lock) for lock in self._names]
        while True:
            waiting = [lock for lock in waiting if not await self._locks.is_locked(lock)]
            if not waiting:
                return
            await asyncio.sleep(POLL_SECONDS)

    async def ensure_held(self) -> None:
        """Renew the locks now; ``RebuildFailed`` if one was lost (the process stalled for
        longer than they last), since the flows may be running again."""
        try:
            for lock in self._names:
                await self._locks.renew_lock(lock, _expiry())
        except errors.LockRenewalFailed:
            self._lost = self._lost or "expired"
        if self._lost is not None:
            raise errors.RebuildFailed(
                "The rebuild lost its lock on the flows (it stalled for longer than "
                f"{LOCK_SECONDS:g} s), so it cannot swap its tables in."
            )

    async def release(self) -> None:
        """Release the locks: held barriers are acknowledged, and the flows go on."""
        if self._renewal is not None:
            self._renewal.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._renewal
            self._renewal = None
        for lock in self._names:
            with contextlib.suppress(Exception):
                await self._locks.release_lock(lock)

    async def _renew(self) -> None:
        while True:
            await asyncio.sleep(RENEW_SECONDS)
            try:
                for lock in self._names:
                    await self._locks.renew_lock(lock, _expiry())
            except errors.LockRenewalFailed:
                self._lost = "expired"
                return
            except Exception:
                # A store that fails now may answer the next time; the lock lasts a while.
                logger.warning("Renewing a rebuild's lock failed.", exc_info=True)


def _expiry() -> int:
    return now_ms() + int(LOCK_SECONDS * 1000)
