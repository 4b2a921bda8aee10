"""One subscription of a Redis subscriber: a queue of messages and the task that drains it."""

from __future__ import annotations

import logging
from collections.abc import Callable

from wolkenkit.stores.publish_subscribe import Callback, QueuedSubscription

logger = logging.getLogger(__name__)


class RedisSubscription(QueuedSubscription):
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
        super().__init__(channel, callback, "Redis")
        self.is_attached = False
        self._on_unsubscribe = on_unsubscribe

    async def unsubscribe(self) -> None:
        if self._is_closed:
            return
        self._on_unsubscribe(self)
        await self._stop()
