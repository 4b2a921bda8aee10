"""Sends that concurrent callers share: one on its way at a time, the rest following together.

Where a send costs a round trip (or a commit) whatever it carries, callers that arrive while
one is on its way need not each pay for their own: they wait for it and then go out together
in the next send. A lone caller sends at once, in its own task, and waits for nothing else.
Unlike :mod:`wolkenkit.stores.group_commit`, nobody waits for others to join: a send starts as
soon as the one before it is done, so sharing never delays a caller by more than one send.

- Items go out in the order of the calls; each call returns once the send with its item is
  done, or raises that send's error.
- A caller cancelled while its item waits takes the item out; once the item's send has begun,
  it may still go out.
- :class:`KeyedBatching` keeps the sends of each key apart, so that only the callers that
  would wait for each other anyway (for a row lock, say) share their sends, while those of
  other keys run side by side.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Hashable
from typing import Generic, TypeVar

ItemT = TypeVar("ItemT")
KeyT = TypeVar("KeyT", bound=Hashable)

Send = Callable[[list[ItemT]], Awaitable[None]]
SendForKey = Callable[[KeyT, list[ItemT]], Awaitable[None]]


class Batching(Generic[ItemT]):
    """Runs ``send(items)`` one at a time. A send takes what waited, but items whose ``size``
    adds up to more than ``limit`` are left for the next (one larger item goes alone)."""

    def __init__(
        self,
        send: Send[ItemT],
        size: Callable[[ItemT], int] = lambda item: 1,
        limit: int = 1_000,
        on_idle: Callable[[], None] | None = None,
    ) -> None:
        self._send = send
        self._size = size
        self._limit = limit
        #: Called whenever the last send is done and nothing waits.
        self._on_idle = on_idle
        self._waiting: list[tuple[ItemT, asyncio.Future[None]]] = []
        self._is_sending = False
        self._follow_up: asyncio.Task[None] | None = None

    async def submit(self, item: ItemT) -> None:
        """Send the item, alone or together with others; returns once it has gone out."""
        if self._is_sending:
            answer = asyncio.get_running_loop().create_future()
            self._waiting.append((item, answer))
            await answer
            return
        self._is_sending = True
        try:
            await self._send([item])
        finally:
            self._send_waiting()

    async def drain(self) -> None:
        """Wait until what waits has gone out."""
        while self._follow_up is not None:
            await asyncio.wait([self._follow_up])

    def _send_waiting(self) -> None:
        """After a send: what waited goes out next, in a task of its own, so that the caller
        of the last send need not wait for it."""
        batch = self._next_batch()
        if not batch:
            self._is_sending = False
            self._follow_up = None
            if self._on_idle is not None:
                self._on_idle()
            return
        self._follow_up = asyncio.ensure_future(self._send_batch(batch))

    def _next_batch(self) -> list[tuple[ItemT, asyncio.Future[None]]]:
        batch: list[tuple[ItemT, asyncio.Future[None]]] = []
        total = 0
        while self._waiting:
            item, answer = self._waiting[0]
            if answer.done():
                # Its caller was cancelled while waiting: the item is not sent.
                self._waiting.pop(0)
                continue
            total += self._size(item)
            if batch and total > self._limit:
                break
            batch.append(self._waiting.pop(0))
        return batch

    async def _send_batch(self, batch: list[tuple[ItemT, asyncio.Future[None]]]) -> None:
        try:
            await self._send([item for item, _ in batch])
        except Exception as error:
            for _, answer in batch:
                if not answer.done():
                    answer.set_exception(error)
        else:
            for _, answer in batch:
                if not answer.done():
                    answer.set_result(None)
        finally:
            # Only if this task itself was cancelled (the loop is closing): nobody will
            # answer its callers, so none may wait for ever.
            for _, answer in batch:
                answer.cancel()
            self._send_waiting()


class KeyedBatching(Generic[KeyT, ItemT]):
    """A :class:`Batching` per key, made when a caller comes and dropped when it is idle;
    ``send(key, items)`` gets the items of one key."""

    def __init__(
        self,
        send: SendForKey[KeyT, ItemT],
        size: Callable[[ItemT], int] = lambda item: 1,
        limit: int = 1_000,
    ) -> None:
        self._send = send
        self._size = size
        self._limit = limit
        self._by_key: dict[KeyT, Batching[ItemT]] = {}

    async def submit(self, key: KeyT, item: ItemT) -> None:
        """Send the item together with others of its key; returns once it has gone out."""
        batching = self._by_key.get(key)
        if batching is None:
            batching = self._by_key[key] = Batching(
                functools.partial(self._send, key),
                self._size,
                self._limit,
                on_idle=lambda: self._drop(key),
            )
        await batching.submit(item)

    def _drop(self, key: KeyT) -> None:
        # Idle batchings are dropped, or one would be kept for every aggregate ever seen.
        del self._by_key[key]
