"""The runtime's spans and metrics, at its seams: processing a command, running a flow for an
event, processing a notification.

Spans follow OpenTelemetry's semantic conventions for messaging: a queued message is
processed in a ``CONSUMER`` span named ``process <queue>``, whose parent is the span that
queued the message (its context came along as the message's carrier). The aggregate's
stages (load, decide, store) are spans of the domain, children of ``process commands``.

Without a tracer every span is a shared do-nothing context manager, so tracing that is off
costs a comparison per seam.
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
from wolkenkit.observability.tracing import Carrier, carrier_of_current_span, context_from

_NO_SPAN: AbstractContextManager[Any] = contextlib.nullcontext()
#: ``messaging.system``: no registered value names our queues.
MESSAGING_SYSTEM = "wolkenkit"
COMMAND_QUEUE = "commands"
FLOW_QUEUE = "domain-events"


class Observing:
    """Spans (when there is a tracer) and metrics for one runtime."""

    def __init__(self, tracer: Tracer | None, metrics: RuntimeMetrics) -> None:
        self.tracer = tracer
        self.metrics = metrics

    def carrier(self) -> Carrier | None:
        """The current span's context to send along with a message; ``None`` untraced."""
        return None if self.tracer is None else carrier_of_current_span()

    def current_context(self) -> otel_context.Context | None:
        """The current trace context, to hand to work in this process; ``None`` untraced."""
        return None if self.tracer is None else otel_context.get_current()

    def processing_command(
        self, command: CommandWithMetadata[Any], carrier: Carrier | None
    ) -> AbstractContextManager[Any]:
        if self.tracer is None:
            return _NO_SPAN
        identifier = command.aggregate_identifier
        return _processing(
            self.tracer,
            COMMAND_QUEUE,
            context_from(carrier),
            {
                "messaging.message.id": command.id,
                "messaging.message.conversation_id": command.metadata.correlation_id,
                "wolkenkit.command": f"{identifier.context.name}.{identifier.aggregate.name}"
                f".{command.name}",
                "wolkenkit.aggregate.id": identifier.aggregate.id,
            },
        )

    def processing_flow_item(
        self, flow_name: str, event: DomainEvent[Any], carrier: Carrier | None
    ) -> AbstractContextManager[Any]:
        if self.tracer is None:
            return _NO_SPAN
        return _processing(
            self.tracer,
            FLOW_QUEUE,
            context_from(carrier),
            {
                "messaging.consumer.group.name": flow_name,
                "messaging.message.id": event.id,
                "messaging.message.conversation_id": event.metadata.correlation_id,
                "wolkenkit.flow": flow_name,
                "wolkenkit.domain_event": event.fully_qualified_name,
            },
        )

    def processing_notification(
        self, channel: str, notification: Notification, parent: otel_context.Context | None
    ) -> AbstractContextManager[Any]:
        if self.tracer is None:
            return _NO_SPAN
        return _processing(
            self.tracer, channel, parent, {"wolkenkit.notification": notification.name}
        )

    def command_finished(self, command: CommandWithMetadata[Any], result: CommandResult) -> None:
        """Count the command, time it from its receipt, and tell its span how it ended."""
        identifier = command.aggregate_identifier
        self.metrics.command_finished(
            identifier.context.name,
            identifier.aggregate.name,
            command.name,
            result,
            time.time() - command.metadata.timestamp / 1000,
        )
        if self.tracer is not None:
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
