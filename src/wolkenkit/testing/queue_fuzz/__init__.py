"""A fuzzer for priority queue stores, after the reference's (§10.2): competing workers doing
random work, checked against what must always hold.

Workers, each with a store instance of its own (its own connections, as separate processes
would have), enqueue, lock, renew, acknowledge, defer and die at random; some of their pauses
outlast the lock, so locks expire and are taken over, and some workers acknowledge or defer
twice. Once the time is up, they drain the queue. The journal of their calls must then show:

- **nothing lost**: every item enqueued was acknowledged exactly once, after any number of
  deferrals, and the queue is empty;
- **nothing held twice**: no two workers surely held one discriminator at the same time, and
  no worker lost a lock before it could have expired;
- **order**: a discriminator's items were served in the order they were queued, a deferred
  one counting as queued anew at the tail.

Run it as a test of your backend::

    async def test_the_queue_survives_the_fuzzer(make_store: MakePriorityQueueStore) -> None:
        report = await fuzz_priority_queue_store(make_store, FuzzSettings.from_environment())
        assert report.unexercised() == []

``make_store`` is as the contract suite takes it, except that every store it makes must be
another instance (another connection) of one and the same queue, which the workers share.
The choices are random but seeded; a failure names its seed, and ``WOLKENKIT_FUZZ_SEED``
makes the same choices again (the timing still varies). ``WOLKENKIT_FUZZ_SECONDS`` sets how
long the workers run.
"""

from __future__ import annotations

import asyncio
import os
import random
from collections.abc import Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from wolkenkit.errors import FuzzFailed
from wolkenkit.messages import new_id
from wolkenkit.testing.contracts.priority_queue_store import (
    MakePriorityQueueStore,
    QueueItem,
    Store,
)
from wolkenkit.testing.queue_fuzz.journal import Hold, Journal

SECONDS_VARIABLE = "WOLKENKIT_FUZZ_SECONDS"
SEED_VARIABLE = "WOLKENKIT_FUZZ_SEED"

#: Texts that tend to break whatever stores or escapes them, after the "big list of naughty
#: strings" the reference draws its items from.
NAUGHTY_STRINGS = (
    "",
    "'; DROP TABLE items; --",
    '"quoted" \\back\\slashed\\',
    "null",
    "\u0000 \u0007 \u001b[0m",
    # Symbols, Japanese, and an emoji sequence joined by a zero-width joiner.
    "\u03a9\u2248\u00e7\u221a\u222b\u02dc\u00b5 \u7530\u4e2d\u3055\u3093 "
    "\U0001f469\u200d\U0001f467",
    # A right-to-left override, a zero-width space and a byte order mark.
    "\u202eright to left\u202c \u200b\ufeff",
    "%s %d {0} ${x} {{x}}",
    "x" * 2_000,
)
#: Added to some discriminators: aggregate ids and flow names are tame, but quoting is not.
DISCRIMINATOR_SUFFIXES = ("", " '; --", ' "\\', " \u7530\u4e2d \U0001f469\u200d\U0001f467")

#: What a run is meant to provoke; :meth:`FuzzReport.unexercised` names what it did not.
EXERCISES = ("enqueued", "acknowledge", "defer", "renewed", "died", "taken over", "stale")


@dataclass(frozen=True)
class FuzzSettings:
    """How long, how many and how fast; the defaults suit a CI run of a few seconds."""

    seconds: float = 3.0
    seed: int = field(default_factory=lambda: random.randrange(2**32))
    workers: int = 8
    discriminators: int = 10
    #: Lock lifetime (ms); short, so that locks expire many times in a run.
    expiration_time: int = 300
    #: Timing slack (ms) the checks allow, for clocks that round to milliseconds.
    margin: int = 25

    @classmethod
    def from_environment(cls, default_seconds: float = 3.0) -> FuzzSettings:
        """Settings with ``WOLKENKIT_FUZZ_SECONDS`` and ``WOLKENKIT_FUZZ_SEED`` applied."""
        seconds = float(os.environ.get(SECONDS_VARIABLE, default_seconds))
        seed = os.environ.get(SEED_VARIABLE)
        if seed is None:
            return cls(seconds=seconds)
        return cls(seconds=seconds, seed=int(seed))


@dataclass(frozen=True)
class FuzzReport:
    seed: int
    #: How often each of :data:`EXERCISES` happened.
    counts: Mapping[str, int]

    def unexercised(self) -> list[str]:
        return [exercise for exercise in EXERCISES if not self.counts.get(exercise)]


