"""Counting and tracing the API's HTTP requests.

Every request counts in ``wolkenkit_http_requests_total`` under its route's template (never
its path, which would make a series per aggregate id) and its status code, as soon as its
response starts, so a live stream counts while it runs. With a tracer, each request is a
``SERVER`` span named ``<method> <route>`` after OpenTelemetry's HTTP conventions, continuing
the trace of a client that sent a ``traceparent`` header.
"""

from __future__ import annotations

from typing import Any

from opentelemetry import propagate
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wolkenkit.observability.metrics import RuntimeMetrics

#: The route of a request that matched none (a 404 of the router).
UNMATCHED_ROUTE = "unmatched"


def route_of(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return path if isinstance(path, str) else UNMATCHED_ROUTE


class ObservingMiddleware:
    def __init__(self, app: ASGIApp, metrics: RuntimeMetrics, tracer: Tracer | None) -> None:
        self._app = app
        self._metrics = metrics
        self._tracer = tracer

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        if self._tracer is None:
            await self._counted(scope, receive, send, None)
            return
        headers = {
            name.decode("latin-1"): value.decode("latin-1") for name, value in scope["headers"]
        }
        method = scope["method"]
        with self._tracer.start_as_current_span(
            method,
            context=propagate.extract(headers),
            kind=SpanKind.SERVER,
            attributes={
                "http.request.method": method,
                "url.path": scope["path"],
                "url.scheme": scope.get("scheme", "http"),
            },
        ) as span:
            await self._counted(scope, receive, send, span)

    async def _counted(self, scope: Scope, receive: Receive, send: Send, span: Span | None) -> None:
        answered: list[int] = []

        async def counting_send(message: Message) -> None:
            if message["type"] == "http.response.start" and not answered:
                status: int = message["status"]
                answered.append(status)
                self._answered(scope, status, span)
            await send(message)

        try:
            await self._app(scope, receive, counting_send)
        finally:
            if not answered:
                # Nothing was sent: the server answers with an error of its own.
                self._answered(scope, 500, span)

    def _answered(self, scope: Scope, status: int, span: Span | None) -> None:
        route = route_of(scope)
        self._metrics.http_request_answered(route, status)
        if span is None:
            return
        attributes: dict[str, Any] = {"http.response.status_code": status}
        if route != UNMATCHED_ROUTE:
            attributes["http.route"] = route
            span.update_name(f"{scope['method']} {route}")
        span.set_attributes(attributes)
        if status >= 500:
            span.set_status(Status(StatusCode.ERROR))
