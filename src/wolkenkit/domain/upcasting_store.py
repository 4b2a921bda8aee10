"""A domain event store whose reads come out at the current version of every event's model.

The domain reads through it (rehydration, replays for flows), and so does anyone who takes
the domain's store: replays by aggregate, by time and by position, lookups by causation and
correlation. Writes, snapshots and aggregate lists pass through untouched.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import TypeVar

from wolkenkit.domain.upcasting import Upcasting
from wolkenkit.messages import AggregateIdentifier, DomainEvent, Snapshot
from wolkenkit.stores.domain_event_store import (
    MAX_REVISION,
    CommandReplay,
    DomainEventStore,
    PositionedDomainEvent,
)

ItemT = TypeVar("ItemT")


@asynccontextmanager
async def _closing(iterator: AsyncIterator[ItemT]) -> AsyncIterator[AsyncIterator[ItemT]]:
    """Closes a backend's async generator with its reader, so that its connection is given
    back as soon as the reader stops, not when the garbage collector gets to it."""
    try:
        yield iterator
    finally:
        close = getattr(iterator, "aclose", None)
        if close is not None:
            await close()


class UpcastingDomainEventStore(DomainEventStore):
    """Reads ``store`` through ``upcasting``."""

    def __init__(self, store: DomainEventStore, upcasting: Upcasting) -> None:
        self.store = store
        self._current = (
            upcasting.current_in_place if store.reads_fresh_events else upcasting.current
        )

    async def setup(self) -> None:
        await self.store.setup()

    async def destroy(self) -> None:
        await self.store.destroy()

    async def get_last_domain_event(
        self, aggregate_identifier: AggregateIdentifier
    ) -> DomainEvent | None:
        domain_event = await self.store.get_last_domain_event(aggregate_identifier)
        return None if domain_event is None else self._current(domain_event)

    def get_domain_events_by_causation_id(self, causation_id: str) -> AsyncIterator[DomainEvent]:
        return self._lifted(self.store.get_domain_events_by_causation_id(causation_id))

    async def has_domain_events_with_causation_id(self, causation_id: str) -> bool:
        return await self.store.has_domain_events_with_causation_id(causation_id)

    def get_domain_events_by_correlation_id(
        self, correlation_id: str
    ) -> AsyncIterator[DomainEvent]:
        return self._lifted(self.store.get_domain_events_by_correlation_id(correlation_id))

    def get_replay(self, from_timestamp: int = 0) -> AsyncIterator[DomainEvent]:
        return self._lifted(self.store.get_replay(from_timestamp))

    async def wait_until_readable(self) -> None:
        await self.store.wait_until_readable()

    def get_replay_for_aggregate(
        self, aggregate_id: str, from_revision: int = 1, to_revision: int = MAX_REVISION
    ) -> AsyncIterator[DomainEvent]:
        return self._lifted(
            self.store.get_replay_for_aggregate(aggregate_id, from_revision, to_revision)
        )

    async def get_replay_for_command(
        self,
        aggregate_identifier: AggregateIdentifier,
        causation_id: str,
        from_revision: int | None = None,
    ) -> CommandReplay:
        replay = await self.store.get_replay_for_command(
            aggregate_identifier, causation_id, from_revision
        )
        if not replay.domain_events:
            return replay
        current = self._current
        return CommandReplay(
            replay.handled,
            replay.snapshot,
            [current(domain_event) for domain_event in replay.domain_events],
        )

    async def get_replay_by_position(
        self, after_position: int = 0, limit: int | None = None
    ) -> AsyncIterator[PositionedDomainEvent]:
        current = self._current
        async with _closing(self.store.get_replay_by_position(after_position, limit)) as replay:
            async for positioned in replay:
                domain_event = positioned.domain_event
                lifted = current(domain_event)
                yield (
                    positioned
                    if lifted is domain_event
                    else PositionedDomainEvent(positioned.position, lifted)
                )

    async def count_domain_events(self) -> int:
        return await self.store.count_domain_events()

    async def store_domain_events(self, domain_events: Sequence[DomainEvent]) -> None:
        await self.store.store_domain_events(domain_events)

    async def get_snapshot(self, aggregate_identifier: AggregateIdentifier) -> Snapshot | None:
        return await self.store.get_snapshot(aggregate_identifier)

    async def store_snapshot(self, snapshot: Snapshot) -> None:
        await self.store.store_snapshot(snapshot)

    async def _lifted(
        self, domain_events: AsyncIterator[DomainEvent]
    ) -> AsyncIterator[DomainEvent]:
        current = self._current
        async with _closing(domain_events) as events:
            async for domain_event in events:
                yield current(domain_event)

    def get_aggregate_identifiers(self) -> AsyncIterator[AggregateIdentifier]:
        return self.store.get_aggregate_identifiers()

    def get_aggregate_identifiers_by_name(
        self, context_name: str, aggregate_name: str
    ) -> AsyncIterator[AggregateIdentifier]:
        return self.store.get_aggregate_identifiers_by_name(context_name, aggregate_name)
