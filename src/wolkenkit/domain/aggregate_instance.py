"""One aggregate instance in memory: its state at a revision, and the events a command publishes.

Events a command handler publishes are applied at once (the handler sees the next state) but
stay *pending* until the engine stores them; on any failure the instance is thrown away.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from wolkenkit import errors
from wolkenkit.application.services import DomainEventServices
from wolkenkit.domain.catalog import AggregateEntry, data_to_json, validate_data
from wolkenkit.messages import (
    AggregateIdentifier,
    CommandWithMetadata,
    DomainEvent,
    DomainEventMetadata,
    DomainEventState,
    DomainEventWithState,
    new_id,
    now_ms,
)
from wolkenkit.serialization import validated


class AggregateInstance:
    __slots__ = (
        "_committed_state",
        "_state_json",
        "entry",
        "event_services",
        "identifier",
        "pending",
        "revision",
        "snapshot_revision",
        "state",
    )

    def __init__(
        self,
        identifier: AggregateIdentifier,
        entry: AggregateEntry,
        event_services: DomainEventServices,
        state: Any,
        revision: int,
        snapshot_revision: int,
        state_json: dict[str, Any] | None = None,
    ) -> None:
        self.identifier = identifier
        self.entry = entry
        self.event_services = event_services
        self.state = state
        self.revision = revision
        self.snapshot_revision = snapshot_revision
        self.pending: list[DomainEventWithState[Any]] = []
        self._state_json = state_json
        self._committed_state = state

    def is_pristine(self) -> bool:
        return self.revision == 0

    def state_json(self) -> dict[str, Any]:
        if self._state_json is None:
            self._state_json = self.entry.codec.to_json(self.state)
        return self._state_json

    def cached_state_json(self) -> dict[str, Any] | None:
        """The state's JSON if it was already computed (it is never computed just for this)."""
        return self._state_json

    def apply_stored(self, domain_event: DomainEvent[Any]) -> None:
        """Replay a stored event (rehydration), already at its model's current version."""
        entry = self.entry.domain_events.get(domain_event.name)
        if entry is None:
            if domain_event.name in self.entry.system_event_names:
                # Never stored by us, but harmless if another writer stored one.
                self.revision = domain_event.metadata.revision
                return
            raise errors.DomainEventUnknown(
                f"Failed to apply unknown domain event '{domain_event.fully_qualified_name}'."
            )
        typed_event = domain_event
        if entry.schema is not None:
            typed_event = domain_event.replaced(data=validated(entry.schema, domain_event.data))
        result = entry.handler.handle(self.state, typed_event, self.event_services)
        self.state = self.entry.codec.advance(self.state, result)
        self._committed_state = self.state
        self._state_json = None
        self.revision = domain_event.metadata.revision

    def publish(
        self,
        command: CommandWithMetadata[Any],
        name: str,
        data: BaseModel | Mapping[str, Any],
        tags: list[str] | None,
    ) -> Any:
        """Publish a new event caused by ``command``, apply it and return (a copy of) the next
        state."""
        entry = self.entry.domain_events.get(name)
        if entry is None or name in self.entry.system_event_names:
            raise errors.DomainEventUnknown(
                f"Failed to publish unknown domain event '{name}' in "
                f"'{self.entry.context_name}.{self.entry.name}'."
            )
        try:
            typed_data = validate_data(entry.schema, data)
        except ValueError as error:
            raise errors.DomainEventMalformed(str(error)) from None
        metadata = DomainEventMetadata.trusted(
            causation_id=command.id,
            correlation_id=command.metadata.correlation_id,
            timestamp=now_ms(),
            revision=self.revision + len(self.pending) + 1,
            initiator=command.metadata.initiator,
            tags=list(tags) if tags else [],
        )
        event_id = new_id()
        typed_event = DomainEvent.trusted(
            aggregate_identifier=self.identifier,
            name=name,
            data=typed_data,
            id=event_id,
            metadata=metadata,
            version=entry.version,
        )
        previous_json = self.state_json()
        result = entry.handler.handle(self.state, typed_event, self.event_services)
        self.state = self.entry.codec.advance(self.state, result)
        self._state_json = None
        self.pending.append(
            DomainEventWithState.trusted(
                aggregate_identifier=self.identifier,
                name=name,
                data=data_to_json(typed_data),
                id=event_id,
                metadata=metadata,
                version=entry.version,
                state=DomainEventState.trusted(previous=previous_json, next=self.state_json()),
            )
        )
        return self.entry.codec.handed_out(self.state)

    def commit(self) -> list[DomainEventWithState[Any]]:
        """The pending events were stored: advance the revision and hand them over."""
        events = self.pending
        if events:
            self.revision = events[-1].metadata.revision
            self.pending = []
        self._committed_state = self.state
        return events

    def rollback(self) -> None:
        """Forget the pending events and the state they produced."""
        if self.pending or self.state is not self._committed_state:
            self.pending = []
            self.state = self._committed_state
            self._state_json = None

    def system_event(
        self, command: CommandWithMetadata[Any], name: str, reason: str
    ) -> DomainEventWithState[Any]:
        """A ``<command>Rejected`` / ``<command>Failed`` event at the next revision.

        It is never stored; it only tells the live streams (and the initiator) what happened.
        """
        state_json = self.state_json()
        return DomainEventWithState.trusted(
            aggregate_identifier=self.identifier,
            name=name,
            data={"reason": reason},
            id=new_id(),
            metadata=DomainEventMetadata.trusted(
                causation_id=command.id,
                correlation_id=command.metadata.correlation_id,
                timestamp=now_ms(),
                revision=self.revision + 1,
                initiator=command.metadata.initiator,
                tags=[],
            ),
            version=1,
            state=DomainEventState.trusted(previous=state_json, next=state_json),
        )