async def fuzz_priority_queue_store(
    make_store: MakePriorityQueueStore, settings: FuzzSettings
) -> FuzzReport:
    """Run the fuzzer against the stores ``make_store`` gives; raises :class:`FuzzFailed`."""
    journal = Journal(settings.expiration_time, settings.margin)
    stores = [await make_store(settings.expiration_time) for _ in range(settings.workers)]
    workers = [_Worker(index, store, journal, settings) for index, store in enumerate(stores)]
    failures: list[str] = []
    try:
        await _all(worker.work(settings.seconds) for worker in workers)
        # Every lock a dead worker left expires well within this.
        drain_time = 10 + 3 * settings.expiration_time / 1000
        await asyncio.wait_for(_all(worker.drain() for worker in workers), drain_time)
    except TimeoutError:
        failures.append("The queue did not drain; some items never came back.")
    except ExceptionGroup as group:
        error = group.exceptions[0]
        failures = [f"A call failed unexpectedly: {error!r}"]
        raise FuzzFailed(_describe(settings, failures), failures) from error
    left = await stores[0].lock_next()
    if left is not None:
        failures.append(f"{left.item.id} was still queued after everything was acknowledged.")
    failures += journal.check()
    if failures:
        raise FuzzFailed(_describe(settings, failures), failures)
    return FuzzReport(seed=settings.seed, counts=dict(journal.counts))


class _Worker:
    def __init__(self, index: int, store: Store, journal: Journal, settings: FuzzSettings) -> None:
        self._index = index
        self._store = store
        self._journal = journal
        self._expiration = settings.expiration_time / 1000
        self._random = random.Random(settings.seed * 1_000 + index)
        self._discriminators = [
            f"{number}{DISCRIMINATOR_SUFFIXES[number % len(DISCRIMINATOR_SUFFIXES)]}"
            for number in range(settings.discriminators)
        ]

    async def work(self, seconds: float) -> None:
        """Produce and consume at random until the time is up."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while loop.time() < deadline:
            if self._journal.backlog() < 3 * len(self._discriminators):
                await self._enqueue()
            hold = await self._journal.lock_next(self._index, self._store)
            if hold is None:
                await asyncio.sleep(self._random.uniform(0, 0.01))
                continue
            await self._process(hold)

    async def drain(self) -> None:
        """Acknowledge at once whatever comes, until every item is acknowledged."""
        while not self._journal.everything_acknowledged():
            hold = await self._journal.lock_next(self._index, self._store)
            if hold is None:
                await asyncio.sleep(0.005)
                continue
            await self._journal.release(self._store, hold, None)

    async def _enqueue(self) -> None:
        for _ in range(self._random.randint(1, 3)):
            item = QueueItem(id=new_id(), text=self._random.choice(NAUGHTY_STRINGS))
            discriminator = self._random.choice(self._discriminators)
            await self._journal.enqueue(self._store, item, discriminator, self._priority())

    async def _process(self, hold: Hold) -> None:
        # As in the reference: up to four renewals, then acknowledge, defer or die, and now
        # and then acknowledge or defer once more, which must fail.
        for _ in range(self._random.randint(0, 4)):
            await self._pause()
            if not await self._journal.renew(self._store, hold):
                return
        await self._pause()
        fate = self._random.random()
        if fate < 0.15:
            self._journal.die()
            return
        defer_to = self._priority() if fate < 0.35 else None
        if await self._journal.release(self._store, hold, defer_to) and self._chance(0.2):
            await self._journal.release(self._store, hold, defer_to)

    async def _pause(self) -> None:
        """Mostly short, sometimes none, and one in ten outlasts the lock."""
        chance = self._random.random()
        if chance < 0.3:
            return
        factor = self._random.uniform(1.0, 1.5) if chance > 0.9 else self._random.uniform(0, 0.2)
        await asyncio.sleep(factor * self._expiration)

    def _priority(self) -> int:
        if self._chance(0.1):
            return self._random.randint(0, 2**53)
        return self._random.randint(0, 100)

    def _chance(self, probability: float) -> bool:
        return self._random.random() < probability


async def _all(coroutines: Iterable[Coroutine[Any, Any, None]]) -> None:
    """Run side by side; the first failure cancels the rest."""
    async with asyncio.TaskGroup() as group:
        for coroutine in coroutines:
            group.create_task(coroutine)


def _describe(settings: FuzzSettings, failures: list[str]) -> str:
    shown = "\n".join(f"- {failure}" for failure in failures[:20])
    more = f"\n- ... and {len(failures) - 20} more" if len(failures) > 20 else ""
    return (
        f"The priority queue fuzzer (seed {settings.seed}) found:\n{shown}{more}\n"
        f"Make the same choices again with {SEED_VARIABLE}={settings.seed}."
    )
