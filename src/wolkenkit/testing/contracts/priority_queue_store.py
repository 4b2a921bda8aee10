"""The contract every priority queue store keeps: fair, locked, expiring per-key queues.

A backend's fixture builds stores of :class:`QueueItem` matched by
:func:`does_identifier_match_item`, with the expiration time each test asks for.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable
from typing import ClassVar

import pytest
from pydantic import BaseModel, ConfigDict

from wolkenkit.errors import ItemNotFound, ItemNotLocked, TokenMismatch
from wolkenkit.messages import UUID_PATTERN, new_id
from wolkenkit.stores.priority_queue_store import LockedItem, PriorityQueueStore


class QueueItem(BaseModel):
    """What the contract queues: an id to find it by, and a payload to carry."""

    model_config = ConfigDict(frozen=True)

    id: str
    text: str = ""


def does_identifier_match_item(item: QueueItem, item_identifier: str) -> bool:
    return item.id == item_identifier


Store = PriorityQueueStore[QueueItem, str]
#: Given an expiration time in ms, returns a fresh store that has been set up.
MakePriorityQueueStore = Callable[[int], Awaitable[Store]]

#: Long enough that no lock expires during a test that does not wait for it.
LONG_EXPIRATION_TIME = 60_000


def _item(text: str = "") -> QueueItem:
    return QueueItem(id=new_id(), text=text)


async def _lock(store: Store) -> LockedItem[QueueItem]:
    locked = await store.lock_next()
    assert locked is not None, "expected an item to be handed out"
    return locked


async def _drain(store: Store) -> list[QueueItem]:
    """Lock and acknowledge items until none is left, in the order they are handed out."""
    items: list[QueueItem] = []
    while (locked := await store.lock_next()) is not None:
        items.append(locked.item)
        await store.acknowledge(locked.metadata.discriminator, locked.metadata.token)
    return items


_LockOperation = Callable[[Store, str, str], Awaitable[None]]
_LOCK_OPERATIONS: dict[str, _LockOperation] = {
    "renew_lock": lambda store, discriminator, token: store.renew_lock(discriminator, token),
    "acknowledge": lambda store, discriminator, token: store.acknowledge(discriminator, token),
    "defer": lambda store, discriminator, token: store.defer(discriminator, token, 1),
    "acknowledge_and_lock_next": lambda store, discriminator, token: _ignore(
        store.acknowledge_and_lock_next(discriminator, token)
    ),
}


async def _ignore(result: Awaitable[object]) -> None:
    await result


class PriorityQueueStoreContract:
    """Everything a priority queue store must do. Provide an async ``make_store`` fixture,
    a :data:`MakePriorityQueueStore` that also cleans up the stores it made."""

    #: How long (ms) locks live in the tests that wait for expiry; raise it for a slow backend.
    lifetime: ClassVar[int] = 200

    @pytest.fixture
    async def store(self, make_store: MakePriorityQueueStore) -> Store:
        return await make_store(LONG_EXPIRATION_TIME)

    @pytest.fixture
    async def short_lived_store(self, make_store: MakePriorityQueueStore) -> Store:
        return await make_store(self.lifetime)

    async def _wait_for_expiry(self) -> None:
        await asyncio.sleep(self.lifetime * 1.5 / 1000)

    async def test_an_empty_store_hands_out_nothing(self, store: Store) -> None:
        assert await store.lock_next() is None

    async def test_a_locked_item_stays_until_acknowledged(self, store: Store) -> None:
        # Locking hands out the item with its discriminator and a fresh token, without
        # removing it; acknowledging removes it.
        item = _item()
        await store.enqueue(item, "first", 1)

        locked = await _lock(store)

        assert locked.item == item
        assert locked.metadata.discriminator == "first"
        assert re.fullmatch(UUID_PATTERN, locked.metadata.token)
        await store.acknowledge("first", locked.metadata.token)
        assert await store.lock_next() is None

    async def test_enqueue_and_wake_wakes_once_the_item_can_be_locked(self, store: Store) -> None:
        # It returns once the item is safe: stored, or (a queue kept in this process) as
        # soon as it is acknowledged.
        item = _item("woken")
        woken = asyncio.Event()

        def wake() -> None:
            # Whoever is woken finds the item.
            assert not woken.is_set()
            woken.set()

        accepting = asyncio.create_task(store.enqueue_and_wake(item, "first", 1, wake))
        await asyncio.wait_for(woken.wait(), 10)
        locked = await _lock(store)
        assert locked.item == item
        await store.acknowledge("first", locked.metadata.token)
        await asyncio.wait_for(accepting, 10)
        assert await store.lock_next() is None

    async def test_items_of_one_discriminator_come_first_in_first_out(self, store: Store) -> None:
        # Within a discriminator insertion order wins, whatever the later items' priorities.
        items = [_item(str(index)) for index in range(4)]
        for item, priority in zip(items, [30, 10, 20, 5], strict=True):
            await store.enqueue(item, "first", priority)

        assert await _drain(store) == items

    async def test_the_queue_with_the_lowest_head_priority_comes_first(self, store: Store) -> None:
        # Across discriminators the head items' priorities decide, lowest first.
        late, early, middle = _item("late"), _item("early"), _item("middle")
        await store.enqueue(late, "late", 300)
        await store.enqueue(early, "early", 100)
        await store.enqueue(middle, "middle", 200)

        handed_out = [(await _lock(store)).item for _ in range(3)]

        assert handed_out == [early, middle, late]

    async def test_a_queue_is_ranked_by_its_new_head_after_acknowledging(
        self, store: Store
    ) -> None:
        # Once its head is done, a queue competes with the priority of its next item.
        first_head, first_tail, second_head = _item(), _item(), _item()
        await store.enqueue(first_head, "first", 1)
        await store.enqueue(first_tail, "first", 10)
        await store.enqueue(second_head, "second", 5)

        assert await _drain(store) == [first_head, second_head, first_tail]

    async def test_acknowledging_and_locking_next_hands_out_what_lock_next_would(
        self, store: Store
    ) -> None:
        # The acknowledged item is gone, and its queue competes with its new head.
        first_head, first_tail, second_head = _item(), _item(), _item()
        await store.enqueue(first_head, "first", 1)
        await store.enqueue(first_tail, "first", 10)
        await store.enqueue(second_head, "second", 5)
        locked = await _lock(store)

        second = await store.acknowledge_and_lock_next("first", locked.metadata.token)
        assert second is not None
        third = await store.acknowledge_and_lock_next("second", second.metadata.token)
        assert third is not None
        last = await store.acknowledge_and_lock_next("first", third.metadata.token)

        assert [locked.item, second.item, third.item] == [first_head, second_head, first_tail]
        assert third.metadata.discriminator == "first"
        assert last is None
        assert await store.lock_next() is None

    async def test_acknowledging_and_locking_next_skips_locked_queues(self, store: Store) -> None:
        await store.enqueue(_item(), "first", 1)
        await store.enqueue(_item(), "second", 2)
        first = await _lock(store)
        second = await _lock(store)
        await store.enqueue(_item(), "second", 3)

        assert await store.acknowledge_and_lock_next("first", first.metadata.token) is None
        await store.acknowledge("second", second.metadata.token)
        assert (await _lock(store)).metadata.discriminator == "second"

    async def test_a_failed_acknowledgement_locks_nothing(self, store: Store) -> None:
        await store.enqueue(_item(), "first", 1)
        await store.enqueue(_item(), "second", 2)
        locked = await _lock(store)

        with pytest.raises(TokenMismatch):
            await store.acknowledge_and_lock_next("first", new_id())

        # "second" is still free, and "first" still locked by its holder.
        assert (await _lock(store)).metadata.discriminator == "second"
        await store.acknowledge("first", locked.metadata.token)

    async def test_only_one_item_per_discriminator_is_locked(self, store: Store) -> None:
        # Work on one aggregate or flow is serial: its next item waits for the locked one.
        first, second = _item(), _item()
        await store.enqueue(first, "first", 1)
        await store.enqueue(second, "first", 2)

        locked = await _lock(store)
        assert await store.lock_next() is None

        await store.acknowledge("first", locked.metadata.token)
        assert (await _lock(store)).item == second

    async def test_duplicates_are_kept(self, store: Store) -> None:
        item = _item()
        await store.enqueue(item, "first", 1)
        await store.enqueue(item, "first", 1)

        assert await _drain(store) == [item, item]

    async def test_an_expired_lock_hands_the_item_out_again(self, short_lived_store: Store) -> None:
        # A worker that dies loses its lock; the item returns with a new token, and the
        # old token no longer works.
        store = short_lived_store
        item = _item()
        await store.enqueue(item, "first", 1)
        stale = await _lock(store)
        assert await store.lock_next() is None

        await self._wait_for_expiry()
        fresh = await _lock(store)

        assert fresh.item == item
        assert fresh.metadata.token != stale.metadata.token
        with pytest.raises(TokenMismatch):
            await store.acknowledge("first", stale.metadata.token)
        await store.acknowledge("first", fresh.metadata.token)
        assert await store.lock_next() is None

    async def test_an_expired_lock_nobody_took_over_still_works(
        self, short_lived_store: Store
    ) -> None:
        # A slow worker whose lock expired may still finish, as long as no one else has
        # locked the item since: its token stays valid until then.
        store = short_lived_store
        await store.enqueue(_item(), "first", 1)
        await store.enqueue(_item(), "first", 2)
        locked = await _lock(store)
        await self._wait_for_expiry()

        await store.renew_lock("first", locked.metadata.token)
        assert await store.lock_next() is None
        await store.acknowledge("first", locked.metadata.token)
        assert await store.lock_next() is not None

    async def test_renewing_keeps_the_lock(self, short_lived_store: Store) -> None:
        # A renewed lock outlives its first expiry, so the item is not handed out twice.
        store = short_lived_store
        await store.enqueue(_item(), "first", 1)
        locked = await _lock(store)

        await asyncio.sleep(self.lifetime * 0.6 / 1000)
        await store.renew_lock("first", locked.metadata.token)
        await asyncio.sleep(self.lifetime * 0.6 / 1000)

        assert await store.lock_next() is None
        await store.acknowledge("first", locked.metadata.token)

    @pytest.mark.parametrize("operation", list(_LOCK_OPERATIONS))
    async def test_an_unknown_discriminator_is_not_found(
        self, store: Store, operation: str
    ) -> None:
        with pytest.raises(ItemNotFound):
            await _LOCK_OPERATIONS[operation](store, "unknown", new_id())

    @pytest.mark.parametrize("operation", list(_LOCK_OPERATIONS))
    async def test_an_unlocked_queue_is_not_locked(self, store: Store, operation: str) -> None:
        await store.enqueue(_item(), "first", 1)

        with pytest.raises(ItemNotLocked):
            await _LOCK_OPERATIONS[operation](store, "first", new_id())

    @pytest.mark.parametrize("operation", list(_LOCK_OPERATIONS))
    async def test_a_wrong_token_is_a_mismatch(self, store: Store, operation: str) -> None:
        # Only the holder of the lock may renew, acknowledge or defer; the lock stays put.
        await store.enqueue(_item(), "first", 1)
        locked = await _lock(store)

        with pytest.raises(TokenMismatch):
            await _LOCK_OPERATIONS[operation](store, "first", new_id())

        assert await store.lock_next() is None
        await store.acknowledge("first", locked.metadata.token)

    async def test_statistics_count_what_waits_and_name_the_lowest_head_priority(
        self, store: Store
    ) -> None:
        # Every queued item counts, the locked one too, until it is acknowledged; the lowest
        # priority is that of the head served next, whatever the items behind it carry.
        empty = await store.statistics(["first", "nothing"])
        assert (empty.size, empty.lowest_head_priority) == (0, None)
        assert empty.sizes == {"first": 0, "nothing": 0}
        await store.enqueue(_item(), "first", 20)
        await store.enqueue(_item(), "first", 5)
        await store.enqueue(_item(), "second", 30)
        locked = await _lock(store)

        queued = await store.statistics(["first", "second", "nothing"])

        assert (queued.size, queued.lowest_head_priority) == (3, 20)
        assert queued.sizes == {"first": 2, "second": 1, "nothing": 0}
        await store.acknowledge(locked.metadata.discriminator, locked.metadata.token)
        after = await store.statistics(["first"])
        assert (after.size, after.lowest_head_priority, after.sizes) == (2, 5, {"first": 1})
        await _drain(store)
        drained = await store.statistics()
        assert (drained.size, drained.lowest_head_priority, drained.sizes) == (0, None, {})

    async def test_deferring_moves_the_item_to_the_tail(self, store: Store) -> None:
        # A deferred item waits behind the items that were queued after it.
        first, second = _item(), _item()
        await store.enqueue(first, "first", 1)
        await store.enqueue(second, "first", 2)
        locked = await _lock(store)

        await store.defer("first", locked.metadata.token, 3)

        assert await _drain(store) == [second, first]

    async def test_a_deferred_item_competes_with_its_new_priority(self, store: Store) -> None:
        # Deferring unlocks the queue and ranks it by the priority given.
        deferred, other = _item(), _item()
        await store.enqueue(deferred, "deferred", 1)
        await store.enqueue(other, "other", 5)
        locked = await _lock(store)

        await store.defer("deferred", locked.metadata.token, 10)

        assert await _drain(store) == [other, deferred]

    async def test_removing_takes_out_the_first_match(self, store: Store) -> None:
        # A cancelled command leaves its queue; of duplicates, only the first goes.
        keep, cancel = _item("keep"), _item("cancel")
        for item in (keep, cancel, cancel):
            await store.enqueue(item, "first", 1)

        await store.remove("first", cancel.id)

        assert await _drain(store) == [keep, cancel]

    async def test_removing_the_last_item_removes_the_queue(self, store: Store) -> None:
        item = _item()
        await store.enqueue(item, "first", 1)

        await store.remove("first", item.id)

        assert await store.lock_next() is None
        with pytest.raises(ItemNotFound):
            await store.remove("first", item.id)

    async def test_removing_the_head_ranks_the_queue_by_its_new_head(self, store: Store) -> None:
        head, tail, other = _item(), _item(), _item()
        await store.enqueue(head, "first", 1)
        await store.enqueue(tail, "first", 10)
        await store.enqueue(other, "second", 5)

        await store.remove("first", head.id)

        assert await _drain(store) == [other, tail]

    async def test_removing_what_is_not_queued_is_not_found(self, store: Store) -> None:
        await store.enqueue(_item(), "first", 1)

        with pytest.raises(ItemNotFound):
            await store.remove("unknown", new_id())
        with pytest.raises(ItemNotFound):
            await store.remove("first", new_id())

    async def test_a_locked_head_cannot_be_removed(self, store: Store) -> None:
        # The locked head is being processed, so it is too late to remove it; items behind
        # it can still go.
        head, tail = _item(), _item()
        await store.enqueue(head, "first", 1)
        await store.enqueue(tail, "first", 2)
        locked = await _lock(store)

        with pytest.raises(ItemNotFound):
            await store.remove("first", head.id)
        await store.remove("first", tail.id)

        await store.acknowledge("first", locked.metadata.token)
        assert await store.lock_next() is None

    async def test_a_head_whose_lock_expired_can_be_removed(self, short_lived_store: Store) -> None:
        # Nobody is processing the head any more; removing it also ends the stale lock, so
        # its holder cannot acknowledge the next item by mistake.
        store = short_lived_store
        head, tail = _item(), _item()
        await store.enqueue(head, "first", 1)
        await store.enqueue(tail, "first", 2)
        stale = await _lock(store)
        await self._wait_for_expiry()

        await store.remove("first", head.id)

        with pytest.raises(ItemNotLocked):
            await store.acknowledge("first", stale.metadata.token)
        assert await _drain(store) == [tail]

    async def test_concurrent_lockers_never_share_a_discriminator(self, store: Store) -> None:
        # Many workers asking at once get at most one item per discriminator between them.
        discriminators = [f"queue-{index}" for index in range(20)]
        for discriminator in discriminators:
            for priority in range(3):
                await store.enqueue(_item(), discriminator, priority)

        results = await asyncio.gather(*(store.lock_next() for _ in range(100)))

        locked = [result.metadata.discriminator for result in results if result is not None]
        assert sorted(locked) == sorted(discriminators)

    async def test_competing_workers_process_everything_once_and_in_order(
        self, store: Store
    ) -> None:
        # Workers that lock and acknowledge concurrently see every item exactly once, and
        # each discriminator's items in the order they were queued.
        queued = {f"queue-{index}": [_item() for _ in range(5)] for index in range(8)}
        for discriminator, items in queued.items():
            for item in items:
                await store.enqueue(item, discriminator, 1)
        total = sum(len(items) for items in queued.values())
        processed: dict[str, list[QueueItem]] = {discriminator: [] for discriminator in queued}

        async def work() -> None:
            while sum(len(items) for items in processed.values()) < total:
                locked = await store.lock_next()
                if locked is None:
                    await asyncio.sleep(0.001)
                    continue
                await asyncio.sleep(0)
                processed[locked.metadata.discriminator].append(locked.item)
                await store.acknowledge(locked.metadata.discriminator, locked.metadata.token)

        await asyncio.wait_for(asyncio.gather(*(work() for _ in range(4))), timeout=30)

        assert processed == queued

    async def test_concurrent_enqueuers_lose_nothing_and_keep_their_order(
        self, store: Store
    ) -> None:
        # Many callers enqueue at once, as a process's workers do (a backend may join their
        # items into one write), while workers keep emptying the queues, which deletes
        # them. Every item is processed once, and each caller's items for a queue in order.
        discriminators = [f"queue-{index}" for index in range(4)]
        queued: list[QueueItem] = []
        by_caller: dict[tuple[str, str], list[QueueItem]] = {}
        processed: dict[str, list[QueueItem]] = {}
        producing = True

        async def produce(caller: int) -> None:
            for position in range(30):
                discriminator = discriminators[(caller * position) % 4 if caller % 2 else 0]
                item = _item(str(caller))
                queued.append(item)
                by_caller.setdefault((item.text, discriminator), []).append(item)
                await store.enqueue(item, discriminator, position)
                if position % 7 == caller % 7:
                    await asyncio.sleep(0.001)

        async def produce_all() -> None:
            nonlocal producing
            await asyncio.gather(*(produce(caller) for caller in range(16)))
            producing = False

        async def work() -> None:
            while producing or sum(map(len, processed.values())) < len(queued):
                locked = await store.lock_next()
                if locked is None:
                    await asyncio.sleep(0.001)
                    continue
                discriminator = locked.metadata.discriminator
                processed.setdefault(discriminator, []).append(locked.item)
                await store.acknowledge(discriminator, locked.metadata.token)

        await asyncio.wait_for(
            asyncio.gather(produce_all(), *(work() for _ in range(4))), timeout=30
        )

        assert sorted(item.id for items in processed.values() for item in items) == sorted(
            item.id for item in queued
        )
        for (caller, discriminator), items in by_caller.items():
            served = [item for item in processed[discriminator] if item.text == caller]
            assert served == items
        assert await store.lock_next() is None
