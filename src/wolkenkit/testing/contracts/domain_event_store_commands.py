"""The contract of what command handling needs from a domain event store beyond plain writes
and reads: the one read per command, and concurrent writers that stay apart.

Part of ``DomainEventStoreContract``; needs a ``store`` fixture.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import pytest

from wolkenkit.errors import ParameterInvalid, RevisionAlreadyExists
from wolkenkit.messages import DomainEvent, new_id
from wolkenkit.stores.domain_event_store import DomainEventStore
from wolkenkit.testing.contracts._messages import (
    build_aggregate_identifier,
    build_domain_event,
    build_domain_events,
    build_snapshot,
    collect,
    ids,
    settle,
)


async def _store_concurrently(
    store: DomainEventStore, batches: Sequence[Sequence[DomainEvent]]
) -> list[BaseException | None]:
    """Each batch from a caller of its own, all at once; each caller's error or ``None``."""

    async def store_one(batch: Sequence[DomainEvent]) -> BaseException | None:
        try:
            await store.store_domain_events(batch)
        except RevisionAlreadyExists as error:
            return error
        return None

    return await asyncio.gather(*(store_one(batch) for batch in batches))


class DomainEventStoreCommandsContract:
    async def test_a_replay_for_a_command_tells_whether_the_command_was_handled(
        self, store: DomainEventStore
    ) -> None:
        # A command's events carry its id as causation id, in whichever aggregate they are.
        handled_id = new_id()
        aggregate_identifier = build_aggregate_identifier()
        await store.store_domain_events(
            [build_domain_event(build_aggregate_identifier(), causation_id=handled_id)]
        )
        await store.store_domain_events([build_domain_event(aggregate_identifier)])

        handled = await store.get_replay_for_command(aggregate_identifier, handled_id)
        new = await store.get_replay_for_command(aggregate_identifier, new_id(), 1)

        assert handled.handled
        assert not new.handled
        assert len(handled.domain_events) == len(new.domain_events) == 1

    async def test_a_replay_for_a_command_starts_after_the_latest_snapshot(
        self, store: DomainEventStore
    ) -> None:
        # Without a revision to start from, the latest snapshot comes along with the events
        # stored after it, and nothing older.
        aggregate_identifier = build_aggregate_identifier()
        domain_events = build_domain_events(aggregate_identifier, 5)
        await store.store_domain_events(domain_events)
        await store.store_snapshot(build_snapshot(aggregate_identifier, 2, {"count": 2}))
        await store.store_snapshot(build_snapshot(aggregate_identifier, 3, {"count": 3}))

        replay = await store.get_replay_for_command(aggregate_identifier, new_id())

        assert replay.snapshot is not None
        assert replay.snapshot.aggregate_identifier == aggregate_identifier
        assert (replay.snapshot.revision, replay.snapshot.state) == (3, {"count": 3})
        assert ids(replay.domain_events) == ids(domain_events[3:])

    async def test_a_replay_for_a_command_from_a_revision_reads_no_snapshot(
        self, store: DomainEventStore
    ) -> None:
        # The engine's cache has the aggregate up to a revision: it wants what came after.
        aggregate_identifier = build_aggregate_identifier()
        domain_events = build_domain_events(aggregate_identifier, 5)
        await store.store_domain_events(domain_events)
        await store.store_snapshot(build_snapshot(aggregate_identifier, 3, {"count": 3}))

        replay = await store.get_replay_for_command(aggregate_identifier, new_id(), 2)

        assert replay.snapshot is None
        assert ids(replay.domain_events) == ids(domain_events[1:])

    async def test_a_replay_for_a_command_of_a_new_aggregate_is_empty(
        self, store: DomainEventStore
    ) -> None:
        replay = await store.get_replay_for_command(build_aggregate_identifier(), new_id())

        assert (replay.handled, replay.snapshot, replay.domain_events) == (False, None, [])

    async def test_a_replay_for_a_command_rejects_a_revision_below_one(
        self, store: DomainEventStore
    ) -> None:
        with pytest.raises(ParameterInvalid):
            await store.get_replay_for_command(build_aggregate_identifier(), new_id(), 0)

    async def test_concurrent_writers_stay_apart_when_one_conflicts(
        self, store: DomainEventStore
    ) -> None:
        # Eight callers store at once, as concurrent command workers do; one of them brings
        # an existing revision. Only that caller fails, and none of its events is stored,
        # while every other caller's events are, each batch whole and in one piece of the
        # global order.
        taken = build_aggregate_identifier()
        await store.store_domain_events([build_domain_event(taken, 1)])
        batches = [build_domain_events(build_aggregate_identifier(), 3) for _ in range(7)]
        bystander = build_domain_event(build_aggregate_identifier())
        conflicting = [bystander, *build_domain_events(taken, 2)]
        batches.insert(4, conflicting)

        errors = await _store_concurrently(store, batches)

        assert [error is None for error in errors] == [True] * 4 + [False] + [True] * 3
        assert await store.get_last_domain_event(bystander.aggregate_identifier) is None
        await settle(store, 1 + 3 * 7)
        stored = [
            positioned.domain_event.id
            async for positioned in store.get_replay_by_position()
            if positioned.domain_event.aggregate_identifier != taken
        ]
        succeeded = [batch for batch in batches if batch is not conflicting]
        assert sorted(stored) == sorted(event.id for batch in succeeded for event in batch)
        for batch in succeeded:
            start = stored.index(batch[0].id)
            assert stored[start : start + 3] == ids(batch)

    async def test_of_concurrent_writers_of_one_revision_exactly_one_wins(
        self, store: DomainEventStore
    ) -> None:
        # Two callers race for the same revision among others that do not conflict: one of
        # the two wins, the other gets a conflict, and the others are not disturbed.
        contested = build_aggregate_identifier()
        rivals = [[build_domain_event(contested, 1)] for _ in range(2)]
        others = [build_domain_events(build_aggregate_identifier(), 2) for _ in range(3)]

        errors = await _store_concurrently(store, [others[0], *rivals, *others[1:]])

        rival_errors = errors[1:3]
        assert sorted(error is None for error in rival_errors) == [False, True]
        assert [errors[0], *errors[3:]] == [None, None, None]
        winner = rivals[rival_errors.index(None)]
        replay = await collect(store.get_replay_for_aggregate(contested.aggregate.id))
        assert ids(replay) == ids(winner)
        for batch in others:
            aggregate_id = batch[0].aggregate_identifier.aggregate.id
            assert ids(await collect(store.get_replay_for_aggregate(aggregate_id))) == ids(batch)
