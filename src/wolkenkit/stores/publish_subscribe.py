"""Publish/subscribe: fire-and-forget messages on named channels."""

from __future__ import annotations

import asyncio
import logging
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any

Message = dict[str, Any]
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


class QueuedSubscription(Subscription):
    """The part of a subscription every backend shares: messages the backend ``push``-es wait
    in a queue, and one task runs the callback for one message at a time, in arrival order.

    A backend's ``unsubscribe`` calls ``_stop`` around its own bookkeeping.
    """

    def __init__(self, channel: str, callback: Callback, label: str) -> None:
        self.channel = channel
        self._callback = callback
        self._label = label
        self._inbox: asyncio.Queue[Message] = asyncio.Queue()
        self._is_closed = False
        self._task = asyncio.create_task(self._run(), name=f"{label} subscription to {channel}")

    def push(self, message: Message) -> None:
        if not self._is_closed:
            self._inbox.put_nowait(message)

    async def _stop(self) -> None:
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
            message = await self._inbox.get()
            try:
                await self._callback(message)
            except Exception:
                # One failing message must not end the subscription for all that follow.
                logger.exception("A callback failed on %s channel '%s'.", self._label, self.channel)


class Subscriber(ABC):
    @abstractmethod
    async def subscribe(self, channel: str, callback: Callback) -> Subscription:
        """Call ``callback`` for every message published on ``channel`` from now on, one at a
        time and in publication order."""

    @abstractmethod
    async def destroy(self) -> None: ...
