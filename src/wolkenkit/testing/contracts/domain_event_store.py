"""The contract every domain event store keeps: writing, reading and replaying events.

Snapshots and aggregate identifiers are in ``domain_event_store_queries``, the reads and
concurrent writes of command handling in ``domain_event_store_commands``, versions and state
models in ``domain_event_store_versions``; the ``DomainEventStoreContract`` at the end of this
module runs all four.
"""

from __future__ import annotations

import pytest

from wolkenkit.errors import ParameterInvalid, RevisionAlreadyExists
from wolkenkit.messages import new_id
from wolkenkit.stores.domain_event_store import DomainEventStore
from wolkenkit.testing.contracts._messages import (
    build_aggregate_identifier,
    build_domain_event,
    build_domain_events,
    collect,
    ids,
)
from wolkenkit.testing.contracts.domain_event_store_commands import (
    DomainEventStoreCommandsContract,
)
from wolkenkit.testing.contracts.domain_event_store_queries import DomainEventStoreQueriesContract
from wolkenkit.testing.contracts.domain_event_store_versions import (
    DomainEventStoreVersionsContract,
)


class DomainEventStoreWritingContract:
    """Storing events and reading them back per aggregate. Needs a ``store`` fixture."""

    async def test_an_unknown_aggregate_has_no_last_domain_event(
        self, store: DomainEventStore
    ) -> None:
        # An aggregate without events is pristine: there is nothing to return.
        assert await store.get_last_domain_event(build_aggregate_identifier()) is None

    async def test_the_last_domain_event_has_the_highest_revision(
        self, store: DomainEventStore
    ) -> None:
        # Whatever order they arrive in, the last event is the one with the highest revision.
        aggregate_identifier = build_aggregate_identifier()
        first, second, third = build_domain_events(aggregate_identifier, 3)
        await store.store_domain_events([first, second])
        await store.store_domain_events([third])

        last = await store.get_last_domain_event(aggregate_identifier)

        assert last is not None
        assert last.id == third.id

    async def test_stored_events_come_back_unchanged(self, store: DomainEventStore) -> None:
        # Every field survives the round trip, including data, tags and initiator.
        aggregate_identifier = build_aggregate_identifier()
        domain_event = build_domain_event(
            aggregate_identifier, data={"text": "hello", "nested": {"list": [1, 2.5, None]}}
        )
        await store.store_domain_events([domain_event])

        replay = await collect(store.get_replay_for_aggregate(aggregate_identifier.aggregate.id))

        assert [event.to_json() for event in replay] == [domain_event.to_json()]

    async def test_an_empty_batch_is_rejected(self, store: DomainEventStore) -> None:
        # Storing nothing is a caller's mistake, not a silent success.
        with pytest.raises(ParameterInvalid):
            await store.store_domain_events([])

    async def test_an_existing_revision_is_rejected(self, store: DomainEventStore) -> None:
        # Two writers of the same revision: the second one loses (optimistic concurrency).
        aggregate_identifier = build_aggregate_identifier()
        await store.store_domain_events([build_domain_event(aggregate_identifier, 1)])

        with pytest.raises(RevisionAlreadyExists):
            await store.store_domain_events([build_domain_event(aggregate_identifier, 1)])

    async def test_revisions_are_unique_by_aggregate_id_alone(
        self, store: DomainEventStore
    ) -> None:
        # The context and aggregate names are not part of the key, only the aggregate id.
        aggregate_id = new_id()
        first = build_aggregate_identifier("one", "first", aggregate_id)
        second = build_aggregate_identifier("two", "second", aggregate_id)
        await store.store_domain_events([build_domain_event(first, 1)])

        with pytest.raises(RevisionAlreadyExists):
            await store.store_domain_events([build_domain_event(second, 1)])

    async def test_the_same_revision_of_different_aggregates_is_fine(
        self, store: DomainEventStore
    ) -> None:
        # Revisions count per aggregate, so every aggregate has its own revision 1.
        first, second = build_aggregate_identifier(), build_aggregate_identifier()
        await store.store_domain_events([build_domain_event(first, 1)])
        await store.store_domain_events([build_domain_event(second, 1)])

        assert await store.get_last_domain_event(first) is not None
        assert await store.get_last_domain_event(second) is not None

    async def test_a_batch_with_a_conflict_stores_nothing(self, store: DomainEventStore) -> None:
        # A batch is atomic: the new events of a batch with one conflict are not stored either.
        aggregate_identifier = build_aggregate_identifier()
        other_identifier = build_aggregate_identifier()
        await store.store_domain_events([build_domain_event(aggregate_identifier, 2)])

        with pytest.raises(RevisionAlreadyExists):
            await store.store_domain_events(
                [
                    build_domain_event(other_identifier, 1),
                    build_domain_event(aggregate_identifier, 1),
                    build_domain_event(aggregate_identifier, 2),
                ]
            )

        assert await store.get_last_domain_event(other_identifier) is None
        replay = await collect(store.get_replay_for_aggregate(aggregate_identifier.aggregate.id))
        assert [event.metadata.revision for event in replay] == [2]

    async def test_a_batch_that_repeats_a_revision_stores_nothing(
        self, store: DomainEventStore
    ) -> None:
        # A conflict inside one batch is a conflict too.
        aggregate_identifier = build_aggregate_identifier()

        with pytest.raises(RevisionAlreadyExists):
            await store.store_domain_events(
                [
                    build_domain_event(aggregate_identifier, 1),
                    build_domain_event(aggregate_identifier, 1),
                ]
            )

        assert await store.get_last_domain_event(aggregate_identifier) is None

    async def test_a_replay_for_an_aggregate_is_in_revision_order(
        self, store: DomainEventStore
    ) -> None:
        # Rehydration applies events in revision order, across several batches.
        aggregate_identifier = build_aggregate_identifier()
        domain_events = build_domain_events(aggregate_identifier, 5)
        await store.store_domain_events(domain_events[:2])
        await store.store_domain_events(domain_events[2:])
        await store.store_domain_events(build_domain_events(build_aggregate_identifier(), 2))

        replay = await collect(store.get_replay_for_aggregate(aggregate_identifier.aggregate.id))

        assert ids(replay) == ids(domain_events)

    async def test_a_replay_for_an_aggregate_honours_its_bounds(
        self, store: DomainEventStore
    ) -> None:
        # Both bounds are inclusive; a snapshot at revision 2 asks for 3 onwards.
        aggregate_identifier = build_aggregate_identifier()
        domain_events = build_domain_events(aggregate_identifier, 5)
        await store.store_domain_events(domain_events)
        aggregate_id = aggregate_identifier.aggregate.id

        from_three = await collect(store.get_replay_for_aggregate(aggregate_id, 3))
        two_to_four = await collect(store.get_replay_for_aggregate(aggregate_id, 2, 4))
        only_five = await collect(store.get_replay_for_aggregate(aggregate_id, 5, 5))
        beyond = await collect(store.get_replay_for_aggregate(aggregate_id, 6))

        assert ids(from_three) == ids(domain_events[2:])
        assert ids(two_to_four) == ids(domain_events[1:4])
        assert ids(only_five) == ids(domain_events[4:])
        assert beyond == []

    async def test_a_replay_for_an_unknown_aggregate_is_empty(
        self, store: DomainEventStore
    ) -> None:
        assert await collect(store.get_replay_for_aggregate(new_id())) == []

    @pytest.mark.parametrize(("from_revision", "to_revision"), [(0, 5), (1, 0), (-1, 5), (4, 3)])
    async def test_a_replay_for_an_aggregate_rejects_bad_bounds(
        self, store: DomainEventStore, from_revision: int, to_revision: int
    ) -> None:
        # Revisions start at 1 and a range must not end before it starts.
        with pytest.raises(ParameterInvalid):
            await collect(store.get_replay_for_aggregate(new_id(), from_revision, to_revision))

    async def test_events_are_found_by_causation_id(self, store: DomainEventStore) -> None:
        # A command's events share its id as their causation id; the engine uses this to
        # recognise a command it has already handled.
        causation_id = new_id()
        aggregate_identifier = build_aggregate_identifier()
        caused = [
            build_domain_event(aggregate_identifier, revision, causation_id=causation_id)
            for revision in (1, 2)
        ]
        await store.store_domain_events(caused)
        await store.store_domain_events([build_domain_event(aggregate_identifier, 3)])

        found = await collect(store.get_domain_events_by_causation_id(causation_id))

        assert ids(found) == ids(caused)
        assert await store.has_domain_events_with_causation_id(causation_id)
        assert not await store.has_domain_events_with_causation_id(new_id())
        assert await collect(store.get_domain_events_by_causation_id(new_id())) == []

    async def test_events_are_found_by_correlation_id(self, store: DomainEventStore) -> None:
        # A correlation id follows a whole conversation, across aggregates: the events of the
        # command that began it (whose id it is, so they have it as causation id too), and
        # those of the commands that followed.
        correlation_id = new_id()
        correlated = [
            build_domain_event(
                build_aggregate_identifier(),
                causation_id=correlation_id if index in (0, 3) else None,
                correlation_id=correlation_id,
            )
            for index in range(5)
        ]
        await store.store_domain_events(correlated[:2])
        await store.store_domain_events([build_domain_event(causation_id=correlation_id)])
        await store.store_domain_events(correlated[2:])

        found = await collect(store.get_domain_events_by_correlation_id(correlation_id))

        assert ids(found) == ids(correlated)
        assert await collect(store.get_domain_events_by_correlation_id(new_id())) == []

    async def test_a_replay_is_ordered_by_aggregate_id_and_revision(
        self, store: DomainEventStore
    ) -> None:
        # The full replay groups events by aggregate id (lowercase uuids in string order)
        # and orders each group by revision, whatever order the events were stored in.
        identifiers = [build_aggregate_identifier() for _ in range(3)]
        events = {
            identifier.aggregate.id: build_domain_events(identifier, 3)
            for identifier in identifiers
        }
        for revision in range(3):
            for identifier in identifiers:
                await store.store_domain_events([events[identifier.aggregate.id][revision]])

        replay = await collect(store.get_replay())

        expected = [event for aggregate_id in sorted(events) for event in events[aggregate_id]]
        assert ids(replay) == ids(expected)

    async def test_a_replay_starts_at_a_timestamp(self, store: DomainEventStore) -> None:
        # Events older than the given timestamp are left out; the bound is inclusive.
        aggregate_identifier = build_aggregate_identifier()
        domain_events = [
            build_domain_event(aggregate_identifier, revision, timestamp=1_000 * revision)
            for revision in (1, 2, 3)
        ]
        await store.store_domain_events(domain_events)

        replay = await collect(store.get_replay(from_timestamp=2_000))

        assert ids(replay) == ids(domain_events[1:])

    async def test_a_replay_rejects_a_negative_timestamp(self, store: DomainEventStore) -> None:
        with pytest.raises(ParameterInvalid):
            await collect(store.get_replay(from_timestamp=-1))


class DomainEventStoreContract(
    DomainEventStoreWritingContract,
    DomainEventStoreQueriesContract,
    DomainEventStoreCommandsContract,
    DomainEventStoreVersionsContract,
):
    """Everything a domain event store must do. Provide an async ``store`` fixture that
    yields a fresh store that has been set up."""
