"""Spans as tests look at them: the same shape whether they were collected in this process
or decoded from the OTLP protobuf a runtime process sent."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.sdk.trace import ReadableSpan


@dataclass(frozen=True)
class SpanRecord:
    name: str
    trace_id: str
    span_id: str
    parent_id: str | None
    kind: str
    attributes: dict[str, Any] = field(default_factory=dict)
    service: str = ""
    #: The names of the span's events, in order.
    events: tuple[str, ...] = ()


def from_sdk(spans: Iterable[ReadableSpan]) -> list[SpanRecord]:
    records = []
    for span in spans:
        context = span.get_span_context()
        assert context is not None
        records.append(
            SpanRecord(
                name=span.name,
                trace_id=format(context.trace_id, "032x"),
                span_id=format(context.span_id, "016x"),
                parent_id=None if span.parent is None else format(span.parent.span_id, "016x"),
                kind=span.kind.name,
                attributes=dict(span.attributes or {}),
                service=str(span.resource.attributes.get("service.name", "")),
                events=tuple(event.name for event in span.events),
            )
        )
    return records


_KINDS = {1: "INTERNAL", 2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}


def _value(value: AnyValue) -> Any:
    kind = value.WhichOneof("value")
    return getattr(value, kind) if kind is not None else None


def from_otlp(body: bytes) -> list[SpanRecord]:
    """The spans of one OTLP/HTTP export request (``application/x-protobuf``)."""
    request = ExportTraceServiceRequest()
    request.ParseFromString(body)
    records = []
    for resource_spans in request.resource_spans:
        service = next(
            (
                _value(attribute.value)
                for attribute in resource_spans.resource.attributes
                if attribute.key == "service.name"
            ),
            "",
        )
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                records.append(
                    SpanRecord(
                        name=span.name,
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_id=span.parent_span_id.hex() or None,
                        kind=_KINDS.get(span.kind, str(span.kind)),
                        attributes={a.key: _value(a.value) for a in span.attributes},
                        service=service,
                        events=tuple(event.name for event in span.events),
                    )
                )
    return records


def ancestry(spans: list[SpanRecord], span: SpanRecord) -> list[str]:
    """The names from the root down to ``span``: every parent must be among ``spans``."""
    by_id = {candidate.span_id: candidate for candidate in spans}
    names = [span.name]
    while span.parent_id is not None:
        parent = by_id.get(span.parent_id)
        assert parent is not None, f"the parent of '{span.name}' is missing"
        names.insert(0, parent.name)
        span = parent
    return names


def one(spans: list[SpanRecord], name: str, **attributes: Any) -> SpanRecord:
    found = [
        span
        for span in spans
        if span.name == name
        and all(span.attributes.get(key) == value for key, value in attributes.items())
    ]
    assert len(found) == 1, f"expected one '{name}' span with {attributes}, found {found}"
    return found[0]
