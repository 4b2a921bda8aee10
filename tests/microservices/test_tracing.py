"""Traces across the microservice runtime: the command, domain, flow and view services, each
its own process on PostgreSQL and Redis, export OTLP over HTTP to a receiver in this test,
which decodes the protobuf they send. One ``send`` is one trace through all of them."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

from tests.runtime.traces import SpanRecord, ancestry, from_otlp, one
from wolkenkit.scaffolds import create_project
from wolkenkit.testing.cluster import PATIENCE_SECONDS, Cluster, running_cluster

pytestmark = [pytest.mark.postgres, pytest.mark.redis]


class OtlpReceiver:
    """Takes ``POST /v1/traces`` as a collector does, and keeps the spans."""

    def __init__(self) -> None:
        self.spans: list[SpanRecord] = []
        self.content_types: set[str] = set()
        lock = threading.Lock()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                with lock:
                    receiver.content_types.add(self.headers["Content-Type"])
                    receiver.spans += from_otlp(body) if self.path == "/v1/traces" else []
                answer = ExportTraceServiceResponse().SerializeToString()
                self.send_response(200 if self.path == "/v1/traces" else 404)
                self.send_header("Content-Type", "application/x-protobuf")
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: object) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.endpoint = f"http://127.0.0.1:{self._server.server_address[1]}"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> OtlpReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()


@pytest.fixture
def receiver() -> Iterator[OtlpReceiver]:
    with OtlpReceiver() as started:
        yield started


@pytest.fixture
def cluster(tmp_path: Path) -> Iterator[Cluster]:
    chat = create_project("chat", template="chat", directory=tmp_path / "app" / "chat")
    with running_cluster(chat, tmp_path / "data") as started:
        yield started


def spans_of_trace(receiver: OtlpReceiver, names: set[str]) -> list[SpanRecord]:
    """Wait until the spans named have arrived; every span of their trace."""
    deadline = time.monotonic() + PATIENCE_SECONDS
    while time.monotonic() < deadline:
        spans = list(receiver.spans)
        if names <= {span.name for span in spans}:
            trace_ids = {span.trace_id for span in spans if span.name in names}
            return [span for span in spans if span.trace_id in trace_ids]
        time.sleep(0.05)
    raise AssertionError(f"spans missing: {names - {span.name for span in receiver.spans}}")


def test_one_send_is_one_trace_across_the_command_domain_flow_and_view_processes(
    cluster: Cluster, receiver: OtlpReceiver
) -> None:
    tracing = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
    }
    services = {
        service.name: service
        for service in cluster.start_together(["command", "domain", "flow", "view"], **tracing)
    }
    response = httpx.post(
        f"{services['command'].url}/command/v2/communication/message/send",
        json={"text": "Hello, traces!"},
        timeout=10,
    )
    assert response.status_code == 200
    route = "POST /command/v2/{context_name}/{aggregate_name}/{command_name}"
    # Named after the notifications' channel, which the cluster names after its schema.
    notification = f"process {cluster.schema}-notification"

    spans = spans_of_trace(
        receiver, {route, "process commands", "process domain-events", notification}
    )

    assert receiver.content_types == {"application/x-protobuf"}
    assert len({span.trace_id for span in spans}) == 1
    request = one(spans, route)
    command = one(spans, "process commands")
    store = one(spans, "store domain events")
    flow = one(spans, "process domain-events")
    flow_news = one(spans, notification, **{"wolkenkit.notification": "flowMessagesUpdated"})
    assert (request.service, command.service, store.service, flow.service, flow_news.service) == (
        "chat-command",
        "chat-domain",
        "chat-domain",
        "chat-flow",
        "chat-view",
    )
    assert request.parent_id is None
    assert command.attributes["messaging.message.id"] == response.json()["id"]
    assert ancestry(spans, store) == [route, "process commands", "store domain events"]
    assert ancestry(spans, flow_news) == [
        route,
        "process commands",
        "process domain-events",
        notification,
    ]
