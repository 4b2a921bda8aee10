"""Traces of the single-process runtime: one trace per command, from the HTTP request through
the queue, the aggregate, the flow and the notifications, in parent order."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Tracer

from tests.runtime.conftest import make_settings
from tests.runtime.traces import SpanRecord, ancestry, from_sdk, one
from wolkenkit.application.application import Application
from wolkenkit.runtime.server import serving

SEND = "/command/v2/communication/message/send"
SEND_ROUTE = "/command/v2/{context_name}/{aggregate_name}/{command_name}"


@pytest.fixture
def exporter() -> Iterator[InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    yield exporter
    exporter.shutdown()


@pytest.fixture
def tracer(exporter: InMemorySpanExporter) -> Iterator[Tracer]:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield provider.get_tracer("wolkenkit")
    provider.shutdown()


async def spans_until(exporter: InMemorySpanExporter, count: int) -> list[SpanRecord]:
    for _ in range(200):
        spans = from_sdk(exporter.get_finished_spans())
        if len(spans) >= count:
            return spans
        await asyncio.sleep(0.025)
    raise AssertionError(f"expected {count} spans, got {from_sdk(exporter.get_finished_spans())}")


async def test_one_send_is_one_trace_through_queue_aggregate_flow_and_notifications(
    chat_application: Application, tracer: Tracer, exporter: InMemorySpanExporter
) -> None:
    async with (
        serving(make_settings(), chat_application, tracer=tracer) as running,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{running.port}") as client,
    ):
        response = await client.post(SEND, json={"text": "Hello"})
        assert response.status_code == 200
        command_id = response.json()["id"]
        # The request, the command, its decision and its storing, the flow, the flow's
        # notification and the view's.
        spans = await spans_until(exporter, 7)

    assert len({span.trace_id for span in spans}) == 1
    request = one(spans, f"POST {SEND_ROUTE}")
    assert request.kind == "SERVER"
    assert request.attributes["http.response.status_code"] == 200
    command = one(spans, "process commands")
    assert command.kind == "CONSUMER"
    assert command.attributes["messaging.message.id"] == command_id
    assert command.attributes["wolkenkit.command"] == "communication.message.send"
    assert command.attributes["wolkenkit.command.outcome"] == "handled"
    assert ancestry(spans, one(spans, "decide")) == [request.name, "process commands", "decide"]
    assert ancestry(spans, one(spans, "store domain events")) == [
        request.name,
        "process commands",
        "store domain events",
    ]
    flow = one(spans, "process domain-events", **{"wolkenkit.flow": "messages"})
    assert ancestry(spans, flow) == [request.name, "process commands", "process domain-events"]
    view_news = one(
        spans, "process notification", **{"wolkenkit.notification": "viewMessagesUpdated"}
    )
    assert ancestry(spans, view_news) == [
        request.name,
        "process commands",
        "process domain-events",
        "process notification",
        "process notification",
    ]


async def test_a_rejected_command_says_so_on_its_span_and_a_client_trace_is_continued(
    chat_application: Application, tracer: Tracer, exporter: InMemorySpanExporter
) -> None:
    client_trace = "0af7651916cd43dd8448eb211c80319c"
    traceparent = f"00-{client_trace}-b7ad6b7169203331-01"
    async with (
        serving(make_settings(), chat_application, tracer=tracer) as running,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{running.port}") as client,
    ):
        response = await client.post(SEND, json={"text": ""}, headers={"traceparent": traceparent})
        assert response.status_code == 200
        spans = await spans_until(exporter, 3)

    request = one(spans, f"POST {SEND_ROUTE}")
    assert (request.trace_id, request.parent_id) == (client_trace, "b7ad6b7169203331")
    command = one(spans, "process commands")
    assert command.trace_id == client_trace
    assert command.attributes["wolkenkit.command.outcome"] == "rejected"
