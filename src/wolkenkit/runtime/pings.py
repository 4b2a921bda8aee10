"""Wake-up pings for the workers of other processes, coalesced.

A service that queues work (the command service queues commands, the domain service events
for flows) tells the services that process it over publish/subscribe; their idle workers
would otherwise find the work only when they next poll, with a back-off of up to half a
second. A ping per item would cost a message per item in every process involved, so pings
are coalesced: the first one after a quiet spell goes out at once; the items queued within
``PING_INTERVAL`` after it wait for the interval to end and share one ping, which says how
many items it stands for, so that as many workers wake as before.

Every item is still followed by a ping sent after it was queued, so the worker it wakes
finds the item, and no item waits longer than ``PING_INTERVAL`` for its ping.
"""

from __future__ import annotations

import asyncio
import logging
import math

from wolkenkit.stores.publish_subscribe import Message, Publisher

#: Seconds after a ping during which further items share the next ping. Short next to the
#: workers' polling back-off (10 ms to 0.5 s), and long enough that a busy service sends a
#: few hundred pings per second at most.
PING_INTERVAL = 0.005

logger = logging.getLogger("wolkenkit.runtime.pings")


def items_of(message: Message) -> int:
    """How many items a received ping stands for; a ping without a count stands for one."""
    items = message.get("items", 1)
    return items if isinstance(items, int) and items > 0 else 1


class Pings:
    """Pings on one channel, at most one per ``interval`` seconds."""

    def __init__(self, publisher: Publisher, channel: str, interval: float = PING_INTERVAL):
        self._publisher = publisher
        self._channel = channel
        self._interval = interval
        self._last_sent = -math.inf
        #: Items queued since the last ping, which the next one stands for.
        self._waiting_items = 0
        self._timer: asyncio.TimerHandle | None = None
        self._sending: set[asyncio.Task[None]] = set()

    async def notify(self, items: int = 1) -> None:
        """Announce newly queued items; returns at once unless the ping is due now."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        if self._timer is None and now - self._last_sent >= self._interval:
            self._last_sent = now
            await self._publisher.publish(self._channel, {"items": items})
            return
        self._waiting_items += items
        if self._timer is None:
            self._timer = loop.call_at(self._last_sent + self._interval, self._send_waiting)

    async def flush(self) -> None:
        """Send the ping still due now, and wait for the pings on their way."""
        if self._timer is not None:
            self._timer.cancel()
            self._send_waiting()
        if self._sending:
            await asyncio.wait(self._sending)

    def _send_waiting(self) -> None:
        self._timer = None
        items, self._waiting_items = self._waiting_items, 0
        self._last_sent = asyncio.get_running_loop().time()
        task = asyncio.create_task(self._send({"items": items}))
        self._sending.add(task)
        task.add_done_callback(self._sending.discard)

    async def _send(self, message: Message) -> None:
        try:
            await self._publisher.publish(self._channel, message)
        except Exception:
            # Nobody waits for this ping to report to; the workers find the items when they
            # next poll.
            logger.warning("A wake-up ping on '%s' failed.", self._channel, exc_info=True)
