"""Wake-up pings for the workers of other processes, coalesced.

A service that queues work (the command service queues commands, the domain service events
for flows) tells the services that process it over publish/subscribe; their idle workers
would otherwise find the work only when they next poll, with a back-off of up to half a
second. A ping per item would cost a message per item in every process involved, so pings
are coalesced (:mod:`wolkenkit.stores.batching`): while one is on its way to the server, the
items queued meanwhile wait for it and then share the next ping, which says how many items it
stands for, so that as many workers wake as before.

Every item is thus followed by a ping sent after it was queued, so the worker it wakes finds
the item, and it waits for no timer: at most for one ping ahead of it. A quiet service pings
once per item, a busy one once per round trip to the server.
"""

from __future__ import annotations

from wolkenkit.stores.batching import Batching
from wolkenkit.stores.publish_subscribe import Message, Publisher


def items_of(message: Message) -> int:
    """How many items a received ping stands for; a ping without a count stands for one."""
    items = message.get("items", 1)
    return items if isinstance(items, int) and items > 0 else 1


class Pings:
    """Pings on one channel, one at a time."""

    def __init__(self, publisher: Publisher, channel: str) -> None:
        self._publisher = publisher
        self._channel = channel
        self._batching: Batching[int] = Batching(self._send)

    async def notify(self, items: int = 1) -> None:
        """Announce newly queued items; returns once a ping that stands for them is sent."""
        await self._batching.submit(items)

    async def flush(self) -> None:
        """Wait until the pings still due have gone out."""
        await self._batching.drain()

    async def _send(self, counts: list[int]) -> None:
        await self._publisher.publish(self._channel, {"items": sum(counts)})
