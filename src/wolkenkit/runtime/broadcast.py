"""Fan-out of live items (domain events, notifications) to the connections that stream them.

The runtime subscribes once per channel and decodes each message once; every open stream
gets its own bounded queue. A client that falls too far behind is cut off rather than let
its queue grow without bound.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Generic, TypeVar

ItemT = TypeVar("ItemT")

DEFAULT_BACKLOG = 10_000

logger = logging.getLogger("wolkenkit.runtime.broadcast")


class Overflowed(Exception):
    """The listener did not keep up; its stream ends."""


class Listener(Generic[ItemT]):
    def __init__(self, backlog: int) -> None:
        self._queue: asyncio.Queue[ItemT] = asyncio.Queue(maxsize=backlog)
        self.overflowed = False

    def offer(self, item: ItemT) -> None:
        try:
            self._queue.put_nowait(item)
        except asyncio.QueueFull:
            self.overflowed = True

    async def next(self, wait_seconds: float | None = None) -> ItemT | None:
        """The next item, or ``None`` after ``wait_seconds`` without one."""
        if self.overflowed and self._queue.empty():
            raise Overflowed()
        try:
            return await asyncio.wait_for(self._queue.get(), wait_seconds)
        except TimeoutError:
            return None


class Broadcast(Generic[ItemT]):
    def __init__(self, backlog: int = DEFAULT_BACKLOG) -> None:
        self._listeners: set[Listener[ItemT]] = set()
        self._backlog = backlog

    def publish(self, item: ItemT) -> None:
        for listener in self._listeners:
            listener.offer(item)

    @asynccontextmanager
    async def listen(self) -> AsyncIterator[Listener[ItemT]]:
        listener: Listener[ItemT] = Listener(self._backlog)
        self._listeners.add(listener)
        try:
            yield listener
        finally:
            self._listeners.discard(listener)
            if listener.overflowed:
                logger.warning("A stream fell behind by %d items and was closed.", self._backlog)

    @property
    def listener_count(self) -> int:
        return len(self._listeners)
