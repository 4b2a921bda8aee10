"""The contract of what a domain event store keeps beside each event and snapshot: the version
of the event's data model, and the state model a snapshot was taken under."""

from __future__ import annotations

from wolkenkit.messages import new_id
from wolkenkit.stores.domain_event_store import DomainEventStore
from wolkenkit.testing.contracts._messages import (
    build_aggregate_identifier,
    build_domain_event,
    build_domain_events,
    build_snapshot,
    collect,
    settle,
)


class DomainEventStoreVersionsContract:
    """Versions, state models and the count of events. Needs a ``store`` fixture."""

    async def test_every_read_returns_the_version_an_event_was_stored_with(
        self, store: DomainEventStore
    ) -> None:
        # Readers lift old events by their version, so no read may lose it: an event from
        # before versions existed is at 1, a newer one at whatever its model said.
        aggregate_identifier = build_aggregate_identifier()
        causation_id = correlation_id = new_id()
        stored = [
            build_domain_event(
                aggregate_identifier,
                revision,
                causation_id=causation_id,
                correlation_id=correlation_id,
                version=version,
            )
            for revision, version in ((1, 1), (2, 3))
        ]
        await store.store_domain_events(stored)
        await settle(store, 2)
        aggregate_id = aggregate_identifier.aggregate.id

        last = await store.get_last_domain_event(aggregate_identifier)
        reads = {
            "by aggregate": await collect(store.get_replay_for_aggregate(aggregate_id)),
            "by time": await collect(store.get_replay()),
            "by position": [
                positioned.domain_event
                for positioned in await collect(store.get_replay_by_position())
            ],
            "by causation": await collect(store.get_domain_events_by_causation_id(causation_id)),
            "by correlation": await collect(
                store.get_domain_events_by_correlation_id(correlation_id)
            ),
            "for a command": (
                await store.get_replay_for_command(aggregate_identifier, new_id())
            ).domain_events,
            "for a command from a revision": (
                await store.get_replay_for_command(aggregate_identifier, new_id(), 1)
            ).domain_events,
        }

        assert last is not None
        assert last.version == 3
        assert {how: [event.version for event in read] for how, read in reads.items()} == {
            how: [1, 3] for how in reads
        }
        # The event is otherwise as it was, and its JSON (what the APIs send) has no version.
        assert [event.to_json() for event in reads["by aggregate"]] == [
            event.to_json() for event in stored
        ]
        assert "version" not in reads["by aggregate"][1].to_json()

    async def test_a_store_that_reads_fresh_events_keeps_its_word(
        self, store: DomainEventStore
    ) -> None:
        # Readers change such events in place (lifting old ones): no two reads, and no
        # writer, may hold the same event object.
        domain_event = build_domain_event()
        await store.store_domain_events([domain_event])
        identifier = domain_event.aggregate_identifier

        first = await store.get_last_domain_event(identifier)
        second = (await store.get_replay_for_command(identifier, new_id(), 1)).domain_events[0]

        assert first is not None
        held = {id(domain_event), id(first), id(second)}
        assert len(held) == 3 or not store.reads_fresh_events

    async def test_a_snapshot_keeps_its_state_model(self, store: DomainEventStore) -> None:
        # Rehydration ignores a snapshot taken under another state model, so it must know
        # which model that was, from either read.
        aggregate_identifier = build_aggregate_identifier()
        await store.store_snapshot(build_snapshot(aggregate_identifier, 2, {"count": 2}, "a1b2"))

        snapshot = await store.get_snapshot(aggregate_identifier)
        replay = await store.get_replay_for_command(aggregate_identifier, new_id())

        assert snapshot is not None
        assert replay.snapshot is not None
        assert (snapshot.state_model, replay.snapshot.state_model) == ("a1b2", "a1b2")

    async def test_a_snapshot_under_another_state_model_replaces_its_revision(
        self, store: DomainEventStore
    ) -> None:
        # After the state model changed, the aggregate is rehydrated from its events and
        # snapshotted again at the same revision: that snapshot must win, or every load would
        # ignore the old one forever. Another one of the same model changes nothing.
        aggregate_identifier = build_aggregate_identifier()
        await store.store_snapshot(build_snapshot(aggregate_identifier, 3, {"by": "old"}, "old"))
        await store.store_snapshot(build_snapshot(aggregate_identifier, 3, {"by": "new"}, "new"))
        await store.store_snapshot(build_snapshot(aggregate_identifier, 3, {"by": "again"}, "new"))

        snapshot = await store.get_snapshot(aggregate_identifier)

        assert snapshot is not None
        assert (snapshot.state, snapshot.state_model) == ({"by": "new"}, "new")

    async def test_the_events_are_counted(self, store: DomainEventStore) -> None:
        # The check before a deploy shows its progress against this count.
        assert await store.count_domain_events() == 0
        await store.store_domain_events(build_domain_events(build_aggregate_identifier(), 2))
        await store.store_domain_events(build_domain_events(build_aggregate_identifier(), 1))

        assert await store.count_domain_events() == 3
