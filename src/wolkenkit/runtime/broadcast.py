"""Fan-out of live items (domain events, notifications) to the connections that stream them.

The runtime subscribes once per channel and decodes each message once. Streams that would
prepare an item alike (the same client with the same filter) form an *audience*: the
audience prepares each item once, in rounds, and hands each round's results to every one of
its streams in one step. Publishing costs one append per audience, whatever the number of
streams; a stream wakes once per round, not once per item.

A round runs as soon as an item comes to a quiet audience; under load, at most once per the
audience's ``interval``, taking everything published meanwhile, so that hundreds of streams
write a few times per interval rather than once per item each. With many streams open, the
rounds come further apart still: together, the streams of a broadcast wake at most about
``WAKE_UPS_PER_SECOND`` times a second under load (each wake-up is a write to a socket).

Every stream keeps its own bounded backlog of what its audience prepared for it. A stream
that falls ``STREAM_BACKLOG`` items behind is cut off: it takes nothing more, what it had not
read is dropped, and it ends at its next step, with a warning in the log, rather than let its
backlog grow without bound.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Generic, TypeVar, overload

from wolkenkit.errors import StreamClosed, StreamOverflowed

ItemT = TypeVar("ItemT")
OutT = TypeVar("OutT")

#: How many items a stream may fall behind before it is closed. A reader that keeps up holds
#: a handful; a thousand means it cannot keep up (or stopped reading), and waiting longer would
#: only hand it stale items later.
STREAM_BACKLOG = 1_000

#: Under load, how often per second the paced streams of one broadcast may wake in all. A
#: wake-up writes to a socket, about 10 µs of CPU: 10,000 a second are a tenth of a core.
#: Up to 100 streams, their ``interval`` alone paces them; 250 streams get a round every
#: 25 ms, 1,000 every 100 ms. The first item after a quiet spell still goes out at once.
WAKE_UPS_PER_SECOND = 10_000

logger = logging.getLogger("wolkenkit.runtime.broadcast")


class Listener(Generic[OutT]):
    """One stream's backlog: what its audience prepared for it since it last took items."""

    def __init__(self, backlog: int, since: int) -> None:
        self._items: deque[OutT] = deque()
        #: How many published items ``_items`` stand for (a joined output stands for several).
        self._held = 0
        self._backlog = backlog
        self._waiter: asyncio.Future[None] | None = None
        #: The audience's count of published items when this listener joined: it gets only
        #: what was published from then on.
        self.since = since
        self.overflowed = False
        self.closed = False
        self._loop = asyncio.get_running_loop()
        self._taken_at = self._loop.time()
        self._quiet_timer: asyncio.TimerHandle | None = None

    def _hand(self, items: list[OutT], count: int) -> bool:
        """Queue the items, which stand for ``count`` published ones; ``False`` once the
        listener is too far behind to take any more."""
        if self.closed:
            return False
        if self._held + count > self._backlog:
            self.overflowed = True
            self._close()
            return False
        self._items.extend(items)
        self._held += count
        self._wake()
        return True

    def _close(self) -> None:
        self.closed = True
        self._drop()  # nothing more will be read
        self._wake()

    def _drop(self) -> None:
        self._items.clear()
        self._held = 0

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def take(self, quiet_seconds: float | None = None) -> list[OutT]:
        """Every item queued, waiting for one; an empty list once ``quiet_seconds`` have
        passed since the last ``take`` returned. Raises ``StreamOverflowed`` once the listener has
        been cut off, ``StreamClosed`` once its audience ended it.

        A client that leaves cancels the wait. (``asyncio.wait_for`` over a queue's ``get``
        would not always let it: on Python 3.11 it returns an item that is ready instead of
        raising the ``CancelledError``, and a gone client's stream worked through its whole
        backlog.)"""
        if not self._items and not self.closed:
            self._waiter = self._loop.create_future()
            if quiet_seconds is not None and self._quiet_timer is None:
                # One timer per quiet period, not one per take: it is armed rarely under load.
                self._quiet_timer = self._loop.call_at(
                    self._taken_at + quiet_seconds, self._on_quiet_timer, quiet_seconds
                )
            try:
                await self._waiter
            except BaseException:
                self._stop_quiet_timer()
                raise
            finally:
                self._waiter = None
        self._taken_at = self._loop.time()
        if self.closed:
            self._stop_quiet_timer()
            raise StreamOverflowed() if self.overflowed else StreamClosed()
        items = list(self._items)
        self._drop()
        return items

    def _left(self) -> None:
        """Nothing more for a listener that left: let go of its backlog and its timer."""
        self._drop()
        self._stop_quiet_timer()

    def _on_quiet_timer(self, quiet_seconds: float) -> None:
        self._quiet_timer = None
        if self._waiter is None or self._waiter.done():
            return  # re-armed by the next wait
        due = self._taken_at + quiet_seconds
        if self._loop.time() >= due:
            self._waiter.set_result(None)  # woken without items: quiet
        else:
            self._quiet_timer = self._loop.call_at(due, self._on_quiet_timer, quiet_seconds)

    def _stop_quiet_timer(self) -> None:
        if self._quiet_timer is not None:
            self._quiet_timer.cancel()
            self._quiet_timer = None


