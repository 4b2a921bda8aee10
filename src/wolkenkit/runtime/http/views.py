"""``/views/v2`` (reference §3.4): stream and value queries."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from wolkenkit import errors
from wolkenkit.runtime.gateway import Gateway
from wolkenkit.runtime.http.errors import not_found_response
from wolkenkit.runtime.http.requests import authenticate, query_options
from wolkenkit.runtime.http.streaming import encode_line, ndjson_response

logger = logging.getLogger("wolkenkit.runtime.http.views")


async def describe_views(request: Request) -> JSONResponse:
    runtime: Gateway = request.app.state.runtime
    return JSONResponse(runtime.description["views"])


async def query_stream(request: Request) -> Response:
    runtime: Gateway = request.app.state.runtime
    client = authenticate(request, runtime.authenticator)
    params = request.path_params
    items = await runtime.query_stream(
        params["view_name"], params["query_name"], query_options(request), client
    )
    # The first item is computed before the response starts, so an error raised while the
    # handler produces it is still answered with a proper status.
    try:
        first = await anext(items, None)
    except errors.QueryResultInvalid:
        return JSONResponse({"code": "QueryResultInvalid"}, status_code=500)

    async def lines() -> AsyncIterator[bytes]:
        if first is None:
            return
        yield encode_line(first)
        try:
            async for item in items:
                yield encode_line(item)
        except Exception:
            # Mid-stream the status is sent already: log and end the stream (reference).
            logger.exception("A stream query failed mid-stream; the stream ends.")

    return ndjson_response(lines())


async def query_value(request: Request) -> Response:
    runtime: Gateway = request.app.state.runtime
    client = authenticate(request, runtime.authenticator)
    params = request.path_params
    try:
        item: dict[str, Any] = await runtime.query_value(
            params["view_name"], params["query_name"], query_options(request), client
        )
    except (errors.QueryResultInvalid, errors.QueryNotAuthorized, errors.NotFound):
        return not_found_response()
    return JSONResponse(item)


routes = [
    Route("/views/v2/description", describe_views, methods=["GET"]),
    Route("/views/v2/{view_name}/stream/{query_name}", query_stream, methods=["GET"]),
    Route("/views/v2/{view_name}/value/{query_name}", query_value, methods=["GET"]),
]
