"""Tracing with OpenTelemetry, configured by the standard ``OTEL_*`` environment variables.

Tracing is on once an exporter is named: ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``) for OTLP over HTTP, or ``OTEL_TRACES_EXPORTER``
(``otlp``, ``console``; ``none`` keeps it off). ``OTEL_SDK_DISABLED=true`` turns it off
whatever else is set. Everything else (sampler, service name, resource attributes, batching,
headers, timeouts, propagators) is read by the OpenTelemetry SDK itself, from the process's
environment, as its documentation says.

When tracing is off, the runtime gets no tracer (``None``) and skips every span: the SDK is
not even imported.

A message that waits in a queue, or travels over publish/subscribe, takes the trace context
of the span that sent it along as a *carrier*, a small dict of the configured propagators'
fields (W3C ``traceparent``, ``tracestate``, ``baggage``); whoever handles the message
continues the trace from it, in this process or another.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from typing import TYPE_CHECKING

from opentelemetry import context as otel_context
from opentelemetry import propagate

from wolkenkit import errors

if TYPE_CHECKING:
    from opentelemetry.sdk.trace import TracerProvider

#: The instrumentation scope of the runtime's spans.
TRACER_NAME = "wolkenkit"
#: What a message carries of its trace: the propagators' fields by name.
Carrier = dict[str, str]

_EXPORTERS = ("otlp", "console", "none")
_PROTOCOL = "http/protobuf"


def is_tracing_configured(environment: Mapping[str, str]) -> bool:
    """Whether the variables ask for traces (see the module's description)."""
    if environment.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = environment.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter:
        return exporter != "none"
    return any(
        environment.get(name, "").strip()
        for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    )


def tracer_provider_from_environment(
    environment: Mapping[str, str], default_service_name: str
) -> TracerProvider | None:
    """A tracer provider exporting as the variables say, or ``None`` when tracing is off.

    ``default_service_name`` names the service unless ``OTEL_SERVICE_NAME`` (or
    ``service.name`` in ``OTEL_RESOURCE_ATTRIBUTES``) does. Raises
    ``errors.TracingConfigurationInvalid`` for an exporter or protocol this runtime does not ship.
    Call ``shutdown()`` on the provider before the process ends: it sends what is left.
    """
    if not is_tracing_configured(environment):
        return None
    exporter_name = environment.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() or "otlp"
    if exporter_name not in _EXPORTERS:
        raise errors.TracingConfigurationInvalid(
            f"The environment variable OTEL_TRACES_EXPORTER is invalid: '{exporter_name}' is "
            f"not one of {', '.join(_EXPORTERS)}."
        )
    for name in ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"):
        protocol = environment.get(name, "").strip()
        if protocol:
            if protocol != _PROTOCOL:
                raise errors.TracingConfigurationInvalid(
                    f"The environment variable {name} is invalid: only '{_PROTOCOL}' (OTLP "
                    "over HTTP) is supported."
                )
            break
    _require_sdk()
    # Imported only now: when tracing is off, the SDK costs nothing, not even its import.
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter

    resource = Resource.create()
    if str(resource.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        resource = resource.merge(Resource({SERVICE_NAME: default_service_name}))
    provider = TracerProvider(resource=resource)
    exporter: SpanExporter
    if exporter_name == "console":
        exporter = ConsoleSpanExporter()
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        exporter = OTLPSpanExporter()
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


def _require_sdk() -> None:
    """The SDK and the OTLP exporter are the extra ``wolkenkit[otel]``: one line if missing."""
    for module in ("opentelemetry.sdk", "opentelemetry.exporter.otlp.proto.http"):
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:  # a parent package is missing
            found = False
        if not found:
            raise errors.TracingConfigurationInvalid(
                "Tracing is configured (OTEL_* variables), but the OpenTelemetry SDK is not "
                "installed: install wolkenkit[otel] (pip install 'wolkenkit[otel]')."
            )


def carrier_of_current_span() -> Carrier:
    """The current trace context as a carrier, to send along with a message."""
    carrier: Carrier = {}
    propagate.inject(carrier)
    return carrier


def context_from(carrier: Mapping[str, str] | None) -> otel_context.Context | None:
    """The trace context a message carried (``None`` for none): the parent of the span that
    handles the message."""
    if not carrier:
        return None
    return propagate.extract(carrier)
