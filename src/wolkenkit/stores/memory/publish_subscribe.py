"""Publish/subscribe within one process: publishers and subscribers meet at a shared hub.

Each subscription owns a queue and a task that drains it, so a slow callback delays only its
own subscription, and its callbacks run one at a time in publication order. Messages are
handed to every subscription as the same dict: callbacks must not change them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from wolkenkit.stores.publish_subscribe import (
    Callback,
    Message,
    Publisher,
    Subscriber,
    Subscription,
)

logger = logging.getLogger(__name__)


class InMemoryPubSub:
    """The hub: which subscriptions listen on which channel. Share one between the
    publishers and subscribers that should reach each other."""

    def __init__(self) -> None:
        # Dicts used as ordered sets: subscriptions are served in the order they were made.
        self._subscriptions: dict[str, dict[_InMemorySubscription, None]] = {}

    def deliver(self, channel: str, message: Message) -> None:
        """Queue the message for every subscription on the channel."""
        for subscription in self._subscriptions.get(channel, {}):
            subscription.push(message)

    def attach(self, channel: str, subscription: _InMemorySubscription) -> None:
        self._subscriptions.setdefault(channel, {})[subscription] = None

    def detach(self, channel: str, subscription: _InMemorySubscription) -> None:
        subscriptions = self._subscriptions.get(channel)
        if subscriptions is None:
            return
        subscriptions.pop(subscription, None)
        if not subscriptions:
            del self._subscriptions[channel]


class _InMemorySubscription(Subscription):
    def __init__(
        self,
        hub: InMemoryPubSub,
        channel: str,
        callback: Callback,
        on_unsubscribe: Callable[[_InMemorySubscription], None],
    ) -> None:
        self._hub = hub
        self._channel = channel
        self._callback = callback
        self._on_unsubscribe = on_unsubscribe
        self._messages: asyncio.Queue[Message] = asyncio.Queue()
        self._is_closed = False
        self._task = asyncio.create_task(self._deliver(), name=f"subscription to {channel}")
        hub.attach(channel, self)

    def push(self, message: Message) -> None:
        self._messages.put_nowait(message)

    async def _deliver(self) -> None:
        while not self._is_closed:
            message = await self._messages.get()
            try:
                await self._callback(message)
            except Exception:
                # One failing message must not end the subscription for all that follow.
                logger.exception("A subscriber's callback failed on channel '%s'.", self._channel)

    async def unsubscribe(self) -> None:
        self._is_closed = True
        self._hub.detach(self._channel, self)
        self._on_unsubscribe(self)
        if self._task is asyncio.current_task():
            # Called from our own callback: the loop ends once the callback returns.
            return
        self._task.cancel()
        # Wait without re-raising the task's cancellation, yet stay cancellable ourselves.
        await asyncio.wait([self._task])


class InMemoryPublisher(Publisher):
    def __init__(self, hub: InMemoryPubSub) -> None:
        self._hub = hub

    async def publish(self, channel: str, message: Message) -> None:
        self._hub.deliver(channel, message)

    async def destroy(self) -> None:
        pass


class InMemorySubscriber(Subscriber):
    """Subscribes at a hub; ``destroy`` ends all of its subscriptions."""

    def __init__(self, hub: InMemoryPubSub) -> None:
        self._hub = hub
        # Only live subscriptions, so subscribing and unsubscribing forever leaks nothing.
        self._subscriptions: dict[_InMemorySubscription, None] = {}

    async def subscribe(self, channel: str, callback: Callback) -> Subscription:
        subscription = _InMemorySubscription(self._hub, channel, callback, self._forget)
        self._subscriptions[subscription] = None
        return subscription

    async def destroy(self) -> None:
        for subscription in list(self._subscriptions):
            await subscription.unsubscribe()

    def _forget(self, subscription: _InMemorySubscription) -> None:
        self._subscriptions.pop(subscription, None)
