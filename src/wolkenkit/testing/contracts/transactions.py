"""The contract of a unit of work over a consumer progress store and a view store of one
database (``wolkenkit.stores.transactions``): what the stores do in it commits together, or,
when its block raises, not at all.

Decisions the interface leaves open and this contract fixes:
- Inside the unit, its own reads see its writes.
- A write that fails inside the unit (a taken key) fails alone: the unit goes on, and what it
  did before and after still commits.
- A unit opened inside another one of the same database joins it: the outer block's end
  decides for both. (Where ``nested_units_undo_alone``, SQLite, the inner one is a
  savepoint besides: its raising block undoes what it did, and the outer one goes on.)
- Two units that both move the same progress to the same revision cannot both commit: the
  later one's ``set_progress`` raises ``RevisionTooLow``, and its block rolls back.
- Callers outside the unit never see its writes before it commits (not for the in-memory
  backend, whose units only undo; ``isolates = False``).
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

import pytest

from wolkenkit.errors import RevisionTooLow, RowAlreadyExists
from wolkenkit.messages import new_id
from wolkenkit.stores.consumer_progress_store import ConsumerProgressStore
from wolkenkit.stores.transactions import SharedDatabase, shared_database
from wolkenkit.stores.view_store import ViewStore
from wolkenkit.testing.contracts._messages import build_aggregate_identifier
from wolkenkit.testing.contracts.view_store import COUNTERS, MESSAGES

Stores = tuple[ConsumerProgressStore, ViewStore]


class _Failure(Exception):
    pass


def _database(stores: Stores) -> SharedDatabase:
    database = shared_database(*stores)
    assert database is not None, "the progress and view stores should share their database"
    return database


async def _in_failing_unit(database: SharedDatabase, work: Callable[[], Awaitable[None]]) -> None:
    """Run ``work`` in a unit of work whose block then raises."""
    with contextlib.suppress(_Failure):
        async with database.transaction():
            await work()
            raise _Failure()


async def _count(views: ViewStore) -> None:
    """Add one to the counter, reading it first (as a handler would)."""
    row = await views.update("counters", 1, {})
    await views.update("counters", 1, {"count": row["count"] + 1})


async def _counted_once(stores: Stores, deliver: Callable[[], Awaitable[bool]]) -> None:
    """Two deliveries of one event at once, each ``_count``ing in a unit: one counts."""
    await stores[1].insert("counters", {"number": 1, "count": 0})

    outcomes = await asyncio.gather(_outside(deliver()), _outside(deliver()))

    assert sorted(outcomes) == [False, True]
    assert await stores[1].get("counters", 1) == {"number": 1, "count": 1}


def _outside(coroutine: Any) -> asyncio.Task[Any]:
    """A task that runs outside any unit of work, whatever the caller is in."""
    return asyncio.get_running_loop().create_task(coroutine, context=contextvars.Context())


class SharedTransactionContract:
    """Provide an async ``stores`` fixture that yields a consumer progress store and a view
    store of one database, both set up (the view store with ``MESSAGES`` and ``COUNTERS``)."""

    #: Whether callers outside a unit are kept from seeing its writes before the commit.
    isolates: ClassVar[bool] = True

    async def test_the_stores_share_their_database(self, stores: Stores) -> None:
        database = _database(stores)

        assert database.description

    async def test_writes_in_a_unit_commit_together(self, stores: Stores) -> None:
        progress, views = stores
        consumer, aggregate = f"flow-{new_id()}", build_aggregate_identifier()

        async with _database(stores).transaction():
            await views.insert("messages", {"id": "a", "text": "Hi"})
            await views.upsert("counters", {"number": 1, "count": 1})
            await progress.set_progress(consumer, aggregate, 1)

        assert await views.get("messages", "a") == {"id": "a", "text": "Hi"}
        assert await views.get("counters", 1) == {"number": 1, "count": 1}
        assert (await progress.get_progress(consumer, aggregate)).revision == 1

    async def test_a_unit_whose_block_raises_leaves_nothing_behind(self, stores: Stores) -> None:
        progress, views = stores
        consumer, aggregate = f"flow-{new_id()}", build_aggregate_identifier()
        await views.insert("counters", {"number": 1, "count": 1})
        await views.insert("messages", {"id": "kept", "text": "Kept"})

        async def work() -> None:
            await views.insert("messages", {"id": "a", "text": "Hi"})
            await views.update("counters", 1, {"count": 2})
            await views.delete("messages", "kept")
            await progress.set_progress(consumer, aggregate, 1)

        await _in_failing_unit(_database(stores), work)

        assert await views.get("messages", "a") is None
        assert await views.get("messages", "kept") == {"id": "kept", "text": "Kept"}
        assert await views.get("counters", 1) == {"number": 1, "count": 1}
        assert (await progress.get_progress(consumer, aggregate)).revision == 0

    async def test_a_unit_reads_its_own_writes(self, stores: Stores) -> None:
        progress, views = stores
        consumer, aggregate = f"flow-{new_id()}", build_aggregate_identifier()

        async def work() -> None:
            await views.insert("messages", {"id": "a", "text": "Hi", "author": "jane"})
            await progress.set_progress(consumer, aggregate, 3)

            assert await views.get("messages", "a") is not None
            assert await views.count("messages", {"author": "jane"}) == 1
            assert [row["id"] for row in (await views.find("messages")).rows] == ["a"]
            assert (await progress.get_progress(consumer, aggregate)).revision == 3

        await _in_failing_unit(_database(stores), work)

        assert await views.count("messages") == 0

    async def test_a_write_that_fails_in_a_unit_fails_alone(self, stores: Stores) -> None:
        progress, views = stores
        consumer, aggregate = f"flow-{new_id()}", build_aggregate_identifier()
        await views.insert("messages", {"id": "taken", "text": "First"})

        async with _database(stores).transaction():
            await views.insert("messages", {"id": "a", "text": "Before"})
            with pytest.raises(RowAlreadyExists):
                await views.insert("messages", {"id": "taken", "text": "Second"})
            await views.insert("messages", {"id": "b", "text": "After"})
            await progress.set_progress(consumer, aggregate, 1)

        assert await views.get("messages", "taken") == {"id": "taken", "text": "First"}
        assert await views.count("messages") == 3
        assert (await progress.get_progress(consumer, aggregate)).revision == 1

    async def test_a_unit_inside_a_unit_joins_it(self, stores: Stores) -> None:
        _, views = stores
        database = _database(stores)

        async def work() -> None:
            async with database.transaction():
                await views.insert("messages", {"id": "inner", "text": "Inner"})

        await _in_failing_unit(database, work)

        assert await views.get("messages", "inner") is None

    async def test_tasks_started_in_a_unit_write_in_it(self, stores: Stores) -> None:
        _, views = stores

        async def work() -> None:
            await asyncio.gather(
                *(views.insert("messages", {"id": f"m{n}", "text": "Hi"}) for n in range(3))
            )

        await _in_failing_unit(_database(stores), work)

        assert await views.count("messages") == 0

    async def test_of_two_units_moving_the_same_progress_only_one_commits(
        self, stores: Stores
    ) -> None:
        # Two deliveries of one event, handled at the same time: each counts, then moves the
        # progress; the one that comes second must roll its count back.
        progress, views = stores
        consumer, aggregate = f"flow-{new_id()}", build_aggregate_identifier()

        async def deliver() -> bool:
            try:
                async with _database(stores).transaction():
                    await _count(views)
                    await progress.set_progress(consumer, aggregate, 1)
            except RevisionTooLow:
                return False
            return True

        await _counted_once(stores, deliver)

    async def test_a_claim_in_a_unit_whose_block_raises_is_undone(self, stores: Stores) -> None:
        # A flow claims its event, then a handler raises: the event stays unseen.
        progress, views = stores
        consumer, aggregate = f"flow-{new_id()}", build_aggregate_identifier()

        async def work() -> None:
            assert await progress.claim_next(consumer, aggregate, 1)
            await views.insert("messages", {"id": "a", "text": "Hi"})

        await _in_failing_unit(_database(stores), work)

        assert (await progress.get_progress(consumer, aggregate)).revision == 0
        assert await views.get("messages", "a") is None
        assert await progress.claim_next(consumer, aggregate, 1)

    async def test_of_two_units_claiming_the_same_event_only_one_handles_it(
        self, stores: Stores
    ) -> None:
        # Two deliveries of one event at the same time: the second finds it claimed.
        progress, views = stores
        consumer, aggregate = f"flow-{new_id()}", build_aggregate_identifier()
        await progress.set_progress(consumer, aggregate, 1)

        async def deliver() -> bool:
            async with _database(stores).transaction():
                if not await progress.claim_next(consumer, aggregate, 2):
                    return False
                await _count(views)
            return True

        await _counted_once(stores, deliver)
        assert (await progress.get_progress(consumer, aggregate)).revision == 2

    async def test_others_do_not_see_a_unit_s_writes_before_it_commits(
        self, stores: Stores
    ) -> None:
        if not self.isolates:
            pytest.skip("This backend's units do not isolate.")
        progress, views = stores
        consumer, aggregate = f"flow-{new_id()}", build_aggregate_identifier()

        async with _database(stores).transaction():
            await views.insert("messages", {"id": "a", "text": "Hi"})
            await progress.set_progress(consumer, aggregate, 1)
            row = _outside(views.get("messages", "a"))
            revision = _outside(progress.get_progress(consumer, aggregate))
            # Time for the readers to answer, if they may before the commit.
            await asyncio.sleep(0.05)
            answered_early = row.done(), revision.done()

        if answered_early[0]:
            assert await row is None
        if answered_early[1]:
            assert (await revision).revision == 0
        assert await views.get("messages", "a") is not None


__all__ = ["COUNTERS", "MESSAGES", "SharedTransactionContract"]
