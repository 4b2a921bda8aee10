"""``/graphql/v2``: GraphQL over HTTP and over WebSockets, served by ariadne.

One endpoint speaks both WebSocket subprotocols: ``graphql-transport-ws`` (the ``graphql-ws``
library's, which GraphiQL uses) and the older ``graphql-ws`` (subscriptions-transport-ws,
which the reference's clients use). The client's ``Sec-WebSocket-Protocol`` picks the
handler. Every operation runs as the client that authenticated the request or the
connection (see ``context``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ariadne.asgi import GraphQL
from ariadne.asgi.handlers import GraphQLHTTPHandler
from ariadne.explorer import ExplorerHttp405
from graphql import GraphQLError, OperationType, get_operation_ast, parse
from starlette.requests import HTTPConnection, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route, WebSocketRoute
from starlette.types import Receive, Scope, Send

from wolkenkit import errors
from wolkenkit.runtime.graphql import ide
from wolkenkit.runtime.graphql.context import (
    CLIENT_SCOPE_KEY,
    GraphqlContext,
    authenticate_websocket,
    make_context,
)
from wolkenkit.runtime.graphql.documents import DocumentCache
from wolkenkit.runtime.graphql.errors import (
    BAD_REQUEST,
    ErrorLog,
    error_payload,
    format_error,
)
from wolkenkit.runtime.graphql.schema import build_schema
from wolkenkit.runtime.graphql.ws_handlers import LegacyWsHandler, TransportWsHandler
from wolkenkit.runtime.http.errors import status_of
from wolkenkit.runtime.http.requests import authenticate
from wolkenkit.runtime.single_process import SingleProcessRuntime

TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"
#: graphql-ws's close code for a connection without a subprotocol it speaks.
SUBPROTOCOL_NOT_ACCEPTABLE = 4406


class _AuthenticatingHttpHandler(GraphQLHTTPHandler):
    """Authenticates an operation's request before ariadne runs it, as the HTTP API does: a
    token we cannot trust is a 401 with the error in GraphQL's shape."""

    def __init__(self, runtime: SingleProcessRuntime) -> None:
        super().__init__()
        self._runtime = runtime

    async def handle_request_override(self, request: Request) -> Response | None:
        runs_operation = request.method == "POST" or (
            request.method == "GET" and "query" in request.query_params
        )
        if not runs_operation:
            return None
        if request.method == "GET" and self._is_mutation(request.query_params):
            return _mutation_over_get()
        try:
            request.scope[CLIENT_SCOPE_KEY] = authenticate(request, self._runtime.authenticator)
        except errors.WolkenkitError as error:
            return JSONResponse(error_payload(error), status_code=status_of(error))
        return None

    def _is_mutation(self, parameters: Mapping[str, str]) -> bool:
        """Whether the operation a GET names is a mutation; a document that does not parse or
        does not name one operation is left to ariadne to report."""
        data = {"query": parameters["query"]}
        try:
            document = self.query_parser(None, data) if self.query_parser else parse(data["query"])
        except GraphQLError:
            return False
        operation = get_operation_ast(document, parameters.get("operationName") or None)
        return operation is not None and operation.operation == OperationType.MUTATION


def _mutation_over_get() -> Response:
    """GraphQL over HTTP: a GET must not run a mutation (GET is safe), and the server answers
    405 Method Not Allowed, whose ``Allow`` names the method that would do. (ariadne, which
    runs only queries over GET, said "'operationName' is required if 'query' defines multiple
    operations.")"""
    message = "A mutation needs POST; GET runs only queries."
    return JSONResponse(
        {"errors": [{"message": message, "extensions": {"code": BAD_REQUEST}}]},
        status_code=405,
        headers={"Allow": "POST"},
    )


class GraphqlEndpoint:
    """The ASGI app of ``/graphql/v2``."""

    def __init__(self, runtime: SingleProcessRuntime, *, integrated_client: bool) -> None:
        schema = build_schema(runtime)

        def context(connection: HTTPConnection, _data: Any) -> GraphqlContext:
            return make_context(runtime, connection)

        def on_connect(connection: HTTPConnection, parameters: Any) -> None:
            authenticate_websocket(runtime, connection, parameters)

        documents = DocumentCache()
        options: dict[str, Any] = {
            "context_value": context,
            "query_parser": documents.parse,
            "query_validator": documents.validate,
            "error_formatter": format_error,
            "logger": ErrorLog(),
            "execute_get_queries": True,
            "explorer": (
                ide.GraphiqlPage(runtime.application.name)
                if integrated_client
                else ExplorerHttp405()
            ),
        }
        self._current = GraphQL(
            schema,
            http_handler=_AuthenticatingHttpHandler(runtime),
            websocket_handler=TransportWsHandler(on_connect=on_connect),
            **options,
        )
        self._legacy = GraphQL(
            schema,
            http_handler=_AuthenticatingHttpHandler(runtime),
            websocket_handler=LegacyWsHandler(
                on_connect=on_connect, keepalive=runtime.settings.heartbeat_interval / 1000
            ),
            **options,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self._current(scope, receive, send)
            return
        offered = scope.get("subprotocols") or []
        if TRANSPORT_WS in offered:
            await self._current(scope, receive, send)
        elif LEGACY_WS in offered:
            await self._legacy(scope, receive, send)
        else:
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": SUBPROTOCOL_NOT_ACCEPTABLE})


def graphql_routes(runtime: SingleProcessRuntime, *, integrated_client: bool) -> list[BaseRoute]:
    """The routes of ``/graphql/v2`` (with or without the trailing slash the reference uses);
    raises ``GraphQlError`` when the app's schema cannot be expressed."""
    endpoint = GraphqlEndpoint(runtime, integrated_client=integrated_client)
    routes: list[BaseRoute] = []
    for path in ("/graphql/v2", "/graphql/v2/"):
        routes += [Route(path, endpoint), WebSocketRoute(path, endpoint)]
    if integrated_client:
        routes += ide.routes
    return routes
