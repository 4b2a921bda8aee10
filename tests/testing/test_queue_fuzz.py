"""The queue fuzzer catches broken stores: a fuzzer that passes everything proves nothing."""

from __future__ import annotations

import re

import pytest

from wolkenkit.errors import FuzzFailed
from wolkenkit.stores.memory.priority_queue_store import InMemoryPriorityQueueStore
from wolkenkit.stores.priority_queue_store import LockedItem, PriorityQueueStore
from wolkenkit.testing.contracts.priority_queue_store import (
    QueueItem,
    Store,
    does_identifier_match_item,
)
from wolkenkit.testing.queue_fuzz import FuzzSettings, fuzz_priority_queue_store


class BrokenStore(PriorityQueueStore[QueueItem, str]):
    """An in-memory queue behind a wrapper that subclasses break."""

    def __init__(self, expiration_time: int) -> None:
        self.inner = InMemoryPriorityQueueStore[QueueItem, str](
            does_identifier_match_item, expiration_time
        )

    async def setup(self) -> None:
        await self.inner.setup()

    async def destroy(self) -> None:
        await self.inner.destroy()

    async def enqueue(self, item: QueueItem, discriminator: str, priority: int) -> None:
        await self.inner.enqueue(item, discriminator, priority)

    async def lock_next(self) -> LockedItem[QueueItem] | None:
        return await self.inner.lock_next()

    async def renew_lock(self, discriminator: str, token: str) -> None:
        await self.inner.renew_lock(discriminator, token)

    async def acknowledge(self, discriminator: str, token: str) -> None:
        await self.inner.acknowledge(discriminator, token)

    async def defer(self, discriminator: str, token: str, priority: int) -> None:
        await self.inner.defer(discriminator, token, priority)

    async def remove(self, discriminator: str, item_identifier: str) -> None:
        await self.inner.remove(discriminator, item_identifier)


class HandsOutAgain(BrokenStore):
    """Hands an item out once more after it was acknowledged, as a store whose
    acknowledgement did not stick would. The in-memory queue never awaits, so the next
    ``lock_next`` surely starts after the acknowledgement returned, whatever the timing: the
    fuzzer must catch it by order alone."""

    locked: dict[str, LockedItem[QueueItem]]
    acknowledged: LockedItem[QueueItem] | None = None

    def __init__(self, expiration_time: int) -> None:
        super().__init__(expiration_time)
        self.locked = {}

    async def lock_next(self) -> LockedItem[QueueItem] | None:
        if self.acknowledged is not None:
            again, self.acknowledged = self.acknowledged, None
            return again
        locked = await self.inner.lock_next()
        if locked is not None:
            self.locked[locked.metadata.token] = locked
        return locked

    async def acknowledge(self, discriminator: str, token: str) -> None:
        await self.inner.acknowledge(discriminator, token)
        self.acknowledged = self.locked.pop(token, None) or self.acknowledged


class Overtakes(BrokenStore):
    """Holds an item back and queues it only after the next one, or when a worker finds
    nothing else to do (so nothing is lost). Released only then, it is overtaken whatever
    the timing of a run, also on a slow machine."""

    held_back: tuple[QueueItem, str, int] | None = None

    async def enqueue(self, item: QueueItem, discriminator: str, priority: int) -> None:
        if self.held_back is None:
            self.held_back = (item, discriminator, priority)
            return
        await self.inner.enqueue(item, discriminator, priority)
        await self._release_held_back()

    async def lock_next(self) -> LockedItem[QueueItem] | None:
        locked = await self.inner.lock_next()
        if locked is None and self.held_back is not None:
            await self._release_held_back()
            locked = await self.inner.lock_next()
        return locked

    async def _release_held_back(self) -> None:
        if self.held_back is not None:
            held_back, self.held_back = self.held_back, None
            await self.inner.enqueue(*held_back)


@pytest.mark.parametrize(
    ("broken_store", "symptoms"),
    [
        (HandsOutAgain, "after it was acknowledged"),
        (Overtakes, "served an item before one that was queued"),
    ],
)
async def test_the_fuzzer_catches_a_broken_store(
    broken_store: type[BrokenStore], symptoms: str
) -> None:
    # One queue, so that every item competes with every other, shared by all workers.
    store: Store | None = None

    async def make_store(expiration_time: int) -> Store:
        nonlocal store
        store = store or broken_store(expiration_time)
        return store

    with pytest.raises(FuzzFailed) as raised:
        await fuzz_priority_queue_store(make_store, FuzzSettings(seconds=1, discriminators=1))

    # Among all it found (the message shows only the first few), the broken promise.
    assert any(re.search(symptoms, failure) for failure in raised.value.failures), raised.value

    # The report says how to make the same choices again.
    assert "WOLKENKIT_FUZZ_SEED=" in str(raised.value)
