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
from tests.runtime.streams import open_stream
from tests.runtime.traces import SpanRecord, ancestry, from_sdk, one
from wolkenkit.application.application import Application
from wolkenkit.errors import TracingConfigurationInvalid
from wolkenkit.observability.tracing import (
    is_tracing_configured,
    tracer_provider_from_environment,
)
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
        open_stream(client, "/notifications/v2") as (_, notifications),
    ):
        response = await client.post(SEND, json={"text": "Hello"})
        assert response.status_code == 200
        command_id = response.json()["id"]
        # Both notifications went out: the flow's, which the view processes, and the view's,
        # which nobody processes (so it is no span).
        names = {(await notifications.next_document())["name"] for _ in range(2)}
        assert names == {"flowMessagesUpdated", "viewMessagesUpdated"}
        # The request, the command, its storing, the flow and the flow's notification.
        spans = await spans_until(exporter, 5)

    assert len({span.trace_id for span in spans}) == 1
    request = one(spans, f"POST {SEND_ROUTE}")
    assert request.kind == "SERVER"
    assert request.attributes["http.response.status_code"] == 200
    command = one(spans, "process commands")
    assert command.kind == "CONSUMER"
    assert command.attributes["messaging.message.id"] == command_id
    assert command.attributes["wolkenkit.command"] == "communication.message.send"
    assert command.attributes["wolkenkit.command.outcome"] == "handled"
    store = one(spans, "store domain events")
    assert store.kind == "CLIENT"
    assert ancestry(spans, store) == [request.name, "process commands", "store domain events"]
    flow = one(spans, "process domain-events", **{"wolkenkit.flow": "messages"})
    assert ancestry(spans, flow) == [request.name, "process commands", "process domain-events"]
    flow_news = one(
        spans, "process notification", **{"wolkenkit.notification": "flowMessagesUpdated"}
    )
    assert ancestry(spans, flow_news) == [
        request.name,
        "process commands",
        "process domain-events",
        "process notification",
    ]
    # (The stream's request is a trace of its own.)
    trace = [
        span
        for span in from_sdk(exporter.get_finished_spans())
        if span.trace_id == request.trace_id
    ]
    assert len(trace) == 5


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
        spans = await spans_until(exporter, 2)

    request = one(spans, f"POST {SEND_ROUTE}")
    assert (request.trace_id, request.parent_id) == (client_trace, "b7ad6b7169203331")
    command = one(spans, "process commands")
    assert command.trace_id == client_trace
    assert command.attributes["wolkenkit.command.outcome"] == "rejected"


async def test_a_command_for_an_aggregate_with_history_marks_when_it_was_loaded(
    chat_application: Application, tracer: Tracer, exporter: InMemorySpanExporter
) -> None:
    async with (
        serving(make_settings(), chat_application, tracer=tracer) as running,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{running.port}") as client,
    ):
        sent = (await client.post(SEND, json={"text": "Hello"})).json()
        aggregate_id = sent["aggregateIdentifier"]["aggregate"]["id"]
        liked = await client.post(f"/command/v2/communication/message/{aggregate_id}/like", json={})
        assert liked.status_code == 200
        spans = await spans_until(exporter, 10)

    commands = {
        span.attributes["wolkenkit.command"]: span
        for span in spans
        if span.name == "process commands"
    }
    # A new aggregate is not read; one with history is, before it decides and stores.
    assert commands["communication.message.send"].events == ()
    assert commands["communication.message.like"].events == ("aggregate loaded",)
    store = next(
        span
        for span in spans
        if span.name == "store domain events"
        and span.parent_id == commands["communication.message.like"].span_id
    )
    assert store.kind == "CLIENT"


@pytest.mark.parametrize(
    ("environment", "configured"),
    [
        ({}, False),
        ({"OTEL_SERVICE_NAME": "chat", "OTEL_TRACES_SAMPLER": "always_on"}, False),
        ({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318"}, True),
        ({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://collector:4318/v1/traces"}, True),
        ({"OTEL_TRACES_EXPORTER": "console"}, True),
        ({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, False),
        ({"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"}, False),
    ],
)
def test_tracing_is_on_only_once_an_exporter_is_named(
    environment: dict[str, str], configured: bool
) -> None:
    assert is_tracing_configured(environment) == configured
    provider = tracer_provider_from_environment(environment, "chat")
    assert (provider is not None) == configured
    if provider is not None:
        provider.shutdown()


@pytest.mark.parametrize(
    ("environment", "variable"),
    [
        (
            {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"},
            "OTEL_EXPORTER_OTLP_PROTOCOL",
        ),
        ({"OTEL_TRACES_EXPORTER": "zipkin"}, "OTEL_TRACES_EXPORTER"),
    ],
)
def test_what_the_runtime_cannot_export_is_refused_naming_the_variable(
    environment: dict[str, str], variable: str
) -> None:
    with pytest.raises(TracingConfigurationInvalid, match=f"^The environment variable {variable}"):
        tracer_provider_from_environment(environment, "chat")


async def test_a_graphql_mutation_is_the_root_of_its_commands_trace(
    chat_application: Application, tracer: Tracer, exporter: InMemorySpanExporter
) -> None:
    settings = make_settings(GRAPHQL_API={"enableIntegratedClient": False})
    mutation = 'mutation { command { communication_message_send(data: {text: "Hi"}) { id } } }'
    async with (
        serving(settings, chat_application, tracer=tracer) as running,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{running.port}") as client,
    ):
        response = await client.post("/graphql/v2", json={"query": mutation})
        assert "errors" not in response.json()
        spans = await spans_until(exporter, 3)

    command = one(spans, "process commands")
    assert ancestry(spans, command) == ["POST /graphql/v2", "process commands"]
