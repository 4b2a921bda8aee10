"""Publish/subscribe within one process: publishers and subscribers meet at a shared hub.

Each subscription owns a queue and a task that drains it, so a slow callback delays only its
own subscription, and its callbacks run one at a time in publication order. Messages are
handed to every subscription as the same dict: callbacks must not change them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from wolkenkit.stores.publish_subscribe import (
    Callback,
    Message,
    Publisher,
    QueuedSubscription,
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


class _InMemorySubscription(QueuedSubscription):
    def __init__(
        self,
        hub: InMemoryPubSub,
        channel: str,
        callback: Callback,
        on_unsubscribe: Callable[[_InMemorySubscription], None],
    ) -> None:
        super().__init__(channel, callback, "in-memory")
        self._hub = hub
        self._on_unsubscribe = on_unsubscribe
        hub.attach(channel, self)

    async def unsubscribe(self) -> None:
        if self._is_closed:
            return
        self._hub.detach(self.channel, self)
        self._on_unsubscribe(self)
        await self._stop()


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
