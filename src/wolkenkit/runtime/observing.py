"""The runtime's spans and metrics, at its seams: processing a command, running a flow for an
event, processing a notification.

Spans follow OpenTelemetry's semantic conventions for messaging: a queued message is
processed in a ``CONSUMER`` span named ``process <queue>``, whose parent is the span that
queued the message (its context came along as the message's carrier). Storing the events a
command published is a ``CLIENT`` span of the domain, a child of ``process commands`` (see
:mod:`wolkenkit.domain.command_handling`).

Every command passes each seam, so tracing that is not configured must cost nothing there.
Without a tracer, ``traced_commands`` and ``traced_flow_items`` hand the runtime's handlers
back unwrapped, and the runtime asks ``tracing`` before it builds a span, a carrier or a
context; what each command still costs is its tally in the metrics.
"""

from __future__ import annotations

import contextlib
import time
from contextlib import AbstractContextManager
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import SpanKind, Status, StatusCode, Tracer

from wolkenkit.domain.command_handling import CommandResult
from wolkenkit.messages import CommandWithMetadata, DomainEvent, Notification
from wolkenkit.observability.metrics import RuntimeMetrics
from wolkenkit.observability.tracing import context_from
from wolkenkit.runtime.queued_messages import command_and_carrier, event_and_carrier
from wolkenkit.runtime.workers import Process, Verdict
from wolkenkit.stores.priority_queue_store import LockedItem

_NO_SPAN: AbstractContextManager[Any] = contextlib.nullcontext()
#: ``messaging.system``: no registered value names our queues.
MESSAGING_SYSTEM = "wolkenkit"
COMMAND_QUEUE = "commands"
FLOW_QUEUE = "domain-events"


class Observing:
    """Spans (when there is a tracer) and metrics for one runtime."""

    def __init__(self, tracer: Tracer | None, metrics: RuntimeMetrics) -> None:
        self.tracer = tracer
        #: Whether there are spans to make: asked on the hot paths before anything else.
        self.tracing = tracer is not None
        self.metrics = metrics

    def traced_commands(
        self, process: Process[CommandWithMetadata[Any]]
    ) -> Process[CommandWithMetadata[Any]]:
        """``process`` as the command workers call it: with a tracer, each command in a span
        ``process commands`` that continues the trace it was queued in, and handed to
        ``process`` without its carrier. Without a tracer, ``process`` itself."""
        tracer = self.tracer
        if tracer is None:
            return process

        async def traced(locked: LockedItem[CommandWithMetadata[Any]]) -> Verdict:
            command, carrier = command_and_carrier(locked.item)
            identifier = command.aggregate_identifier
            with _processing(
                tracer,
                COMMAND_QUEUE,
                context_from(carrier),
                {
                    "messaging.message.id": command.id,
                    "messaging.message.conversation_id": command.metadata.correlation_id,
                    "wolkenkit.command": f"{identifier.context.name}.{identifier.aggregate.name}"
                    f".{command.name}",
                    "wolkenkit.aggregate.id": identifier.aggregate.id,
                },
            ):
                return await process(LockedItem(command, locked.metadata))

        return traced

    def traced_flow_items(self, process: Process[DomainEvent[Any]]) -> Process[DomainEvent[Any]]:
        """``process`` as the flow workers call it: with a tracer, each event in a span
        ``process domain-events`` of its flow (the queue's discriminator), handed on without
        its carrier. Without a tracer, ``process`` itself."""
        tracer = self.tracer
        if tracer is None:
            return process

        async def traced(locked: LockedItem[DomainEvent[Any]]) -> Verdict:
            event, carrier = event_and_carrier(locked.item)
            flow_name = locked.metadata.discriminator
            with _processing(
                tracer,
                FLOW_QUEUE,
                context_from(carrier),
                {
                    "messaging.consumer.group.name": flow_name,
                    "messaging.message.id": event.id,
                    "messaging.message.conversation_id": event.metadata.correlation_id,
                    "wolkenkit.flow": flow_name,
                    "wolkenkit.domain_event": event.fully_qualified_name,
                },
            ):
                return await process(LockedItem(event, locked.metadata))

        return traced

    def processing_notification(
        self, channel: str, notification: Notification, parent: otel_context.Context | None
    ) -> AbstractContextManager[Any]:
        """The span of the views' subscribers processing a notification."""
        if self.tracer is None:
            return _NO_SPAN
        return _processing(
            self.tracer, channel, parent, {"wolkenkit.notification": notification.name}
        )

    def command_finished(
        self, command: CommandWithMetadata[Any], result: CommandResult, events_stored: int
    ) -> None:
        """Count the command and the events it stored, time it from its receipt, and tell its
        span how it ended."""
        identifier = command.aggregate_identifier
        self.metrics.command_finished(
            identifier.context.name,
            identifier.aggregate.name,
            command.name,
            result,
            time.time() - command.metadata.timestamp / 1000,
            events_stored,
        )
        if self.tracing:
            span = trace.get_current_span()
            span.set_attribute("wolkenkit.command.outcome", result)
            if result == "failed":
                span.set_status(Status(StatusCode.ERROR, "The command failed."))


def _processing(
    tracer: Tracer,
    destination: str,
    parent: otel_context.Context | None,
    attributes: dict[str, str],
) -> AbstractContextManager[Any]:
    """A ``CONSUMER`` span for processing a message from ``destination``."""
    return tracer.start_as_current_span(
        f"process {destination}",
        context=parent,
        kind=SpanKind.CONSUMER,
        attributes={
            "messaging.system": MESSAGING_SYSTEM,
            "messaging.operation.type": "process",
            "messaging.destination.name": destination,
            **attributes,
        },
    )
