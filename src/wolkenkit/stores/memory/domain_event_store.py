"""A domain event store that keeps everything in the process's memory.

Every lookup the engine makes per command (causation check, snapshot, the latest events of an
aggregate, the write itself) goes through a dict index, so its cost does not grow with the
number of stored events. Events are immutable models, so the indexes share references.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

from wolkenkit.errors import RevisionAlreadyExists
from wolkenkit.messages import AggregateIdentifier, DomainEvent, Snapshot
from wolkenkit.stores.domain_event_store import (
    MAX_REVISION,
    DomainEventStore,
    PositionedDomainEvent,
    check_domain_events,
    check_from_timestamp,
    check_position_range,
    check_revision_range,
)


@dataclass(slots=True)
class _AggregateEvents:
    """One aggregate's events by revision; ``last_revision`` is the highest stored one."""

    by_revision: dict[int, DomainEvent] = field(default_factory=dict)
    last_revision: int = 0


class InMemoryDomainEventStore(DomainEventStore):
    """Keeps events and snapshots in dicts; ``destroy`` forgets them."""

    def __init__(self) -> None:
        self._clear()

    def _clear(self) -> None:
        # The global order: the event at index i has position i + 1.
        self._events: list[DomainEvent] = []
        self._aggregates: dict[str, _AggregateEvents] = {}
        self._by_causation_id: dict[str, list[DomainEvent]] = {}
        self._by_correlation_id: dict[str, list[DomainEvent]] = {}
        # Filled by revision-1 events, so insertion order is the order aggregates began.
        self._aggregate_identifiers: dict[str, AggregateIdentifier] = {}
        self._snapshots: dict[str, Snapshot] = {}

    async def setup(self) -> None:
        pass

    async def destroy(self) -> None:
        self._clear()

    async def get_last_domain_event(
        self, aggregate_identifier: AggregateIdentifier
    ) -> DomainEvent | None:
        aggregate = self._aggregates.get(aggregate_identifier.aggregate.id)
        if aggregate is None:
            return None
        return aggregate.by_revision[aggregate.last_revision]

    async def get_domain_events_by_causation_id(
        self, causation_id: str
    ) -> AsyncIterator[DomainEvent]:
        for domain_event in list(self._by_causation_id.get(causation_id, ())):
            yield domain_event

    async def has_domain_events_with_causation_id(self, causation_id: str) -> bool:
        return causation_id in self._by_causation_id

    async def get_domain_events_by_correlation_id(
        self, correlation_id: str
    ) -> AsyncIterator[DomainEvent]:
        for domain_event in list(self._by_correlation_id.get(correlation_id, ())):
            yield domain_event

    async def get_replay(self, from_timestamp: int = 0) -> AsyncIterator[DomainEvent]:
        check_from_timestamp(from_timestamp)
        # Sorting the ids as strings matches the byte order of lowercase uuids in SQL.
        for aggregate_id in sorted(self._aggregates):
            aggregate = self._aggregates[aggregate_id]
            for revision in sorted(aggregate.by_revision):
                domain_event = aggregate.by_revision[revision]
                if domain_event.metadata.timestamp >= from_timestamp:
                    yield domain_event

    async def get_replay_for_aggregate(
        self, aggregate_id: str, from_revision: int = 1, to_revision: int = MAX_REVISION
    ) -> AsyncIterator[DomainEvent]:
        check_revision_range(from_revision, to_revision)
        aggregate = self._aggregates.get(aggregate_id)
        if aggregate is None:
            return
        # Revisions are dense in practice, so walking the range costs what it returns.
        last = min(to_revision, aggregate.last_revision)
        for revision in range(from_revision, last + 1):
            domain_event = aggregate.by_revision.get(revision)
            if domain_event is not None:
                yield domain_event

    async def wait_until_readable(self) -> None:
        # Events are readable the moment they are stored.
        return

    async def get_replay_by_position(
        self, after_position: int = 0, limit: int | None = None
    ) -> AsyncIterator[PositionedDomainEvent]:
        check_position_range(after_position, limit)
        # Writes are atomic within the event loop, so no stored event can be overtaken.
        end = len(self._events) if limit is None else after_position + limit
        for index in range(after_position, min(end, len(self._events))):
            yield PositionedDomainEvent(position=index + 1, domain_event=self._events[index])

    async def count_domain_events(self) -> int:
        return len(self._events)

    async def store_domain_events(self, domain_events: Sequence[DomainEvent]) -> None:
        check_domain_events(domain_events)
        # Check the whole batch before writing anything, so a conflict stores none of it.
        keys: set[tuple[str, int]] = set()
        for domain_event in domain_events:
            aggregate_id = domain_event.aggregate_identifier.aggregate.id
            revision = domain_event.metadata.revision
            aggregate = self._aggregates.get(aggregate_id)
            key = (aggregate_id, revision)
            if key in keys or (aggregate is not None and revision in aggregate.by_revision):
                raise RevisionAlreadyExists("Aggregate id and revision already exist.")
            keys.add(key)
        for domain_event in domain_events:
            self._add(domain_event)

    def _add(self, domain_event: DomainEvent) -> None:
        aggregate_id = domain_event.aggregate_identifier.aggregate.id
        revision = domain_event.metadata.revision
        aggregate = self._aggregates.get(aggregate_id)
        if aggregate is None:
            aggregate = self._aggregates[aggregate_id] = _AggregateEvents()
        aggregate.by_revision[revision] = domain_event
        aggregate.last_revision = max(aggregate.last_revision, revision)
        self._events.append(domain_event)
        metadata = domain_event.metadata
        self._by_causation_id.setdefault(metadata.causation_id, []).append(domain_event)
        self._by_correlation_id.setdefault(metadata.correlation_id, []).append(domain_event)
        if revision == 1:
            self._aggregate_identifiers[aggregate_id] = domain_event.aggregate_identifier

    async def get_snapshot(self, aggregate_identifier: AggregateIdentifier) -> Snapshot | None:
        return self._snapshots.get(aggregate_identifier.aggregate.id)

    async def store_snapshot(self, snapshot: Snapshot) -> None:
        # Only the highest snapshot is ever read, so lower or equal ones need not be kept,
        # but one of the same revision under another state model takes the old one's place.
        aggregate_id = snapshot.aggregate_identifier.aggregate.id
        current = self._snapshots.get(aggregate_id)
        if (
            current is None
            or snapshot.revision > current.revision
            or (
                snapshot.revision == current.revision
                and snapshot.state_model != current.state_model
            )
        ):
            self._snapshots[aggregate_id] = snapshot

    async def get_aggregate_identifiers(self) -> AsyncIterator[AggregateIdentifier]:
        for aggregate_identifier in list(self._aggregate_identifiers.values()):
            yield aggregate_identifier

    async def get_aggregate_identifiers_by_name(
        self, context_name: str, aggregate_name: str
    ) -> AsyncIterator[AggregateIdentifier]:
        for aggregate_identifier in list(self._aggregate_identifiers.values()):
            if (
                aggregate_identifier.context.name == context_name
                and aggregate_identifier.aggregate.name == aggregate_name
            ):
                yield aggregate_identifier
