"""Publish/subscribe over PostgreSQL's LISTEN and NOTIFY."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from wolkenkit.errors import StoreOptionsInvalid
from wolkenkit.messages import new_id
from wolkenkit.stores import postgres
from wolkenkit.stores.postgres import PostgresPublisher, PostgresSubscriber
from wolkenkit.testing.contracts.publish_subscribe import Inbox, PublishSubscribeContract

pytestmark = pytest.mark.postgres


@pytest.fixture
async def publisher(options: dict[str, Any]) -> AsyncIterator[PostgresPublisher]:
    publisher = await postgres.create_publisher(options)
    yield publisher
    await publisher.destroy()


@pytest.fixture
async def subscriber(options: dict[str, Any]) -> AsyncIterator[PostgresSubscriber]:
    subscriber = await postgres.create_subscriber(options)
    yield subscriber
    await subscriber.destroy()


class TestPostgresPublishSubscribe(PublishSubscribeContract):
    pass


async def test_large_messages_arrive_whole_and_in_order(
    publisher: PostgresPublisher, subscriber: PostgresSubscriber
) -> None:
    # A notification carries less than 8000 bytes, an event with its state may carry more.
    channel, inbox = f"channel-{new_id()}", Inbox()
    await subscriber.subscribe(channel, inbox)
    messages = [
        {"index": 0, "text": "small"},
        {"index": 1, "text": "Grüße 🙂 " * 5_000},
        {"index": 2, "text": "small again"},
        {"index": 3, "list": list(range(20_000))},
    ]

    for message in messages:
        await publisher.publish(channel, message)

    await inbox.wait_for(len(messages))
    assert inbox.messages == messages


async def test_long_channel_names_are_kept_apart(
    publisher: PostgresPublisher, subscriber: PostgresSubscriber
) -> None:
    # PostgreSQL cuts channel names after 63 bytes; ours differ only beyond that.
    prefix = "a-channel-name-that-is-longer-than-postgresql-allows-for-its-own-" * 2
    first, second = Inbox(), Inbox()
    await subscriber.subscribe(f"{prefix}first", first)
    await subscriber.subscribe(f"{prefix}second", second)

    await publisher.publish(f"{prefix}second", {"for": "second"})
    await publisher.publish(f"{prefix}first", {"for": "first"})

    await first.wait_for(1)
    await second.wait_for(1)
    assert first.messages == [{"for": "first"}]
    assert second.messages == [{"for": "second"}]


async def test_schemas_keep_applications_apart(
    options: dict[str, Any], publisher: PostgresPublisher, subscriber: PostgresSubscriber
) -> None:
    # Two applications on one database, each with its own schema, share no messages.
    channel, ours, theirs = "newDomainEvent", Inbox(), Inbox()
    other_subscriber = await postgres.create_subscriber({**options, "schema": f"other_{new_id()}"})
    try:
        await subscriber.subscribe(channel, ours)
        await other_subscriber.subscribe(channel, theirs)

        await publisher.publish(channel, {"for": "us"})

        await ours.wait_for(1)
        await asyncio.sleep(0.05)
        assert theirs.messages == []
    finally:
        await other_subscriber.destroy()


async def test_a_subscriber_reconnects_after_losing_its_connection(
    publisher: PostgresPublisher,
    subscriber: PostgresSubscriber,
    connection: asyncpg.Connection,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # When the server drops the listening connection, subscriptions carry on after a
    # reconnect; what was published in between may be lost.
    channel, inbox = f"channel-{new_id()}", Inbox()
    await subscriber.subscribe(channel, inbox)
    await connection.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
        " WHERE application_name = 'wolkenkit PostgreSQL subscriber'"
    )

    for attempt in range(100):
        await publisher.publish(channel, {"attempt": attempt})
        await asyncio.sleep(0.05)
        if inbox.messages:
            break

    assert "lost its connection" in caplog.text
    assert inbox.messages


async def test_an_unreachable_server_fails_at_start_up(
    server: dict[str, Any], closed_port: int
) -> None:
    with pytest.raises(StoreOptionsInvalid) as raised:
        await postgres.create_subscriber({**server, "port": closed_port})

    assert raised.value.message == (
        f"The PostgreSQL subscriber cannot connect to 127.0.0.1:{closed_port}: Connection refused."
    )
