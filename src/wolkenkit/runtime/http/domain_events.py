"""``/domain-events/v2`` (reference §3.3): the live stream of domain events, per client."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from wolkenkit import errors
from wolkenkit.domain.delivery import DomainEventForClients
from wolkenkit.messages import DomainEvent
from wolkenkit.runtime.gateway import Gateway
from wolkenkit.runtime.http.requests import authenticate, query_options
from wolkenkit.runtime.http.streaming import (
    audience_key,
    encode_line,
    ndjson_response,
    subscription_lines,
)


def is_partial_match(filter_: Any, value: Any) -> bool:
    """Whether every key of ``filter_`` is in ``value`` with an equal (recursively partially
    matching) value — the reference's ``partof``."""
    if isinstance(filter_, dict):
        return isinstance(value, dict) and all(
            key in value and is_partial_match(expected, value[key])
            for key, expected in filter_.items()
        )
    return bool(filter_ == value)


def _line(event: DomainEvent[Any]) -> bytes:
    return encode_line(event.to_json())


async def describe_domain_events(request: Request) -> JSONResponse:
    runtime: Gateway = request.app.state.runtime
    return JSONResponse(runtime.description["domainEvents"])


async def stream_domain_events(request: Request) -> Response:
    runtime: Gateway = request.app.state.runtime
    client = authenticate(request, runtime.authenticator)
    options = query_options(request)
    unknown = sorted(set(options) - {"filter"})
    if unknown:
        raise errors.RequestMalformed(f"Unknown query parameter '{unknown[0]}'.")
    filter_ = options.get("filter", {})
    if not isinstance(filter_, dict):
        raise errors.RequestMalformed("Query parameter 'filter' must be a JSON object.")

    async def prepare(event: DomainEventForClients) -> bytes | None:
        if filter_ and not is_partial_match(filter_, event.public_json):
            return None
        prepared = await event.for_client(client)
        return None if prepared is None else event.rendered(prepared, _line)

    # Streams of equal clients with equal filters see each event alike: it is prepared once
    # for all of them (``is_authorized``, ``filter`` and ``map`` get the same arguments).
    audience = audience_key("domain-events", client.to_json(), filter_)
    heartbeat = runtime.settings.heartbeat_interval / 1000
    return ndjson_response(subscription_lines(runtime.domain_events, audience, prepare, heartbeat))


routes = [
    Route("/domain-events/v2/description", describe_domain_events, methods=["GET"]),
    Route("/domain-events/v2", stream_domain_events, methods=["GET"]),
]
