"""Publish/subscribe over Redis channels: messages are JSON objects, fire and forget.

A subscriber keeps one connection in subscribed mode and fans the messages out to its
subscriptions. Each subscription has its own queue and task, so its callbacks run one at a
time in publication order and a slow one delays nobody else.

A subscription starts exactly at the moment ``subscribe`` returns: after ``SUBSCRIBE`` the
subscriber sends ``PING <token>`` on the same connection and lets the subscription receive only
what arrives after the token's pong. Redis answers in order, so whatever was published before
the call has passed by then, and whatever is published after the call returns comes later.

If the connection drops, the subscriber reconnects with a growing pause and subscribes to its
channels again; messages published while it was away are lost, as pub/sub promises no more.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.connection import AbstractConnection
from redis.exceptions import RedisError

from wolkenkit.errors import StoreError
from wolkenkit.messages import new_id
from wolkenkit.stores.batching import Batching
from wolkenkit.stores.publish_subscribe import (
    Callback,
    Message,
    Publisher,
    Subscriber,
    Subscription,
)
from wolkenkit.stores.redis.connection import RedisOptions, describe, unavailable
from wolkenkit.stores.redis.subscription import RedisSubscription

logger = logging.getLogger(__name__)

#: How long ``subscribe`` waits for the server to confirm before it gives up (s).
SUBSCRIBE_TIMEOUT = 10.0
#: The pauses between attempts to reconnect grow up to this (s).
MAX_RECONNECT_PAUSE = 2.0


class RedisPublisher(Publisher):
    """Publishes over one connection of its own, named ``connection_name`` in ``CLIENT LIST``.

    Messages published while a send is on its way follow together in the next one
    (:mod:`wolkenkit.stores.batching`), so concurrent publishers (command workers, each with
    an event to announce) share round trips, which cost more than the messages themselves.
    Messages go out in the order of the calls; each call returns once the server has taken
    its message. The connection is kept, since borrowing one from the pool for every send
    costs about as much as the send itself.
    """

    def __init__(self, client: Redis, connection_name: str) -> None:
        self.connection_name = connection_name
        self._client = client
        self._connection: AbstractConnection | None = None
        self._batching: Batching[tuple[str, str]] = Batching(self._send)

    async def publish(self, channel: str, message: Message) -> None:
        payload = json.dumps(message, separators=(",", ":"), ensure_ascii=False)
        await self._batching.submit((channel, payload))

    async def destroy(self) -> None:
        await self._batching.drain()
        if self._connection is not None:
            await self._client.connection_pool.release(self._connection)
            self._connection = None
        await self._client.aclose()

    async def _send(self, messages: list[tuple[str, str]]) -> None:
        try:
            if self._connection is None:
                # redis-py leaves the pool's get_connection untyped.
                pool = self._client.connection_pool
                self._connection = await pool.get_connection()  # type: ignore[no-untyped-call]
            connection = self._connection
            commands = connection.pack_commands(
                ("PUBLISH", channel, payload) for channel, payload in messages
            )

            async def send() -> None:
                try:
                    await connection.send_packed_command(commands, check_health=False)
                    for _ in messages:
                        await connection.read_response()
                except BaseException:
                    # Replies may be left unread, so the connection cannot be trusted with
                    # another command; the next attempt connects again.
                    await connection.disconnect(nowait=True)
                    raise

            # The driver's retries, as the client's own commands get them: the connection is
            # broken after a restart of Redis, and a retry connects again (see
            # ``create_publisher``).
            await connection.retry.call_with_retry(send, _ignore)
        except RedisError as error:
            raise unavailable("Redis publisher", error) from None


async def _ignore(error: Exception) -> None:
    """The failure handler of a retry; ``send`` has disconnected already."""


class RedisSubscriber(Subscriber):
    """One subscribed connection for any number of subscriptions; ``destroy`` ends them all.

    ``connection_name`` is the name the connection shows in ``CLIENT LIST``.
    """

    def __init__(self, client: Redis, options: RedisOptions, connection_name: str) -> None:
        self.connection_name = connection_name
        self._client = client
        self._address = f"{options.host_name}:{options.port}"
        self._pubsub = client.pubsub()
        # Subscriptions by channel, including those still waiting for their pong.
        self._channels: dict[str, dict[RedisSubscription, None]] = {}
        self._waiting: dict[str, tuple[RedisSubscription, asyncio.Future[None]]] = {}
        # Serialises commands on the connection with replacing the connection.
        self._lock = asyncio.Lock()
        self._chores: set[asyncio.Task[None]] = set()
        self._reader: asyncio.Task[None] | None = None
        self._is_closed = False

    async def start(self) -> None:
        # redis-py leaves PubSub's connect and aclose untyped, hence the ignores below.
        await self._pubsub.connect()  # type: ignore[no-untyped-call]
        self._reader = asyncio.create_task(self._read(), name="Redis subscriber")

    async def subscribe(self, channel: str, callback: Callback) -> Subscription:
        if self._is_closed:
            raise StoreError("The Redis subscriber has been destroyed.")
        subscription = RedisSubscription(channel, callback, self._forget)
        token = new_id()
        confirmed = asyncio.get_running_loop().create_future()
        self._waiting[token] = (subscription, confirmed)
        try:
            async with asyncio.timeout(SUBSCRIBE_TIMEOUT):
                async with self._lock:
                    is_new = channel not in self._channels
                    self._channels.setdefault(channel, {})[subscription] = None
                    await self._send(channel if is_new else None, token)
                await confirmed
        except BaseException as error:
            self._waiting.pop(token, None)
            await subscription.unsubscribe()
            if isinstance(error, TimeoutError):
                raise StoreError(
                    f"The Redis subscriber got no answer from {self._address} when "
                    f"subscribing to '{channel}'."
                ) from None
            raise
        return subscription

    async def destroy(self) -> None:
        self._is_closed = True
        for _, confirmed in self._waiting.values():
            if not confirmed.done():
                confirmed.set_exception(StoreError("The Redis subscriber has been destroyed."))
        for subscriptions in list(self._channels.values()):
            for subscription in list(subscriptions):
                await subscription.unsubscribe()
        for task in [self._reader, *self._chores]:
            if task is not None:
                task.cancel()
                await asyncio.wait([task])
        await self._pubsub.aclose()
        await self._client.aclose()

    async def _send(self, channel: str | None, token: str) -> None:
        """Subscribe to ``channel`` (if given) and ping with the token; a failure is left to
        the reader, which repeats both on the next connection."""
        with contextlib.suppress(RedisError):
            if channel is not None:
                await self._pubsub.subscribe(channel)
            await self._pubsub.ping(token)

    async def _read(self) -> None:
        pause = 0.0
        while True:
            try:
                if pause:
                    await self._reconnect()
                    logger.info("The Redis subscriber reconnected to %s.", self._address)
                    pause = 0.0
                while True:
                    self._handle(await self._pubsub.get_message(timeout=None))
            except Exception as error:
                # Whatever broke the connection, a new one is the way out; only
                # cancellation, from destroy, ends the reader.
                if not pause:
                    logger.warning(
                        "The Redis subscriber lost %s (%s); reconnecting.",
                        self._address,
                        describe(error),
                    )
                await asyncio.sleep(pause)
                pause = min(MAX_RECONNECT_PAUSE, max(0.05, pause * 2))

    async def _reconnect(self) -> None:
        async with self._lock:
            await self._pubsub.aclose()
            self._pubsub = self._client.pubsub()
            await self._pubsub.connect()  # type: ignore[no-untyped-call]
            if self._channels:
                await self._pubsub.subscribe(*self._channels)
            for token in self._waiting:
                await self._pubsub.ping(token)

    def _handle(self, response: dict[str, Any] | None) -> None:
        if response is None:
            return
        if response["type"] == "message":
            self._deliver(response["channel"].decode(), response["data"])
        elif response["type"] == "pong":
            waiting = self._waiting.pop(response["data"].decode(), None)
            if waiting is not None:
                subscription, confirmed = waiting
                subscription.is_attached = True
                if not confirmed.done():
                    confirmed.set_result(None)

    def _deliver(self, channel: str, data: bytes) -> None:
        subscriptions = self._channels.get(channel)
        if not subscriptions:
            return
        try:
            message = json.loads(data)
        except ValueError:
            logger.warning("The Redis subscriber skipped a non-JSON message on '%s'.", channel)
            return
        for subscription in subscriptions:
            if subscription.is_attached:
                subscription.push(message)

    def _forget(self, subscription: RedisSubscription) -> None:
        subscriptions = self._channels.get(subscription.channel)
        if subscriptions is None:
            return
        subscriptions.pop(subscription, None)
        if not subscriptions and not self._is_closed:
            # Leaving the channel waits for the lock, and unsubscribe must not.
            chore = asyncio.create_task(self._leave(subscription.channel))
            self._chores.add(chore)
            chore.add_done_callback(self._chores.discard)

    async def _leave(self, channel: str) -> None:
        async with self._lock:
            if self._channels.get(channel):
                return  # Someone subscribed again meanwhile.
            self._channels.pop(channel, None)
            # On failure, the next connection subscribes only to the channels still wanted.
            with contextlib.suppress(RedisError):
                await self._pubsub.unsubscribe(channel)
