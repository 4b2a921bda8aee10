"""``/notifications/v2`` (reference §3.5): the live stream of notifications, per client."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from wolkenkit.messages import Notification
from wolkenkit.runtime.gateway import Gateway
from wolkenkit.runtime.http.requests import authenticate
from wolkenkit.runtime.http.streaming import (
    audience_key,
    encode_line,
    ndjson_response,
    subscription_lines,
)


async def describe_notifications(request: Request) -> JSONResponse:
    runtime: Gateway = request.app.state.runtime
    return JSONResponse(runtime.description["notifications"])


async def stream_notifications(request: Request) -> Response:
    runtime: Gateway = request.app.state.runtime
    client = authenticate(request, runtime.authenticator)

    async def prepare(notification: Notification) -> bytes | None:
        public = await runtime.prepare_notification_for_client(notification, client)
        return None if public is None else encode_line(public)

    audience = audience_key("notifications", client.to_json())
    heartbeat = runtime.settings.heartbeat_interval / 1000
    return ndjson_response(subscription_lines(runtime.notifications, audience, prepare, heartbeat))


routes = [
    Route("/notifications/v2/description", describe_notifications, methods=["GET"]),
    Route("/notifications/v2", stream_notifications, methods=["GET"]),
]
