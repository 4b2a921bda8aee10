"""The contract every publish/subscribe backend keeps: ordered delivery per subscription."""

from __future__ import annotations

import asyncio
from typing import ClassVar

from wolkenkit.messages import new_id
from wolkenkit.stores.publish_subscribe import Message, Publisher, Subscriber

#: How long a test waits for messages that must arrive before it gives up.
DELIVERY_TIMEOUT = 5.0


def _channel() -> str:
    return f"channel-{new_id()}"


class Inbox:
    """A callback that records what it receives and lets a test wait for it."""

    def __init__(self, delay: float = 0) -> None:
        self.messages: list[Message] = []
        self.delay = delay
        self.active = 0
        self.most_active = 0
        self._arrived = asyncio.Condition()

    async def __call__(self, message: Message) -> None:
        self.active += 1
        self.most_active = max(self.most_active, self.active)
        try:
            await asyncio.sleep(self.delay)
            async with self._arrived:
                self.messages.append(message)
                self._arrived.notify_all()
        finally:
            self.active -= 1

    async def wait_for(self, count: int) -> None:
        async with self._arrived:
            await asyncio.wait_for(
                self._arrived.wait_for(lambda: len(self.messages) >= count), DELIVERY_TIMEOUT
            )


class PublishSubscribeContract:
    """Everything a publish/subscribe backend must do. Provide async ``publisher`` and
    ``subscriber`` fixtures that reach each other and are destroyed afterwards."""

    #: How long (s) a test waits to be sure that a message does not arrive.
    quiet_period: ClassVar[float] = 0.05

    async def test_messages_arrive_in_publication_order(
        self, publisher: Publisher, subscriber: Subscriber
    ) -> None:
        # Whatever a publisher sends on a channel, a subscriber receives in the same order,
        # with nested JSON values intact.
        channel, inbox = _channel(), Inbox()
        await subscriber.subscribe(channel, inbox)
        messages = [{"index": index, "nested": {"list": [index, "x", None]}} for index in range(50)]

        for message in messages:
            await publisher.publish(channel, message)

        await inbox.wait_for(len(messages))
        assert inbox.messages == messages

    async def test_callbacks_of_a_subscription_run_one_at_a_time(
        self, publisher: Publisher, subscriber: Subscriber
    ) -> None:
        # A slow callback is never overlapped by the next message's callback.
        channel, inbox = _channel(), Inbox(delay=0.005)
        await subscriber.subscribe(channel, inbox)

        for index in range(10):
            await publisher.publish(channel, {"index": index})

        await inbox.wait_for(10)
        assert inbox.most_active == 1
        assert [message["index"] for message in inbox.messages] == list(range(10))

    async def test_every_subscription_gets_every_message(
        self, publisher: Publisher, subscriber: Subscriber
    ) -> None:
        # Several subscriptions on one channel each receive the whole stream.
        channel, first, second = _channel(), Inbox(), Inbox()
        await subscriber.subscribe(channel, first)
        await subscriber.subscribe(channel, second)

        await publisher.publish(channel, {"text": "hello"})
        await publisher.publish(channel, {"text": "world"})

        await first.wait_for(2)
        await second.wait_for(2)
        assert first.messages == second.messages == [{"text": "hello"}, {"text": "world"}]

    async def test_channels_are_kept_apart(
        self, publisher: Publisher, subscriber: Subscriber
    ) -> None:
        # A subscription hears its own channel only.
        first_channel, second_channel = _channel(), _channel()
        first, second = Inbox(), Inbox()
        await subscriber.subscribe(first_channel, first)
        await subscriber.subscribe(second_channel, second)

        await publisher.publish(second_channel, {"for": "second"})
        await publisher.publish(first_channel, {"for": "first"})

        await first.wait_for(1)
        await second.wait_for(1)
        await asyncio.sleep(self.quiet_period)
        assert first.messages == [{"for": "first"}]
        assert second.messages == [{"for": "second"}]

    async def test_earlier_messages_are_not_delivered(
        self, publisher: Publisher, subscriber: Subscriber
    ) -> None:
        # Publish/subscribe is fire-and-forget: a subscription starts with the next message.
        channel, inbox = _channel(), Inbox()
        await publisher.publish(channel, {"when": "before"})
        await subscriber.subscribe(channel, inbox)

        await publisher.publish(channel, {"when": "after"})

        await inbox.wait_for(1)
        assert inbox.messages == [{"when": "after"}]

    async def test_unsubscribing_stops_delivery(
        self, publisher: Publisher, subscriber: Subscriber
    ) -> None:
        # After unsubscribing, a subscription receives nothing more, while others on the
        # same channel carry on.
        channel, leaving, staying = _channel(), Inbox(), Inbox()
        subscription = await subscriber.subscribe(channel, leaving)
        await subscriber.subscribe(channel, staying)
        await publisher.publish(channel, {"index": 1})
        await leaving.wait_for(1)

        await subscription.unsubscribe()
        await publisher.publish(channel, {"index": 2})

        await staying.wait_for(2)
        await asyncio.sleep(self.quiet_period)
        assert leaving.messages == [{"index": 1}]

    async def test_no_callback_runs_after_unsubscribe_returns(
        self, publisher: Publisher, subscriber: Subscriber
    ) -> None:
        # Messages still waiting for a slow callback are dropped by unsubscribing.
        channel, inbox = _channel(), Inbox(delay=0.01)
        subscription = await subscriber.subscribe(channel, inbox)
        for index in range(20):
            await publisher.publish(channel, {"index": index})
        await inbox.wait_for(1)

        await subscription.unsubscribe()
        received = len(inbox.messages)
        await asyncio.sleep(self.quiet_period + 0.05)

        assert len(inbox.messages) == received < 20
        assert inbox.active == 0

    async def test_a_callback_may_unsubscribe_its_own_subscription(
        self, publisher: Publisher, subscriber: Subscriber
    ) -> None:
        # A subscriber that wants just one message unsubscribes from inside its callback.
        channel, inbox, witness = _channel(), Inbox(), Inbox()

        async def once(message: Message) -> None:
            await inbox(message)
            await subscription.unsubscribe()

        subscription = await subscriber.subscribe(channel, once)
        await subscriber.subscribe(channel, witness)
        for index in range(3):
            await publisher.publish(channel, {"index": index})

        await witness.wait_for(3)
        await asyncio.sleep(self.quiet_period)
        assert inbox.messages == [{"index": 0}]
