"""A sample aggregate: replace it with one of your domain.

An aggregate decides on commands and records its decisions as domain events. The docstrings
of the handlers below are the documentation that ``wk describe`` and the APIs show.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from wolkenkit import (
    Aggregate,
    CommandAuthorizationServices,
    CommandHandler,
    CommandServices,
    CommandWithMetadata,
    DomainEvent,
    DomainEventAuthorizationServices,
    DomainEventHandler,
    DomainEventServices,
    DomainEventWithState,
)


class SampleState(BaseModel):
    """What the aggregate remembers between commands."""


class SampleCommandData(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SampleDomainEventData(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SampleCommand(CommandHandler[SampleState, SampleCommandData]):
    """A sample command."""

    def is_authorized(
        self,
        state: SampleState,
        command: CommandWithMetadata[SampleCommandData],
        services: CommandAuthorizationServices,
    ) -> bool:
        return True

    def handle(
        self,
        state: SampleState,
        command: CommandWithMetadata[SampleCommandData],
        services: CommandServices[SampleState],
    ) -> None:
        services.aggregate.publish_domain_event(
            "sampleDomainEvent", SampleDomainEventData()
        )


class SampleDomainEvent(DomainEventHandler[SampleState, SampleDomainEventData]):
    """A sample domain event."""

    def handle(
        self,
        state: SampleState,
        domain_event: DomainEvent[SampleDomainEventData],
        services: DomainEventServices,
    ) -> SampleState:
        return state

    def is_authorized(
        self,
        state: SampleState,
        domain_event: DomainEventWithState[SampleDomainEventData],
        services: DomainEventAuthorizationServices,
    ) -> bool:
        return True


aggregate: Aggregate[SampleState] = Aggregate(
    initial_state=SampleState,
    command_handlers={"sampleCommand": SampleCommand()},
    domain_event_handlers={"sampleDomainEvent": SampleDomainEvent()},
)
