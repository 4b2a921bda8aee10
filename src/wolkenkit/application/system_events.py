"""The domain events added to every aggregate: ``<command>Rejected`` and ``<command>Failed``.

When a handler rejects a command (``CommandRejected``) or fails with an unexpected error, the
domain publishes one of these to the command's initiator, with the ``reason``. They are never
stored, so their handlers leave the state as it is.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from pydantic import BaseModel, ConfigDict

from wolkenkit.application.definitions import Aggregate, DomainEventHandler, StateT
from wolkenkit.application.services import (
    DomainEventAuthorizationServices,
    DomainEventServices,
)
from wolkenkit.errors import DomainEventAlreadyExists
from wolkenkit.messages import DomainEvent, DomainEventWithState

_REJECTED = "Rejected"
_FAILED = "Failed"


class ReasonData(BaseModel):
    # No docstring on purpose: it would become a ``description`` in the event's schema, and the
    # reference's schema is exactly ``{reason: string}``.
    model_config = ConfigDict(extra="forbid")

    reason: str


class _SystemEventHandler(DomainEventHandler[Any, ReasonData]):
    def handle(
        self, state: Any, domain_event: DomainEvent[ReasonData], services: DomainEventServices
    ) -> Any:
        return state

    def is_authorized(
        self,
        state: Any,
        domain_event: DomainEventWithState[ReasonData],
        services: DomainEventAuthorizationServices,
    ) -> bool:
        # Only whoever sent the command learns why it did not go through.
        return domain_event.metadata.initiator.user.id == services.client.user.id


class CommandRejectedHandler(_SystemEventHandler):
    """The command was rejected; the reason says why. Only its sender receives this event."""


class CommandFailedHandler(_SystemEventHandler):
    """Handling the command failed; the reason says how. Only its sender receives this event."""


def rejected_event_name(command_name: str) -> str:
    """``send`` → ``sendRejected``."""
    return f"{command_name}{_REJECTED}"


def failed_event_name(command_name: str) -> str:
    """``send`` → ``sendFailed``."""
    return f"{command_name}{_FAILED}"


def system_event_names(aggregate: Aggregate[Any]) -> list[str]:
    """The names of the system events of all of the aggregate's commands."""
    return [
        name
        for command_name in aggregate.command_handlers
        for name in (rejected_event_name(command_name), failed_event_name(command_name))
    ]


def is_system_event_name(name: str, aggregate: Aggregate[Any]) -> bool:
    """Whether ``name`` is the ``Rejected`` or ``Failed`` event of an aggregate's commands."""
    for suffix in (_REJECTED, _FAILED):
        if name.endswith(suffix) and name.removesuffix(suffix) in aggregate.command_handlers:
            return True
    return False


def reserved_event_names_used(aggregate: Aggregate[Any]) -> list[str]:
    """The system event names the aggregate's own domain-event handlers already use."""
    return [
        name for name in system_event_names(aggregate) if name in aggregate.domain_event_handlers
    ]


def with_system_domain_events(
    aggregate: Aggregate[StateT], where: str | None = None
) -> Aggregate[StateT]:
    """A copy of ``aggregate`` whose domain-event handlers include the system events.

    ``where`` names the aggregate's file in the error raised when the aggregate defines one of
    the reserved names itself. The given aggregate is left unchanged.
    """
    used = reserved_event_names_used(aggregate)
    if used:
        place = f" in '{where}'" if where else ""
        raise DomainEventAlreadyExists(f"Reserved domain event name '{used[0]}' used{place}.")
    handlers: dict[str, DomainEventHandler[StateT, Any]] = dict(aggregate.domain_event_handlers)
    for command_name in aggregate.command_handlers:
        handlers[rejected_event_name(command_name)] = CommandRejectedHandler()
        handlers[failed_event_name(command_name)] = CommandFailedHandler()
    return dataclasses.replace(aggregate, domain_event_handlers=handlers)
