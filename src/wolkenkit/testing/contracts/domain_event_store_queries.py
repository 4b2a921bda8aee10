"""The contract of a domain event store's global order, snapshots and aggregate lists."""

from __future__ import annotations

import pytest

from wolkenkit.errors import ParameterInvalid, RevisionAlreadyExists
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


class DomainEventStoreQueriesContract:
    """Positions, snapshots and aggregate identifiers. Needs a ``store`` fixture."""

    async def test_positions_follow_the_order_events_were_stored_in(
        self, store: DomainEventStore
    ) -> None:
        # Every event gets a position; reading by position gives the store order across
        # aggregates, with positions that start at 1 or above and only ever grow.
        first, second = build_aggregate_identifier(), build_aggregate_identifier()
        stored = [
            *build_domain_events(first, 2),
            *build_domain_events(second, 1),
            *build_domain_events(first, 1, first_revision=3),
        ]
        await store.store_domain_events(stored[:2])
        await store.store_domain_events(stored[2:3])
        await store.store_domain_events(stored[3:])
        await settle(store, len(stored))

        replay = await collect(store.get_replay_by_position())

        assert ids([positioned.domain_event for positioned in replay]) == ids(stored)
        positions = [positioned.position for positioned in replay]
        assert positions[0] >= 1
        assert positions == sorted(set(positions))

    async def test_what_was_stored_before_waiting_until_readable_is_read_by_position(
        self, store: DomainEventStore
    ) -> None:
        # No settling: the wait is what makes the events readable, whatever runs meanwhile.
        stored = build_domain_events(build_aggregate_identifier(), 3)
        await store.store_domain_events(stored)

        await store.wait_until_readable()

        replay = await collect(store.get_replay_by_position())
        assert ids([positioned.domain_event for positioned in replay]) == ids(stored)

    async def test_reading_continues_after_a_position(self, store: DomainEventStore) -> None:
        # A reader that remembers the last position it saw picks up exactly where it left off.
        stored = build_domain_events(build_aggregate_identifier(), 5)
        await store.store_domain_events(stored)
        await settle(store, len(stored))
        everything = await collect(store.get_replay_by_position())

        rest = await collect(store.get_replay_by_position(after_position=everything[1].position))
        after_last = await collect(
            store.get_replay_by_position(after_position=everything[-1].position)
        )

        assert [positioned.domain_event.id for positioned in rest] == ids(stored[2:])
        assert after_last == []

    async def test_reading_by_position_is_paged_by_limit(self, store: DomainEventStore) -> None:
        # Pages of ``limit`` events, read one after the other, give every event exactly once.
        stored = build_domain_events(build_aggregate_identifier(), 7)
        await store.store_domain_events(stored)
        await settle(store, len(stored))

        seen: list[str] = []
        after_position = 0
        while page := await collect(store.get_replay_by_position(after_position, limit=3)):
            assert len(page) <= 3
            seen.extend(positioned.domain_event.id for positioned in page)
            after_position = page[-1].position

        assert seen == ids(stored)

    async def test_a_failed_batch_leaves_the_order_intact(self, store: DomainEventStore) -> None:
        # A rejected batch takes no position: readers see only what was stored, in order.
        aggregate_identifier = build_aggregate_identifier()
        first = build_domain_event(aggregate_identifier, 1)
        await store.store_domain_events([first])
        with pytest.raises(RevisionAlreadyExists):
            await store.store_domain_events([build_domain_event(aggregate_identifier, 1)])
        second = build_domain_event(aggregate_identifier, 2)
        await store.store_domain_events([second])
        await settle(store, 2)

        replay = await collect(store.get_replay_by_position())

        assert [positioned.domain_event.id for positioned in replay] == [first.id, second.id]
        assert replay[0].position < replay[1].position

    @pytest.mark.parametrize(("after_position", "limit"), [(-1, None), (0, 0), (0, -5)])
    async def test_reading_by_position_rejects_bad_parameters(
        self, store: DomainEventStore, after_position: int, limit: int | None
    ) -> None:
        # Positions are not negative and a page holds at least one event.
        with pytest.raises(ParameterInvalid):
            await collect(store.get_replay_by_position(after_position, limit))

    async def test_an_aggregate_without_snapshots_has_none(self, store: DomainEventStore) -> None:
        assert await store.get_snapshot(build_aggregate_identifier()) is None

    async def test_the_snapshot_with_the_highest_revision_is_returned(
        self, store: DomainEventStore
    ) -> None:
        # Rehydration starts from the latest snapshot, even if an older one arrives later.
        aggregate_identifier = build_aggregate_identifier()
        await store.store_snapshot(build_snapshot(aggregate_identifier, 5, {"count": 5}))
        await store.store_snapshot(build_snapshot(aggregate_identifier, 10, {"count": 10}))
        await store.store_snapshot(build_snapshot(aggregate_identifier, 7, {"count": 7}))

        snapshot = await store.get_snapshot(aggregate_identifier)

        assert snapshot is not None
        assert snapshot.revision == 10
        assert snapshot.state == {"count": 10}
        assert snapshot.aggregate_identifier == aggregate_identifier

    async def test_storing_a_snapshot_for_an_existing_revision_changes_nothing(
        self, store: DomainEventStore
    ) -> None:
        # Two processes may snapshot the same revision; the first one stays, and the second
        # one is not an error.
        aggregate_identifier = build_aggregate_identifier()
        await store.store_snapshot(build_snapshot(aggregate_identifier, 3, {"by": "first"}))
        await store.store_snapshot(build_snapshot(aggregate_identifier, 3, {"by": "second"}))

        snapshot = await store.get_snapshot(aggregate_identifier)

        assert snapshot is not None
        assert snapshot.state == {"by": "first"}

    async def test_snapshots_belong_to_their_aggregate(self, store: DomainEventStore) -> None:
        first, second = build_aggregate_identifier(), build_aggregate_identifier()
        await store.store_snapshot(build_snapshot(first, 2, {"owner": "first"}))

        assert await store.get_snapshot(second) is None

    async def test_aggregate_identifiers_come_in_the_order_aggregates_began(
        self, store: DomainEventStore
    ) -> None:
        # Each aggregate is listed once, in the order of its first event, however many
        # events follow.
        identifiers = [build_aggregate_identifier() for _ in range(3)]
        for index, identifier in enumerate(identifiers):
            await store.store_domain_events(
                [build_domain_event(identifier, 1, timestamp=1_000 + index)]
            )
        for index, identifier in enumerate(reversed(identifiers)):
            await store.store_domain_events(
                [build_domain_event(identifier, 2, timestamp=2_000 + index)]
            )

        listed = await collect(store.get_aggregate_identifiers())

        assert listed == identifiers

    async def test_aggregate_identifiers_are_filtered_by_name(
        self, store: DomainEventStore
    ) -> None:
        # Only aggregates of the given context and aggregate name are listed.
        wanted = [build_aggregate_identifier("communication", "message") for _ in range(2)]
        others = [
            build_aggregate_identifier("communication", "channel"),
            build_aggregate_identifier("planning", "message"),
        ]
        for index, identifier in enumerate([wanted[0], *others, wanted[1]]):
            await store.store_domain_events(
                [build_domain_event(identifier, 1, timestamp=1_000 + index)]
            )

        listed = await collect(store.get_aggregate_identifiers_by_name("communication", "message"))

        assert listed == wanted
        assert await collect(store.get_aggregate_identifiers_by_name("nothing", "here")) == []