class _Audience(Generic[ItemT, OutT]):
    """Listeners that share one preparation of every item, and the rounds that run it."""

    def __init__(
        self,
        key: Hashable,
        prepare: Callable[[ItemT], Awaitable[OutT | None]] | None,
        join: Callable[[list[OutT]], OutT] | None,
        interval: float,
        on_cut: Callable[[_Audience[Any, Any], Listener[Any]], None],
        pause: Callable[[float], float],
    ) -> None:
        self.key = key
        self._prepare = prepare
        self._join = join
        self._interval = interval
        self._on_cut = on_cut
        self._pause = pause
        #: A dict for its order and its quick removal.
        self.listeners: dict[Listener[OutT], None] = {}
        self._pending: list[ItemT] = []
        #: How many items were published to this audience so far.
        self.published = 0
        self._rounds: asyncio.Task[None] | None = None

    def offer(self, item: ItemT) -> None:
        self._pending.append(item)
        self.published += 1
        if self._rounds is None:
            self._rounds = asyncio.get_running_loop().create_task(self._run_rounds())

    def stop(self) -> None:
        if self._rounds is not None:
            self._rounds.cancel()
            self._rounds = None

    async def _run_rounds(self) -> None:
        try:
            while self._pending and self.listeners:
                await self._round()
                # Whatever comes in the meantime waits for the next round.
                await asyncio.sleep(self._pause(self._interval))
        except Exception:
            logger.exception("Preparing items for live streams failed; those streams end.")
            for listener in list(self.listeners):
                listener._close()
                self._on_cut(self, listener)
        finally:
            if self._rounds is asyncio.current_task():
                self._rounds = None

    async def _round(self) -> None:
        first = self.published - len(self._pending)
        items, self._pending = self._pending, []
        prepared: list[tuple[int, OutT]] = []
        for number, item in enumerate(items, first):
            if self._prepare is None:
                prepared.append((number, item))  # type: ignore[arg-type]  # OutT is ItemT here
            elif (output := await self._prepare(item)) is not None:
                prepared.append((number, output))
        if not prepared:
            return
        shared = self._joined([output for _, output in prepared])
        for listener in list(self.listeners):
            # Who joined during the round gets only what was published after it joined.
            if listener.since > first:
                own = [output for number, output in prepared if number >= listener.since]
                handed, count = self._joined(own), len(own)
            else:
                handed, count = shared, len(prepared)
            if count and not listener._hand(handed, count):
                self._on_cut(self, listener)

    def _joined(self, outputs: list[OutT]) -> list[OutT]:
        """The round's outputs as listeners get them: joined into one, once for all of them,
        where the audience joins its outputs."""
        if self._join is None or len(outputs) < 2:
            return outputs
        return [self._join(outputs)]


class Broadcast(Generic[ItemT]):
    def __init__(
        self, backlog: int = STREAM_BACKLOG, wake_ups_per_second: float = WAKE_UPS_PER_SECOND
    ) -> None:
        self._audiences: dict[Hashable, _Audience[ItemT, Any]] = {}
        self._backlog = backlog
        self._wake_ups_per_second = wake_ups_per_second
        self._listener_count = 0

    def publish(self, item: ItemT) -> None:
        for audience in self._audiences.values():
            audience.offer(item)

    @overload
    def listen(self) -> AbstractAsyncContextManager[Listener[ItemT]]: ...

    @overload
    def listen(
        self,
        audience: Hashable,
        prepare: Callable[[ItemT], Awaitable[OutT | None]],
        interval: float = 0,
        join: Callable[[list[OutT]], OutT] | None = None,
    ) -> AbstractAsyncContextManager[Listener[OutT]]: ...

    def listen(
        self,
        audience: Hashable | None = None,
        prepare: Callable[[ItemT], Awaitable[Any]] | None = None,
        interval: float = 0,
        join: Callable[[list[Any]], Any] | None = None,
    ) -> AbstractAsyncContextManager[Listener[Any]]:
        """A listener for what is published from now on, prepared by ``prepare`` (each item as
        it is without) and, with ``join``, handed over joined into one per round (NDJSON lines
        into one chunk to write, made once for all the audience's streams). Listeners with
        equal ``audience`` keys share one preparation, so the key must name everything
        ``prepare`` depends on, and equal keys come with equal ``prepare``, ``interval`` and
        ``join``. Without a key, the listener is an audience of its own."""
        key = object() if audience is None else audience
        return self._listening(key, prepare, interval, join)

    @asynccontextmanager
    async def _listening(
        self,
        key: Hashable,
        prepare: Callable[[ItemT], Awaitable[Any]] | None,
        interval: float,
        join: Callable[[list[Any]], Any] | None,
    ) -> AsyncIterator[Listener[Any]]:
        audience = self._audiences.get(key)
        if audience is None:
            audience = self._audiences[key] = _Audience(
                key, prepare, join, interval, self._leave, self._pause
            )
        listener: Listener[Any] = Listener(self._backlog, audience.published)
        audience.listeners[listener] = None
        self._listener_count += 1
        try:
            yield listener
        finally:
            self._leave(audience, listener)
            if listener.overflowed:
                logger.warning(
                    "A live stream fell %d items behind and was closed; its client reads too "
                    "slowly.",
                    self._backlog,
                )

    def _pause(self, interval: float) -> float:
        """How long an audience paced by ``interval`` waits after a round (an unpaced one, 0,
        is not paced here either)."""
        if not interval:
            return 0
        return max(interval, self._listener_count / self._wake_ups_per_second)

    def _leave(self, audience: _Audience[Any, Any], listener: Listener[Any]) -> None:
        """Once for each listener: when it leaves, or when it is cut off before."""
        if listener in audience.listeners:
            del audience.listeners[listener]
            self._listener_count -= 1
            listener._left()
        if not audience.listeners and self._audiences.get(audience.key) is audience:
            del self._audiences[audience.key]
            audience.stop()

    @property
    def listener_count(self) -> int:
        return self._listener_count
