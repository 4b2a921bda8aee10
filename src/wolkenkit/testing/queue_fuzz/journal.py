"""The fuzzer's journal: every call a worker makes, timed, and the checks run over it at the end.

Times are ``time.monotonic()`` seconds on the fuzzer's side; stores keep their locks on the
wall clock of the same machine, and both tick at the same rate over a run. What a call did in
the store happened at some moment between its start and its return, so the checks only ever
conclude what holds for every such moment:

- A lock is **surely held** from the return of the ``lock_next`` or ``renew_lock`` that set it
  until that call's *start* plus the expiration time, cut short where its holder starts to
  acknowledge or defer.
- A discriminator's successful acknowledgements and deferrals (its **consumptions**) are
  serial in the store, since each needs the lock, so they are ordered by when they started.
- An item is queued at most once at a time (defer moves it), so its k-th consumption takes
  it out of its k-th **stay** in the queue: the one begun by its enqueue (k = 0) or by the
  deferral before it.
"""

from __future__ import annotations

import itertools
import math
import time
from collections import Counter, defaultdict
from collections.abc import Awaitable
from dataclasses import dataclass, field

from wolkenkit.errors import ItemNotFound, ItemNotLocked, TokenMismatch
from wolkenkit.testing.contracts.priority_queue_store import QueueItem, Store

#: What a worker may be told once its lock has expired: someone else took the item over,
#: finished it, or emptied the queue.
STALE_LOCK_ERRORS = (ItemNotFound, ItemNotLocked, TokenMismatch)

Span = tuple[float, float]


@dataclass
class Hold:
    """One worker's lock of one discriminator, from ``lock_next`` to release or expiry."""

    worker: int
    discriminator: str
    item_id: str
    token: str
    #: From the return of each successful lock or renewal to its start plus the expiration.
    spans: list[Span] = field(default_factory=list)
    released_at: float | None = None

    def surely_held_until(self) -> float:
        end = self.spans[-1][1]
        return end if self.released_at is None else min(end, self.released_at)


@dataclass(frozen=True)
class _Consumption:
    tick: int
    kind: str  # "acknowledge" or "defer"
    span: Span


