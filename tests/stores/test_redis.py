"""The Redis lock store and publish/subscribe against their contracts, plus what only Redis
shows: key layout, options, unreachable servers, separate clients racing, reconnecting."""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis

from tests.stores.helpers import eventually, set_up
from wolkenkit import errors
from wolkenkit.messages import new_id, now_ms
from wolkenkit.stores import factory
from wolkenkit.stores.lock_store import NEVER_EXPIRES
from wolkenkit.stores.redis import (
    RedisLockStore,
    RedisPublisher,
    RedisSubscriber,
    create_lock_store,
    create_publisher,
    create_subscriber,
)
from wolkenkit.testing.contracts.lock_store import LockStoreContract
from wolkenkit.testing.contracts.publish_subscribe import Inbox, PublishSubscribeContract

pytestmark = pytest.mark.redis

SERVER: dict[str, Any] = {"type": "Redis", "hostName": "127.0.0.1", "port": 6379}


@pytest.fixture
async def redis() -> AsyncIterator[Redis]:
    """A plain client for looking behind the stores' backs."""
    client = Redis(host="127.0.0.1", port=6379)
    yield client
    await client.aclose()


@pytest.fixture
async def prefix(redis: Redis) -> AsyncIterator[str]:
    """A key prefix of this test's own; its keys are removed afterwards."""
    prefix = f"test-locks-{new_id()}"
    yield prefix
    keys = [key async for key in redis.scan_iter(match=f"{prefix}_*")]
    if keys:
        await redis.delete(*keys)


def lock_options(prefix: str) -> dict[str, Any]:
    return {**SERVER, "listNames": {"locks": prefix}}


class TestRedisLockStore(LockStoreContract):
    @pytest.fixture
    async def store(self, prefix: str) -> AsyncIterator[RedisLockStore]:
        async with set_up(await create_lock_store(lock_options(prefix))) as store:
            yield store

    async def test_locks_are_keys_named_by_the_values_hash(
        self, store: RedisLockStore, prefix: str, redis: Redis
    ) -> None:
        # As in the reference: <listNames.locks>_<sha256 hex>, and Redis keeps the expiry.
        value = "Grüße"
        key = f"{prefix}_{hashlib.sha256(value.encode()).hexdigest()}"

        await store.acquire_lock(value, now_ms() + 60_000)
        assert 0 < await redis.pttl(key) <= 60_000

        await store.renew_lock(value, NEVER_EXPIRES)
        assert await redis.pttl(key) == -1  # held, without an expiry

        await store.release_lock(value)
        assert not await redis.exists(key)

    async def test_separate_clients_get_the_lock_once(self, prefix: str) -> None:
        # Stores in different processes share nothing but the server; model them as stores
        # with clients of their own, racing for one lock.
        stores = [await create_lock_store(lock_options(prefix)) for _ in range(5)]
        value = new_id()

        async def try_to_acquire(store: RedisLockStore) -> bool:
            try:
                await store.acquire_lock(value, now_ms() + 60_000)
            except errors.LockAcquireFailed:
                return False
            return True

        try:
            results = await asyncio.gather(*(try_to_acquire(store) for store in stores * 4))
        finally:
            for store in stores:
                await store.destroy()

        assert results.count(True) == 1


