"""The ASGI application of the HTTP API: every API's routes, CORS, and the error mapping."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute
from starlette.types import ASGIApp, Receive, Scope, Send

from wolkenkit.errors import WolkenkitError
from wolkenkit.runtime.gateway import Gateway
from wolkenkit.runtime.http import (
    api_documentation,
    commands,
    domain_events,
    files,
    landing,
    notifications,
    replay,
    views,
)
from wolkenkit.runtime.http.errors import (
    UnexpectedErrorMiddleware,
    error_response,
    routing_error_response,
    unknown_error_response,
)
from wolkenkit.runtime.http.no_cache import NoCacheMiddleware
from wolkenkit.runtime.http.observing import ObservingMiddleware
from wolkenkit.runtime.services import Service

EXPOSED_HEADERS = ["content-length", "content-type", "content-disposition", "x-id", "x-name"]


async def _on_wolkenkit_error(request: Request, error: Exception) -> Response:
    if not isinstance(error, WolkenkitError):  # pragma: no cover - registered for this type
        raise error
    return error_response(error)


async def _on_http_error(request: Request, error: Exception) -> Response:
    if not isinstance(error, HTTPException):  # pragma: no cover - registered for this type
        raise error
    return routing_error_response(error, request.method)


async def _on_client_gone(request: Request, error: Exception) -> Response:
    # The client left (or was closed for stalling) while its body was read: nobody to answer,
    # and nothing the server did wrong.
    return Response(status_code=400)


async def _on_unexpected_error(request: Request, error: Exception) -> Response:
    return unknown_error_response()


class _CorsForCrossOriginRequests:
    """Applies CORS only to requests that carry an ``Origin`` header: the others (curl,
    servers, same-origin pages) skip its per-response work entirely."""

    def __init__(self, app: ASGIApp, /, **options: Any) -> None:
        self._app = app
        self._cors = CORSMiddleware(app, **options)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and any(name == b"origin" for name, _ in scope["headers"]):
            await self._cors(scope, receive, send)
        else:
            await self._app(scope, receive, send)


def cors_middleware(origin: str | Sequence[str]) -> Middleware:
    """``'*'``, or a list of origins where ``'/…/'`` entries are regular expressions."""
    if origin == "*":
        origins, pattern = ["*"], None
    else:
        origins = [entry for entry in origin if not _is_pattern(entry)]
        patterns = [entry[1:-1] for entry in origin if _is_pattern(entry)]
        pattern = "|".join(f"(?:{re.compile(entry).pattern})" for entry in patterns) or None
    return Middleware(
        _CorsForCrossOriginRequests,
        allow_origins=origins,
        allow_origin_regex=pattern,
        allow_methods=["GET", "POST"],
        allow_headers=["*"],
        expose_headers=EXPOSED_HEADERS,
    )


def _is_pattern(entry: str) -> bool:
    return len(entry) >= 2 and entry.startswith("/") and entry.endswith("/")


def create_http_app(runtime: Gateway) -> Starlette:
    settings = runtime.settings
    services = runtime.services
    routes: list[BaseRoute] = [*landing.routes, *landing.client_routes(runtime.application)]
    if settings.http_api:
        # A microservice serves only its own API; the single-process runtime serves all.
        for service, service_routes in (
            (Service.COMMAND, commands.routes),
            (Service.DOMAIN_EVENT, domain_events.routes),
            (Service.VIEW, views.routes),
            (Service.NOTIFICATION, notifications.routes),
            (Service.FILE, files.routes),
            (Service.REPLAY, replay.routes),
        ):
            if service in services:
                routes += service_routes
        if settings.enable_open_api_documentation:
            routes += api_documentation.routes
    if settings.graphql_api and Service.GRAPHQL in services:
        # Imported only when it is on: graphql-core alone takes a few hundred ms to import.
        from wolkenkit.runtime.graphql import graphql_routes

        routes += graphql_routes(
            runtime, integrated_client=settings.graphql_api.enable_integrated_client
        )
    app = Starlette(
        routes=routes,
        # CORS answers preflight requests itself, without the no-cache headers, as the
        # reference's does. Every request counts, preflights too. Unexpected errors are
        # answered inside CORS and no-cache, with their headers.
        middleware=[
            Middleware(
                ObservingMiddleware,
                metrics=runtime.metrics,
                tracer=runtime.tracer,
            ),
            cors_middleware(settings.cors_origin),
            Middleware(NoCacheMiddleware),
            Middleware(UnexpectedErrorMiddleware),
        ],
        exception_handlers={
            WolkenkitError: _on_wolkenkit_error,
            HTTPException: _on_http_error,
            ClientDisconnect: _on_client_gone,
            Exception: _on_unexpected_error,
        },
    )
    app.state.runtime = runtime
    return app
