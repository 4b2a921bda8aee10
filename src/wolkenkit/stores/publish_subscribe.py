"""Publish/subscribe: fire-and-forget messages on named channels."""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any, Generic, TypeVar

Message = dict[str, Any]
ItemT = TypeVar("ItemT")
Callback = Callable[[Message], Awaitable[None]]

logger = logging.getLogger(__name__)


class Publisher(ABC):
    @abstractmethod
    async def publish(self, channel: str, message: Message) -> None: ...

    @abstractmethod
    async def destroy(self) -> None: ...


class Subscription(ABC):
    @abstractmethod
    async def unsubscribe(self) -> None:
        """Stop delivery; no callback runs after this returns."""


class CallbackQueue(Generic[ItemT]):
    """Items ``push``-ed wait in a queue, and one task runs the callback for one item at a
    time, in arrival order: the pusher never waits for the callback, and the callback never
    runs twice at once. A failing callback is logged and the next item goes on."""

    def __init__(self, callback: Callable[[ItemT], Awaitable[None]], name: str) -> None:
        self._callback = callback
        self._name = name
        self._inbox: asyncio.Queue[ItemT] = asyncio.Queue()
        self._is_closed = False
        self._task = asyncio.create_task(self._run(), name=name)

    @property
    def is_closed(self) -> bool:
        return self._is_closed

    def push(self, item: ItemT) -> None:
        if not self._is_closed:
            self._inbox.put_nowait(item)

    async def stop(self) -> None:
        """No callback runs once this returns (called from inside the callback, the loop
        ends as soon as the callback returns)."""
        self._is_closed = True
        if self._task is asyncio.current_task():
            return
        self._task.cancel()
        # Wait for the task to end without taking on its cancellation.
        await asyncio.wait([self._task])

    async def _run(self) -> None:
        while not self._is_closed:
            item = await self._inbox.get()
            try:
                await self._callback(item)
            except Exception:
                # One failing item must not end the delivery of all that follow.
                logger.exception("A callback of %s failed.", self._name)


class QueuedSubscription(Subscription):
    """The part of a subscription every backend shares: messages the backend ``push``-es are
    handed to the callback one at a time, in arrival order (a ``CallbackQueue``).

    A backend's ``unsubscribe`` calls ``_stop`` around its own bookkeeping.
    """

    def __init__(self, channel: str, callback: Callback, label: str) -> None:
        self.channel = channel
        self._queue = CallbackQueue(callback, f"{label} subscription to channel '{channel}'")

    @property
    def _is_closed(self) -> bool:
        return self._queue.is_closed

    def push(self, message: Message) -> None:
        self._queue.push(message)

    async def _stop(self) -> None:
        await self._queue.stop()


class Subscriber(ABC):
    @abstractmethod
    async def subscribe(self, channel: str, callback: Callback) -> Subscription:
        """Call ``callback`` for every message published on ``channel`` from now on, one at a
        time and in publication order."""

    @abstractmethod
    async def destroy(self) -> None: ...
