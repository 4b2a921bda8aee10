"""What the backends' store tests share: stores set up for a test and destroyed after it,
and waiting for what a store does in the background."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Protocol, TypeVar

import pytest

from wolkenkit.stores.consumer_progress_store import ConsumerProgressStore
from wolkenkit.stores.view_store import ViewStore
from wolkenkit.testing.contracts.priority_queue_store import MakePriorityQueueStore, Store
from wolkenkit.testing.contracts.transactions import COUNTERS, MESSAGES, Stores
from wolkenkit.testing.queue_fuzz import FuzzSettings, fuzz_priority_queue_store


class _Store(Protocol):
    async def setup(self) -> None: ...

    async def destroy(self) -> None: ...


StoreT = TypeVar("StoreT", bound=_Store)


@asynccontextmanager
async def set_up(store: StoreT) -> AsyncIterator[StoreT]:
    """The store, set up for a test and destroyed after it."""
    await store.setup()
    try:
        yield store
    finally:
        await store.destroy()


@asynccontextmanager
async def progress_and_views(
    progress: ConsumerProgressStore, views: ViewStore
) -> AsyncIterator[Stores]:
    """The stores of the shared-transaction contract, set up for a test, destroyed after."""
    async with set_up(progress):
        try:
            await views.setup([MESSAGES, COUNTERS])
            yield progress, views
        finally:
            await views.destroy()


@asynccontextmanager
async def queue_stores(
    create: Callable[[int], Awaitable[Store]],
) -> AsyncIterator[MakePriorityQueueStore]:
    """Makes queue stores by lock expiration time (``create``), each set up, all destroyed
    when the test is over: the ``make_store`` of the queue contract."""
    made: list[Store] = []

    async def make_store(expiration_time: int) -> Store:
        store = await create(expiration_time)
        await store.setup()
        made.append(store)
        return store

    try:
        yield make_store
    finally:
        for store in made:
            await store.destroy()


class FuzzedQueueStore:
    """For a queue contract's test class whose every store has a pool of its own, so that the
    fuzzer's workers compete as separate processes would."""

    async def test_the_fuzzer_finds_nothing_wrong(self, make_store: MakePriorityQueueStore) -> None:
        report = await fuzz_priority_queue_store(make_store, FuzzSettings.from_environment())

        assert report.unexercised() == []


async def eventually(condition: Callable[[], bool | Awaitable[bool]]) -> None:
    """Check ``condition`` every 20 ms until it holds, for five seconds at most."""
    for _ in range(250):
        holds = condition()
        if await holds if inspect.isawaitable(holds) else holds:
            return
        await asyncio.sleep(0.02)
    pytest.fail("The condition did not hold within five seconds.")
