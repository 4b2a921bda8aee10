"""The domain event store: events with per-aggregate revisions and a global position, and snapshots.

Revisions count from 1 without gaps per aggregate id; storing a revision that exists raises
``RevisionAlreadyExists`` (optimistic concurrency). Every stored event also gets a position in
one global, gap-safe order: a reader that follows positions never skips an event that a slower
concurrent writer commits later.

Each event keeps the version of its data's model it was written with (``DomainEvent.version``),
and each snapshot the fingerprint of the state model it was taken under; the backends on a
database keep both in columns of their own beside the JSON, which stays as the APIs send it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Sequence
from typing import Any, ClassVar, Protocol, TypeVar, runtime_checkable

from wolkenkit.errors import ParameterInvalid
from wolkenkit.messages import AggregateIdentifier, DomainEvent, Snapshot
from wolkenkit.records import frozen_record
from wolkenkit.serialization import json_text

DomainEventT = TypeVar("DomainEventT", bound=DomainEvent[Any])

MAX_REVISION = 2**31 - 1


# Argument checks every backend makes, worded once.


def check_domain_events(domain_events: Sequence[DomainEvent]) -> None:
    if not domain_events:
        raise ParameterInvalid("Domain events are missing.")


def check_from_timestamp(from_timestamp: int) -> None:
    if from_timestamp < 0:
        raise ParameterInvalid("From timestamp must not be negative.")


def check_revision_range(from_revision: int, to_revision: int) -> None:
    if from_revision < 1 or to_revision < 1:
        raise ParameterInvalid("Revisions must be at least 1.")
    if from_revision > to_revision:
        raise ParameterInvalid("From revision must not be greater than to revision.")


def check_position_range(after_position: int, limit: int | None) -> None:
    if after_position < 0:
        raise ParameterInvalid("After position must not be negative.")
    if limit is not None and limit < 1:
        raise ParameterInvalid("Limit must be at least 1.")


_VERSION = {"version"}


def event_json(domain_event: DomainEvent) -> str:
    """The event's JSON as a backend stores it: without the version, which it keeps in a
    column of its own."""
    return json_text(domain_event, exclude=None if domain_event.version == 1 else _VERSION)


def with_version(domain_event: DomainEventT, version: int) -> DomainEventT:
    """A freshly decoded event, given the version its row keeps beside the JSON."""
    if version != 1:
        # Set in place: nobody else holds the event yet, and a copy would cost a third of
        # its decoding on every read of an evolved app's events.
        domain_event.__dict__["version"] = version
    return domain_event


@runtime_checkable
class KeepsCheckpoints(Protocol):
    """An event store that keeps named positions in its global order beside the events: how
    far something that follows the events (the single-process runtime's flows) is known to
    have come."""

    async def checkpoint(self, name: str) -> int:
        """The position last set under ``name``; 0 if none was."""
        ...

    async def set_checkpoint(self, name: str) -> None:
        """Set ``name`` to the position of the last event stored by a call made before this
        one: writes run in the order they are called."""
        ...


@frozen_record
class PositionedDomainEvent:
    """A stored event with its position in the global order (positions start at 1)."""

    position: int
    domain_event: DomainEvent


@frozen_record
class CommandReplay:
    """What the engine reads before it handles a command (see ``get_replay_for_command``)."""

    #: Events caused by the command are stored already: it was handled before.
    handled: bool
    #: The aggregate's latest snapshot, when the replay was asked to start from it.
    snapshot: Snapshot | None
    #: The aggregate's events after the snapshot or from the given revision, in order.
    domain_events: list[DomainEvent]


class DomainEventStore(ABC):
    #: Whether every read hands out events decoded for it alone, which the reader may then
    #: change in place (a store that keeps event objects and hands them out says no).
    reads_fresh_events: ClassVar[bool] = False

    @abstractmethod
    async def setup(self) -> None:
        """Create tables and indexes; idempotent."""

    @abstractmethod
    async def destroy(self) -> None:
        """Close connections (in memory: forget everything)."""

    @abstractmethod
    async def get_last_domain_event(
        self, aggregate_identifier: AggregateIdentifier
    ) -> DomainEvent | None:
        """The aggregate's event with the highest revision, if any."""

    @abstractmethod
    def get_domain_events_by_causation_id(
        self, causation_id: str
    ) -> AsyncIterator[DomainEvent]: ...

    @abstractmethod
    async def has_domain_events_with_causation_id(self, causation_id: str) -> bool: ...

    @abstractmethod
    def get_domain_events_by_correlation_id(
        self, correlation_id: str
    ) -> AsyncIterator[DomainEvent]: ...

    @abstractmethod
    def get_replay(self, from_timestamp: int = 0) -> AsyncIterator[DomainEvent]:
        """All events with a timestamp of at least ``from_timestamp``, ordered by aggregate id
        and revision. A negative timestamp raises ``ParameterInvalid``."""

    @abstractmethod
    def get_replay_for_aggregate(
        self, aggregate_id: str, from_revision: int = 1, to_revision: int = MAX_REVISION
    ) -> AsyncIterator[DomainEvent]:
        """The aggregate's events from ``from_revision`` to ``to_revision`` inclusive, in order.
        Revisions below 1 or ``from_revision > to_revision`` raise ``ParameterInvalid``."""

    async def get_replay_for_command(
        self,
        aggregate_identifier: AggregateIdentifier,
        causation_id: str,
        from_revision: int | None = None,
    ) -> CommandReplay:
        """Everything handling a command reads, in one go: whether events caused by
        ``causation_id`` exist (in any aggregate), and the aggregate's events from
        ``from_revision`` on or, when it is ``None``, its latest snapshot and the events after
        it.

        This default makes up to three calls; a backend on a server answers in one round trip
        from one consistent view, which saves the engine a round trip per command.
        """
        handled = await self.has_domain_events_with_causation_id(causation_id)
        snapshot = None
        if from_revision is None:
            snapshot = await self.get_snapshot(aggregate_identifier)
            from_revision = 1 if snapshot is None else snapshot.revision + 1
        domain_events = [
            domain_event
            async for domain_event in self.get_replay_for_aggregate(
                aggregate_identifier.aggregate.id, from_revision
            )
        ]
        return CommandReplay(handled, snapshot, domain_events)

    @abstractmethod
    def get_replay_by_position(
        self, after_position: int = 0, limit: int | None = None
    ) -> AsyncIterator[PositionedDomainEvent]:
        """Events in global order, starting after ``after_position``.

        Only events that can no longer be overtaken by a concurrent writer are returned, so
        a reader that continues from the last position it saw never skips an event.
        """

    async def count_domain_events(self) -> int:
        """How many events are stored (for progress bars). This default reads them all; the
        backends count without reading."""
        count = 0
        async for _ in self.get_replay_by_position():
            count += 1
        return count

    @abstractmethod
    async def wait_until_readable(self) -> None:
        """Return once ``get_replay_by_position`` returns every event stored before the call:
        at once where readers see every committed event (positions follow commits), later
        where they hold committed events back (PostgreSQL, while older transactions run)."""

    @abstractmethod
    async def store_domain_events(self, domain_events: Sequence[DomainEvent]) -> None:
        """Store all or none of the events. An empty list raises ``ParameterInvalid``; an
        existing (aggregate id, revision) raises ``RevisionAlreadyExists``."""

    @abstractmethod
    async def get_snapshot(self, aggregate_identifier: AggregateIdentifier) -> Snapshot | None:
        """The aggregate's snapshot with the highest revision, if any."""

    @abstractmethod
    async def store_snapshot(self, snapshot: Snapshot) -> None:
        """Store a snapshot. Storing one for an existing revision changes nothing, unless it
        was taken under another state model (``state_model``): then it replaces the one
        there, which readers of the new model ignore."""

    @abstractmethod
    def get_aggregate_identifiers(self) -> AsyncIterator[AggregateIdentifier]:
        """Every aggregate with events, in the order their first events were stored."""

    @abstractmethod
    def get_aggregate_identifiers_by_name(
        self, context_name: str, aggregate_name: str
    ) -> AsyncIterator[AggregateIdentifier]: ...
