"""Wake-up pings across processes: coalesced, yet every item is followed by a ping that
stands for it; and a worker pool wakes as many workers as a ping says."""

from __future__ import annotations

import asyncio
import logging

import pytest

from wolkenkit.errors import StoreError
from wolkenkit.runtime.pings import Pings, items_of
from wolkenkit.runtime.workers import Wakeup
from wolkenkit.stores.publish_subscribe import Message, Publisher

INTERVAL = 0.05


class Recorder(Publisher):
    """Records what is published, and when."""

    def __init__(self, failing: bool = False) -> None:
        self.sent: list[tuple[float, Message]] = []
        self.failing = failing

    async def publish(self, channel: str, message: Message) -> None:
        if self.failing:
            raise StoreError("The publisher failed.")
        self.sent.append((asyncio.get_running_loop().time(), message))

    async def destroy(self) -> None:
        return None


async def test_the_first_ping_after_a_quiet_spell_goes_out_at_once() -> None:
    publisher = Recorder()
    pings = Pings(publisher, "channel", INTERVAL)

    await pings.notify()

    assert [message for _, message in publisher.sent] == [{"items": 1}]


async def test_items_within_the_interval_share_one_ping_at_its_end() -> None:
    # Three items follow the first ping closely: they go out as one ping for three, once
    # the interval since the first ping is over.
    publisher = Recorder()
    pings = Pings(publisher, "channel", INTERVAL)
    await pings.notify()
    first_sent = publisher.sent[0][0]

    for _ in range(3):
        await pings.notify()
    assert len(publisher.sent) == 1
    await asyncio.sleep(INTERVAL * 2)

    assert [message for _, message in publisher.sent] == [{"items": 1}, {"items": 3}]
    assert publisher.sent[1][0] >= first_sent + INTERVAL


async def test_flushing_sends_the_waiting_ping_at_once() -> None:
    publisher = Recorder()
    pings = Pings(publisher, "channel", 10.0)
    await pings.notify()
    await pings.notify(2)

    await pings.flush()

    assert [message for _, message in publisher.sent] == [{"items": 1}, {"items": 2}]


async def test_a_failing_coalesced_ping_is_logged(caplog: pytest.LogCaptureFixture) -> None:
    # Nobody waits for a coalesced ping, so its failure is logged; the workers still poll.
    publisher = Recorder()
    pings = Pings(publisher, "channel", 10.0)
    await pings.notify()
    publisher.failing = True
    await pings.notify()

    with caplog.at_level(logging.WARNING, "wolkenkit.runtime.pings"):
        await pings.flush()

    assert "A wake-up ping on 'channel' failed." in caplog.messages


@pytest.mark.parametrize(
    ("message", "items"), [({}, 1), ({"items": 3}, 3), ({"items": 0}, 1), ({"items": "x"}, 1)]
)
def test_a_ping_stands_for_its_count_of_items_or_one(message: Message, items: int) -> None:
    # Pings of older versions carry no count; a nonsensical count still wakes one worker.
    assert items_of(message) == items


async def test_a_wakeup_for_several_items_wakes_as_many_workers() -> None:
    wakeup = Wakeup()
    waiting = [asyncio.create_task(wakeup.wait(10.0)) for _ in range(4)]
    await asyncio.sleep(0)

    wakeup.notify(2)
    await asyncio.sleep(0)

    assert [task.done() for task in waiting] == [True, True, False, False]
    wakeup.notify_all()
    await asyncio.gather(*waiting)
