"""Publish/subscribe over PostgreSQL's LISTEN and NOTIFY.

Publishers notify through their pool; each subscriber keeps one connection of its own that
listens on the channels of its subscriptions. Delivery is fire-and-forget, like the reference's
Redis pub/sub: a subscription hears what is published after ``subscribe`` returns, in commit
order. If the subscriber's connection breaks, it reconnects and listens again; what was
published in between is lost.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import asyncpg

from wolkenkit.errors import StoreError
from wolkenkit.stores.postgres.connection import DriverErrors
from wolkenkit.stores.postgres.notifications import Assembler, channel_name, encode
from wolkenkit.stores.postgres.pool import Connect, ConnectionPool
from wolkenkit.stores.publish_subscribe import (
    Callback,
    Message,
    Publisher,
    QueuedSubscription,
    Subscriber,
    Subscription,
)

PUBLISHER = "PostgreSQL publisher"
SUBSCRIBER = "PostgreSQL subscriber"
#: Seconds between attempts to reconnect a subscriber, doubling up to the second value.
RECONNECT_DELAYS = (0.1, 5.0)

logger = logging.getLogger(__name__)

_NOTIFY = "SELECT pg_notify($1, $2)"


class PostgresPublisher(Publisher):
    def __init__(self, pool: ConnectionPool, namespace: str | None) -> None:
        self._pool = pool
        self._namespace = namespace
        self._errors = DriverErrors(PUBLISHER)

    async def publish(self, channel: str, message: Message) -> None:
        name = channel_name(self._namespace, channel)
        payloads = encode(message)
        with self._errors:
            if len(payloads) == 1:
                await self._pool.execute(_NOTIFY, name, payloads[0])
                return
            # One transaction, so the parts reach listeners back to back.
            await self._pool.executemany(_NOTIFY, [(name, payload) for payload in payloads])

    async def destroy(self) -> None:
        await self._pool.close()


class PostgresSubscription(QueuedSubscription):
    """Runs its callback for one message at a time, in the order the messages arrived."""

    def __init__(
        self,
        channel: str,
        callback: Callback,
        on_unsubscribe: Callable[[PostgresSubscription], Awaitable[None]],
    ) -> None:
        super().__init__(channel, callback, "PostgreSQL")
        self._on_unsubscribe = on_unsubscribe

    async def unsubscribe(self) -> None:
        if self._is_closed:
            return
        await self._stop()
        await self._on_unsubscribe(self)


class PostgresSubscriber(Subscriber):
    """One listening connection for all of its subscriptions, reconnected when it breaks."""

    def __init__(self, connect: Connect, namespace: str | None) -> None:
        self._connect = connect
        self._namespace = namespace
        self._errors = DriverErrors(SUBSCRIBER)
        self._connection: asyncpg.Connection | None = None
        # Serialises LISTEN, UNLISTEN and reconnecting on the one connection.
        self._lock = asyncio.Lock()
        self._subscriptions: dict[str, dict[PostgresSubscription, None]] = {}
        self._assembler = Assembler()
        self._reconnecting: asyncio.Task[None] | None = None
        self._is_destroyed = False

    async def start(self) -> None:
        async with self._lock:
            await self._open()

    async def subscribe(self, channel: str, callback: Callback) -> Subscription:
        name = channel_name(self._namespace, channel)
        async with self._lock:
            if self._is_destroyed:
                raise StoreError(f"The {SUBSCRIBER} has been destroyed.")
            with self._errors:
                connection = self._connection or await self._open()
                if name not in self._subscriptions:
                    await connection.add_listener(name, self._on_notification)
                    self._subscriptions[name] = {}
            subscription = PostgresSubscription(channel, callback, self._forget)
            self._subscriptions[name][subscription] = None
        return subscription

    async def destroy(self) -> None:
        self._is_destroyed = True
        if self._reconnecting is not None:
            self._reconnecting.cancel()
        for subscriptions in list(self._subscriptions.values()):
            for subscription in list(subscriptions):
                await subscription.unsubscribe()
        async with self._lock:
            if self._connection is not None:
                connection, self._connection = self._connection, None
                await connection.close()

    async def _open(self) -> asyncpg.Connection:
        connection = await self._connect()
        try:
            for name in self._subscriptions:
                await connection.add_listener(name, self._on_notification)
        except BaseException:
            connection.terminate()
            raise
        connection.add_termination_listener(self._on_termination)
        self._connection = connection
        return connection

    def _on_notification(self, connection: object, pid: int, channel: str, payload: object) -> None:
        message = self._assembler.feed(channel, str(payload))
        if message is None:
            return
        for subscription in self._subscriptions.get(channel, ()):
            subscription.push(message)

    def _on_termination(self, connection: object) -> None:
        if self._is_destroyed or connection is not self._connection:
            return
        self._connection = None
        logger.warning("The %s lost its connection; reconnecting.", SUBSCRIBER)
        self._reconnecting = asyncio.ensure_future(self._reconnect())

    async def _reconnect(self) -> None:
        delay, longest = RECONNECT_DELAYS
        while not self._is_destroyed:
            async with self._lock:
                if self._connection is not None:
                    return
                try:
                    await self._open()
                    return
                except (asyncpg.PostgresError, asyncpg.InterfaceError, OSError) as error:
                    logger.warning("The %s cannot reconnect yet: %s", SUBSCRIBER, error)
            await asyncio.sleep(delay)
            delay = min(2 * delay, longest)

    async def _forget(self, subscription: PostgresSubscription) -> None:
        name = channel_name(self._namespace, subscription.channel)
        async with self._lock:
            subscriptions = self._subscriptions.get(name)
            if subscriptions is None:
                return
            subscriptions.pop(subscription, None)
            if subscriptions:
                return
            del self._subscriptions[name]
            if self._connection is not None and not self._connection.is_closed():
                # A connection that fails here is going away, and its listens end with it.
                with contextlib.suppress(asyncpg.PostgresError, asyncpg.InterfaceError, OSError):
                    await self._connection.remove_listener(name, self._on_notification)