class TestRedisPublishSubscribe(PublishSubscribeContract):
    @pytest.fixture
    async def publisher(self) -> AsyncIterator[RedisPublisher]:
        publisher = await create_publisher(SERVER)
        yield publisher
        await publisher.destroy()

    @pytest.fixture
    async def subscriber(self) -> AsyncIterator[RedisSubscriber]:
        subscriber = await create_subscriber(SERVER)
        yield subscriber
        await subscriber.destroy()

    async def test_the_last_subscription_leaves_the_channel(
        self, subscriber: RedisSubscriber, redis: Redis
    ) -> None:
        # The server forgets a channel that nobody here listens to any more.
        channel = f"channel-{new_id()}"
        subscriptions = [await subscriber.subscribe(channel, Inbox()) for _ in range(2)]
        assert await redis.pubsub_numsub(channel) == [(channel.encode(), 1)]

        for subscription in subscriptions:
            await subscription.unsubscribe()

        async def channel_is_gone() -> bool:
            return await redis.pubsub_numsub(channel) == [(channel.encode(), 0)]

        await eventually(channel_is_gone)

    async def test_concurrent_publishers_share_one_connection_in_call_order(
        self, publisher: RedisPublisher, subscriber: RedisSubscriber, redis: Redis
    ) -> None:
        # Messages published while others are on their way follow them together, over the
        # publisher's one connection, and still arrive in the order of the calls.
        channel, inbox = f"channel-{new_id()}", Inbox()
        await subscriber.subscribe(channel, inbox)

        await asyncio.gather(
            *(publisher.publish(channel, {"index": index}) for index in range(300))
        )

        await inbox.wait_for(300)
        assert inbox.messages == [{"index": index} for index in range(300)]
        names = [client["name"] for client in await redis.client_list()]
        assert names.count(publisher.connection_name) == 1

    async def test_the_subscriber_reconnects_after_losing_its_connection(
        self, publisher: RedisPublisher, subscriber: RedisSubscriber, redis: Redis
    ) -> None:
        # When the server drops the subscriber's connection, it connects again and listens on
        # the same channels. What is published while it is away is lost, as pub/sub allows.
        channel, inbox = f"channel-{new_id()}", Inbox()
        await subscriber.subscribe(channel, inbox)
        await publisher.publish(channel, {"index": 0})
        await inbox.wait_for(1)

        assert await _kill_connections(redis, subscriber.connection_name) == 1

        async def publish_and_check() -> bool:
            await publisher.publish(channel, {"index": 1})
            return len(inbox.messages) > 1

        await eventually(publish_and_check)
        assert inbox.messages[0] == {"index": 0}
        assert {"index": 1} in inbox.messages[1:]

    async def test_the_publisher_survives_losing_its_connection(
        self, publisher: RedisPublisher, subscriber: RedisSubscriber, redis: Redis
    ) -> None:
        # A pooled connection is broken after a restart of Redis; publishing carries on.
        channel, inbox = f"channel-{new_id()}", Inbox()
        await subscriber.subscribe(channel, inbox)
        await publisher.publish(channel, {"index": 0})
        assert await _kill_connections(redis, publisher.connection_name) == 1

        await publisher.publish(channel, {"index": 1})

        await inbox.wait_for(2)
        assert inbox.messages == [{"index": 0}, {"index": 1}]


async def _kill_connections(redis: Redis, name: str) -> int:
    """Make the server drop the connections of that name, as a restart would."""
    ids = [client["id"] for client in await redis.client_list() if client["name"] == name]
    for id in ids:
        await redis.client_kill_filter(_id=id)
    return len(ids)


@pytest.mark.parametrize(
    ("options", "problem"),
    [
        ({"type": "Redis"}, "hostName: Field required"),
        ({**SERVER, "port": "six"}, "port: Input should be a valid integer"),
        ({**SERVER, "database": -1}, "database: Input should be greater than or equal to 0"),
        ({**SERVER, "listNames": {"locks": ""}}, "listNames.locks: String should have"),
        ({**SERVER, "tableNames": {}}, "tableNames: Extra inputs are not permitted"),
    ],
)
async def test_invalid_options_are_named(options: dict[str, Any], problem: str) -> None:
    with pytest.raises(errors.StoreOptionsInvalid, match="Redis lock store") as raised:
        await create_lock_store(options)
    assert problem in str(raised.value)


async def test_a_string_database_is_accepted_as_the_reference_allows(prefix: str) -> None:
    # The reference's environment schema types the database as a string.
    store = await factory.create_lock_store({**lock_options(prefix), "database": "0"})
    await store.destroy()


async def test_locks_take_no_list_names_for_publish_subscribe() -> None:
    with pytest.raises(errors.StoreOptionsInvalid, match=r"Redis publisher.*listNames"):
        await create_publisher({**SERVER, "listNames": {"locks": "locks"}})


@pytest.mark.parametrize("kind", ["lock_store", "publisher", "subscriber"])
async def test_an_unreachable_server_fails_at_creation(kind: str) -> None:
    # One line that says which store, where, and why, instead of a driver traceback.
    create = getattr(factory, f"create_{kind}")
    kind_name = kind.replace("_", " ")
    with pytest.raises(errors.StoreOptionsInvalid) as raised:
        await create({**SERVER, "port": 1})
    assert str(raised.value) == (
        f"The Redis {kind_name} cannot connect to 127.0.0.1:1: Connection refused."
    )


async def test_a_database_out_of_range_fails_at_creation() -> None:
    with pytest.raises(errors.StoreOptionsInvalid, match="DB index is out of range"):
        await factory.create_lock_store({**SERVER, "database": 99_999})


async def test_a_redis_url_gives_a_redis_lock_store() -> None:
    store = await factory.create_lock_store("redis://127.0.0.1:6379/0")
    assert isinstance(store, RedisLockStore)
    await store.destroy()
