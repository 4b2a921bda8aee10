"""Wake-up pings for the workers of other processes, coalesced.

A service that queues work (the command service queues commands, the domain service events
for flows) tells the services that process it over publish/subscribe; their idle workers
would otherwise find the work only when they next poll, with a back-off of up to half a
second. A ping per item would cost a message per item in every process involved, so pings
are coalesced: while one is on its way to the server, the items queued meanwhile wait for it
and then share the next ping, which says how many items it stands for, so that as many
workers wake as before.

Every item is thus followed by a ping sent after it was queued, so the worker it wakes finds
the item, and it waits for no timer: at most for one ping ahead of it. A quiet service pings
once per item, a busy one once per round trip to the server.
"""

from __future__ import annotations

import asyncio
import logging

from wolkenkit.stores.publish_subscribe import Message, Publisher

logger = logging.getLogger("wolkenkit.runtime.pings")


def items_of(message: Message) -> int:
    """How many items a received ping stands for; a ping without a count stands for one."""
    items = message.get("items", 1)
    return items if isinstance(items, int) and items > 0 else 1


class Pings:
    """Pings on one channel, one at a time."""

    def __init__(self, publisher: Publisher, channel: str) -> None:
        self._publisher = publisher
        self._channel = channel
        self._is_sending = False
        #: Items queued while a ping was on its way, which the next one stands for.
        self._waiting_items = 0
        self._follow_up: asyncio.Task[None] | None = None

    async def notify(self, items: int = 1) -> None:
        """Announce newly queued items; returns at once if a ping is on its way already."""
        if self._is_sending:
            self._waiting_items += items
            return
        self._is_sending = True
        try:
            await self._publisher.publish(self._channel, {"items": items})
        finally:
            self._send_waiting()

    async def flush(self) -> None:
        """Wait until the pings still due have gone out."""
        while self._follow_up is not None:
            await asyncio.wait([self._follow_up])

    def _send_waiting(self) -> None:
        """After a ping: the one for the items queued meanwhile goes out next, in a task of
        its own, so that the caller of the last one need not wait for it."""
        if not self._waiting_items:
            self._is_sending = False
            self._follow_up = None
            return
        items, self._waiting_items = self._waiting_items, 0
        self._follow_up = asyncio.ensure_future(self._send(items))

    async def _send(self, items: int) -> None:
        try:
            await self._publisher.publish(self._channel, {"items": items})
        except Exception:
            # Nobody waits for this ping to report to; the workers find the items when they
            # next poll.
            logger.warning("A wake-up ping on '%s' failed.", self._channel, exc_info=True)
        finally:
            self._send_waiting()
