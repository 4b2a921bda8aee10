"""Redis backends: the lock store and publish/subscribe.

The factory functions below serve ``wolkenkit.stores.factory`` for ``{"type": "Redis"}``.
Each connects before it returns, so a wrong address fails at start-up in one line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from wolkenkit.messages import new_id
from wolkenkit.stores.options import parse_options
from wolkenkit.stores.redis.connection import RedisLockStoreOptions, RedisOptions, connect
from wolkenkit.stores.redis.lock_store import RedisLockStore
from wolkenkit.stores.redis.publish_subscribe import RedisPublisher, RedisSubscriber

__all__ = [
    "RedisLockStore",
    "RedisPublisher",
    "RedisSubscriber",
    "create_lock_store",
    "create_publisher",
    "create_subscriber",
]


async def create_lock_store(options: Mapping[str, Any]) -> RedisLockStore:
    store = "Redis lock store"
    parsed = parse_options(RedisLockStoreOptions, options, store)
    client = await connect(parsed, store, name="wolkenkit-locks")
    return RedisLockStore(client, parsed.list_names.locks)


async def create_publisher(options: Mapping[str, Any]) -> RedisPublisher:
    store = "Redis publisher"
    parsed = parse_options(RedisOptions, options, store)
    # The driver retries on a broken connection, which a pooled connection is after a server
    # restart. Should a connection break between a PUBLISH and its reply, the retry delivers
    # the message twice: a rare duplicate is cheaper than a publisher that fails after every
    # restart of Redis.
    name = f"wolkenkit-publisher-{new_id()[:8]}"
    return RedisPublisher(await connect(parsed, store, name=name), name)


async def create_subscriber(options: Mapping[str, Any]) -> RedisSubscriber:
    store = "Redis subscriber"
    parsed = parse_options(RedisOptions, options, store)
    # The subscriber reconnects by itself, so the driver must not retry underneath it.
    name = f"wolkenkit-subscriber-{new_id()[:8]}"
    client = await connect(parsed, store, name=name, retries=0)
    subscriber = RedisSubscriber(client, parsed, name)
    await subscriber.start()
    return subscriber
