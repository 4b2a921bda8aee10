"""Fan-out of live items (domain events, notifications) to the connections that stream them.

The runtime subscribes once per channel and decodes each message once; every open stream
gets its own bounded backlog. A stream that falls ``STREAM_BACKLOG`` items behind is cut off:
it takes nothing more, what it had not read is dropped, and it ends at its next step, with a
warning in the log, rather than let its backlog grow without bound.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Generic, TypeVar

from wolkenkit.errors import StreamOverflowed

ItemT = TypeVar("ItemT")

#: How many items a stream may fall behind before it is closed. A reader that keeps up holds
#: a handful; a thousand means it cannot keep up (or stopped reading), and waiting longer would
#: only hand it stale items later.
STREAM_BACKLOG = 1_000

logger = logging.getLogger("wolkenkit.runtime.broadcast")


class Listener(Generic[ItemT]):
    """One stream's backlog: what was published since it last took items."""

    def __init__(self, backlog: int) -> None:
        self._items: deque[ItemT] = deque()
        self._backlog = backlog
        self._waiter: asyncio.Future[None] | None = None
        self.overflowed = False

    def offer(self, item: ItemT) -> bool:
        """Queue the item; ``False`` once the listener is too far behind to take any more."""
        if self.overflowed:
            return False
        if len(self._items) >= self._backlog:
            self.overflowed = True
            self._items.clear()  # nothing more will be read
        else:
            self._items.append(item)
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)
        return not self.overflowed

    async def take(self, wait_seconds: float | None = None) -> list[ItemT]:
        """Every item queued, waiting up to ``wait_seconds`` for one (an empty list when none
        came); raises ``StreamOverflowed`` once the listener has been cut off.

        A client that leaves cancels the wait. (``asyncio.wait_for`` over a queue's ``get``
        would not always let it: on Python 3.11 it returns an item that is ready instead of
        raising the ``CancelledError``, and a gone client's stream worked through its whole
        backlog.)"""
        if not self._items and not self.overflowed:
            self._waiter = asyncio.get_running_loop().create_future()
            try:
                async with asyncio.timeout(wait_seconds):
                    await self._waiter
            except TimeoutError:
                return []
            finally:
                self._waiter = None
        if self.overflowed:
            raise StreamOverflowed()
        items = list(self._items)
        self._items.clear()
        return items


class Broadcast(Generic[ItemT]):
    def __init__(self, backlog: int = STREAM_BACKLOG) -> None:
        self._listeners: set[Listener[ItemT]] = set()
        self._backlog = backlog

    def publish(self, item: ItemT) -> None:
        cut = [listener for listener in self._listeners if not listener.offer(item)]
        self._listeners.difference_update(cut)

    @asynccontextmanager
    async def listen(self) -> AsyncIterator[Listener[ItemT]]:
        listener: Listener[ItemT] = Listener(self._backlog)
        self._listeners.add(listener)
        try:
            yield listener
        finally:
            self._listeners.discard(listener)
            if listener.overflowed:
                logger.warning(
                    "A live stream fell %d items behind and was closed; its client reads too "
                    "slowly.",
                    self._backlog,
                )

    @property
    def listener_count(self) -> int:
        return len(self._listeners)
