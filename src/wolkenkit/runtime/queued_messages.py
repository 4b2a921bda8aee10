"""Commands and domain events as they wait in the runtime's queues: with the trace context of
the span that queued them, when tracing is on.

The trace context rides in the queue item, never in the message: what the APIs send, what
the event store keeps and what handlers receive stay as they are. A queue is always read with
these models, so an item queued by a process that traces is understood by one that does not
(and the other way round); the runtime takes the carrier off before it hands the message on.
"""

from __future__ import annotations

from typing import Any

from wolkenkit.messages import CommandWithMetadata, DomainEvent
from wolkenkit.observability.tracing import Carrier


class QueuedCommand(CommandWithMetadata[dict[str, Any]]):
    """A command in the command queue; ``trace_context`` is its carrier, if it has one."""

    trace_context: Carrier | None = None


class QueuedDomainEvent(DomainEvent[dict[str, Any]]):
    """A domain event in a flow's queue; ``trace_context`` is its carrier, if it has one."""

    trace_context: Carrier | None = None


def with_carrier(command: CommandWithMetadata[Any], carrier: Carrier) -> QueuedCommand:
    return QueuedCommand.trusted(**command.__dict__, trace_context=carrier)


def event_with_carrier(event: DomainEvent[Any], carrier: Carrier) -> QueuedDomainEvent:
    return QueuedDomainEvent.trusted(**event.__dict__, trace_context=carrier)


def command_and_carrier(
    command: CommandWithMetadata[Any],
) -> tuple[CommandWithMetadata[Any], Carrier | None]:
    """The command as handlers know it, and the carrier it came with."""
    if type(command) is not QueuedCommand:
        return command, None
    fields = dict(command.__dict__)
    carrier: Carrier | None = fields.pop("trace_context")
    return CommandWithMetadata.trusted(**fields), carrier


def event_and_carrier(event: DomainEvent[Any]) -> tuple[DomainEvent[Any], Carrier | None]:
    """The domain event as flows know it, and the carrier it came with."""
    if type(event) is not QueuedDomainEvent:
        return event, None
    fields = dict(event.__dict__)
    carrier: Carrier | None = fields.pop("trace_context")
    return DomainEvent.trusted(**fields), carrier
