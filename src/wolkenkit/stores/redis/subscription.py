"""One subscription of a Redis subscriber: a queue of messages and the task that drains it."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from wolkenkit.stores.publish_subscribe import Callback, Message, Subscription

logger = logging.getLogger(__name__)


class RedisSubscription(Subscription):
    """Runs its callback for one message at a time, in the order the messages came.

    It receives nothing until the subscriber sets ``is_attached``, which happens once the
    server has confirmed the subscription.
    """

    def __init__(
        self,
        channel: str,
        callback: Callback,
        on_unsubscribe: Callable[[RedisSubscription], None],
    ) -> None:
        self.channel = channel
        self.is_attached = False
        self._callback = callback
        self._on_unsubscribe = on_unsubscribe
        self._inbox: asyncio.Queue[Message] = asyncio.Queue()
        self._is_closed = False
        self._task = asyncio.create_task(self._run(), name=f"Redis subscription to {channel}")

    def push(self, message: Message) -> None:
        if not self._is_closed:
            self._inbox.put_nowait(message)

    async def unsubscribe(self) -> None:
        if self._is_closed:
            return
        self._is_closed = True
        self._on_unsubscribe(self)
        if self._task is asyncio.current_task():
            # Called from our own callback: the loop stops once the callback returns.
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
                # A failing callback must not end the subscription for later messages.
                logger.exception("A callback failed on Redis channel '%s'.", self.channel)
