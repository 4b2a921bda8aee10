"""Wake-up pings across processes: coalesced, yet every item is followed by a ping that
stands for it; and a worker pool wakes as many workers as a ping says."""

from __future__ import annotations

import asyncio

import pytest

from wolkenkit.errors import StoreError
from wolkenkit.runtime.pings import Pings, items_of
from wolkenkit.runtime.workers import Wakeup
from wolkenkit.stores.publish_subscribe import Message, Publisher


class Recorder(Publisher):
    """Records what is published; while ``held``, a publication stays on its way."""

    def __init__(self) -> None:
        self.sent: list[Message] = []
        self.failing = False
        self.held = asyncio.Event()
        self.held.set()

    async def publish(self, channel: str, message: Message) -> None:
        await self.held.wait()
        if self.failing:
            raise StoreError("The publisher failed.")
        self.sent.append(message)

    async def destroy(self) -> None:
        return None


async def test_a_ping_goes_out_at_once_when_none_is_on_its_way() -> None:
    publisher = Recorder()
    pings = Pings(publisher, "channel")

    await pings.notify()
    await pings.notify(2)

    assert publisher.sent == [{"items": 1}, {"items": 2}]


async def test_items_queued_while_a_ping_is_on_its_way_share_the_next_one() -> None:
    # The first ping is held up; the three items that follow are announced together, right
    # after it.
    publisher = Recorder()
    publisher.held.clear()
    pings = Pings(publisher, "channel")
    first = asyncio.create_task(pings.notify())
    await asyncio.sleep(0)
    following = [asyncio.create_task(pings.notify()) for _ in range(3)]
    await asyncio.sleep(0)

    assert publisher.sent == []
    publisher.held.set()
    await asyncio.gather(first, *following)

    assert publisher.sent == [{"items": 1}, {"items": 3}]


async def test_a_failing_ping_fails_the_callers_it_stands_for() -> None:
    # As a publication's failure does; the workers still find the items when they poll.
    publisher = Recorder()
    pings = Pings(publisher, "channel")
    publisher.failing = True

    with pytest.raises(StoreError):
        await pings.notify()
    publisher.failing = False
    await pings.notify()

    assert publisher.sent == [{"items": 1}]


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