class Journal:
    """Runs the workers' store calls, records them, and checks the record afterwards."""

    def __init__(self, expiration_time: int, margin: int) -> None:
        self._expiration = expiration_time / 1000
        self._margin = margin / 1000
        self._ticks = itertools.count()
        self._discriminators: dict[str, str] = {}
        self._enqueued: dict[str, Span] = {}
        self._consumptions: defaultdict[str, list[_Consumption]] = defaultdict(list)
        self._acknowledged: set[str] = set()
        self._handed_out: list[tuple[str, float]] = []
        self._holds: list[Hold] = []
        self._last_holds: dict[str, Hold] = {}
        self.failures: list[str] = []
        self.counts: Counter[str] = Counter()

    def backlog(self) -> int:
        return len(self._enqueued) - len(self._acknowledged)

    def everything_acknowledged(self) -> bool:
        return len(self._acknowledged) == len(self._enqueued)

    async def enqueue(
        self, store: Store, item: QueueItem, discriminator: str, priority: int
    ) -> None:
        started = time.monotonic()
        await store.enqueue(item, discriminator, priority)
        self._enqueued[item.id] = (started, time.monotonic())
        self._discriminators[item.id] = discriminator
        self.counts["enqueued"] += 1

    async def lock_next(self, worker: int, store: Store) -> Hold | None:
        started = time.monotonic()
        locked = await store.lock_next()
        if locked is None:
            return None
        returned = time.monotonic()
        hold = Hold(worker, locked.metadata.discriminator, locked.item.id, locked.metadata.token)
        hold.spans.append((returned, started + self._expiration))
        self._holds.append(hold)
        self._handed_out.append((hold.item_id, started))
        previous = self._last_holds.get(hold.discriminator)
        if previous is not None and previous.released_at is None:
            self.counts["taken over"] += 1
        self._last_holds[hold.discriminator] = hold
        if self._discriminators.get(hold.item_id, hold.discriminator) != hold.discriminator:
            self.failures.append(f"{hold.item_id} was handed out for {hold.discriminator!r}.")
        return hold

    async def renew(self, store: Store, hold: Hold) -> bool:
        """Renew the lock; ``False`` if the store says it is lost, which must be after expiry."""
        started, deadline = time.monotonic(), hold.surely_held_until()
        if not await self._try(store.renew_lock(hold.discriminator, hold.token), hold, deadline):
            return False
        hold.spans.append((time.monotonic(), started + self._expiration))
        self.counts["renewed"] += 1
        return True

    async def release(self, store: Store, hold: Hold, defer_to: int | None) -> bool:
        """Acknowledge the held item, or defer it to the priority ``defer_to``."""
        tick, started = next(self._ticks), time.monotonic()
        # Releasing twice must fail however long the lock would have lasted.
        deadline = -math.inf if hold.released_at is not None else hold.surely_held_until()
        hold.released_at = hold.released_at or started
        if defer_to is None:
            call = store.acknowledge(hold.discriminator, hold.token)
        else:
            call = store.defer(hold.discriminator, hold.token, defer_to)
        if not await self._try(call, hold, deadline):
            return False
        kind = "acknowledge" if defer_to is None else "defer"
        self._consumptions[hold.item_id].append(
            _Consumption(tick, kind, (started, time.monotonic()))
        )
        if defer_to is None:
            self._acknowledged.add(hold.item_id)
        self.counts[kind] += 1
        return True

    def die(self) -> None:
        """A holder walks away without a word, as a killed process would."""
        self.counts["died"] += 1

    async def _try(self, call: Awaitable[None], hold: Hold, surely_held_until: float) -> bool:
        """Whether the call went through; a stale lock is expected only after expiry."""
        try:
            await call
        except STALE_LOCK_ERRORS as error:
            returned = time.monotonic()
            self.counts["stale"] += 1
            if returned < surely_held_until - self._margin:
                self.failures.append(
                    f"Worker {hold.worker} lost its lock of {hold.discriminator!r} "
                    f"{_ms(surely_held_until - returned)} before it could expire "
                    f"({type(error).__name__}: {error})"
                )
            return False
        return True

    def check(self) -> list[str]:
        """Everything that went wrong, once the queue has been drained."""
        stays, failures = self._stays()
        return [
            *self.failures,
            *failures,
            *self._check_order(stays),
            *self._check_single_holders(),
            *self._check_nothing_returns_after_acknowledgement(),
        ]

    def _stays(self) -> tuple[dict[str, list[tuple[Span, int]]], list[str]]:
        """Each discriminator's stays: how they were queued, and when they were consumed."""
        stays: defaultdict[str, list[tuple[Span, int]]] = defaultdict(list)
        failures: list[str] = []
        for item_id, queued in self._enqueued.items():
            consumptions = sorted(self._consumptions[item_id], key=lambda c: c.tick)
            kinds = [consumption.kind for consumption in consumptions]
            if "acknowledge" not in kinds:
                failures.append(f"{item_id} was lost after {len(kinds)} deferrals.")
            elif kinds.index("acknowledge") != len(kinds) - 1:
                failures.append(f"{item_id} was consumed again after it was acknowledged: {kinds}")
            for consumption in consumptions:
                stays[self._discriminators[item_id]].append((queued, consumption.tick))
                queued = consumption.span
        for item_id in self._consumptions.keys() - self._enqueued.keys():
            failures.append(f"{item_id} was consumed but never enqueued.")
        return stays, failures

    def _check_order(self, stays: dict[str, list[tuple[Span, int]]]) -> list[str]:
        # A stay queued only after another one's queueing had returned must be consumed
        # after it; stays whose queueing overlapped may come in either order.
        failures: list[str] = []
        for discriminator, consumed in stays.items():
            latest_start = -math.inf
            for (started, returned), _ in sorted(consumed, key=lambda stay: stay[1]):
                if returned < latest_start:
                    failures.append(
                        f"{discriminator!r} served an item before one that was queued "
                        f"{_ms(latest_start - returned)} earlier."
                    )
                latest_start = max(latest_start, started)
        return failures

    def _check_single_holders(self) -> list[str]:
        spans: defaultdict[str, list[tuple[float, float, Hold]]] = defaultdict(list)
        for hold in self._holds:
            for begin, end in hold.spans:
                end = end if hold.released_at is None else min(end, hold.released_at)
                spans[hold.discriminator].append((begin, end, hold))
        failures: list[str] = []
        for discriminator, held in spans.items():
            held.sort(key=lambda span: span[0])
            for index, (_, end, hold) in enumerate(held):
                # Spans begin in order, so only those that begin before this one ends overlap.
                for begin, _, other in held[index + 1 :]:
                    if begin >= end - self._margin:
                        break
                    if other is not hold:
                        failures.append(
                            f"{discriminator!r} was held twice at once for {_ms(end - begin)}"
                            f" (by workers {hold.worker} and {other.worker})."
                        )
        return failures

    def _check_nothing_returns_after_acknowledgement(self) -> list[str]:
        acknowledged = {
            item_id: consumption.span[1]
            for item_id, consumptions in self._consumptions.items()
            for consumption in consumptions
            if consumption.kind == "acknowledge"
        }
        return [
            f"{item_id} was handed out {_ms(started - acknowledged[item_id])} after it was "
            "acknowledged."
            for item_id, started in self._handed_out
            if item_id in acknowledged and started > acknowledged[item_id]
        ]


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.2f} ms"
