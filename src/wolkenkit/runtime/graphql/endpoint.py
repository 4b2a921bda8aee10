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
from starlette.types import Message, Receive, Scope, Send

from wolkenkit import errors
from wolkenkit.errors import JsonRefused
from wolkenkit.runtime.client_json import parse_client_json
from wolkenkit.runtime.gateway import Gateway
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
from wolkenkit.runtime.http.requests import authenticate, read_json

TRANSPORT_WS = "graphql-transport-ws"
LEGACY_WS = "graphql-ws"
#: graphql-ws's close codes: a connection without a subprotocol it speaks, a message it
#: cannot take.
SUBPROTOCOL_NOT_ACCEPTABLE = 4406
INVALID_MESSAGE = 4400


class _HttpHandler(GraphQLHTTPHandler):
    """Authenticates an operation's request before ariadne runs it, as the HTTP API does: a
    token we cannot trust is a 401 with the error in GraphQL's shape. Reads the request as the
    HTTP API does too: a JSON body within the body limit, JSON within the limits of
    ``client_json``; anything else is a ``RequestMalformed`` (415 for another content type)."""

    def __init__(self, runtime: Gateway) -> None:
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
            return _error_response(error)
        return None

    async def graphql_http_server(self, request: Request) -> Response:
        try:
            return await super().graphql_http_server(request)
        except errors.WolkenkitError as error:
            # Only reading the request raises ours here: ariadne catches what operations raise.
            return _error_response(error)

    async def extract_data_from_json_request(self, request: Request) -> Any:
        return await read_json(request, self._runtime.settings.request_body_limit)

    async def extract_data_from_multipart_request(self, request: Request) -> Any:
        # Multipart is for file uploads, which the schema has none of (nor the reference's).
        raise errors.ContentTypeMismatch("Header content-type must be application/json.")

    def extract_data_from_get_request(self, request: Request) -> dict[str, Any]:
        parameters = request.query_params
        variables = parameters.get("variables", "").strip()
        return {
            "query": parameters["query"].strip(),
            "operationName": parameters.get("operationName", "").strip() or None,
            "variables": _variables_of(variables) if variables else None,
        }

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


def _variables_of(text: str) -> Any:
    try:
        return parse_client_json(text)
    except JsonRefused as error:
        raise errors.RequestMalformed(f"Query parameter 'variables' is refused: {error}.") from None
    except ValueError as error:
        raise errors.RequestMalformed(
            f"Query parameter 'variables' is not valid JSON: {error}."
        ) from None


def _error_response(error: errors.WolkenkitError) -> JSONResponse:
    return JSONResponse(error_payload(error), status_code=status_of(error))


def _checking_messages(receive: Receive, send: Send) -> Receive:
    """``receive`` for a WebSocket whose text messages must be JSON within the limits of
    ``client_json`` before ariadne parses them: another message closes the socket with
    graphql-ws's 4400, and the handler sees the close as the client's."""

    async def checked() -> Message:
        message = await receive()
        if message["type"] != "websocket.receive":
            return message
        text = message.get("text")
        try:
            if text is None:
                raise ValueError("graphql-ws messages are text")
            parse_client_json(text)
        except (ValueError, JsonRefused):
            await send({"type": "websocket.close", "code": INVALID_MESSAGE})
            return {"type": "websocket.disconnect", "code": INVALID_MESSAGE}
        return message

    return checked


class GraphqlEndpoint:
    """The ASGI app of ``/graphql/v2``."""

    def __init__(self, runtime: Gateway, *, integrated_client: bool) -> None:
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
            http_handler=_HttpHandler(runtime),
            websocket_handler=TransportWsHandler(on_connect=on_connect),
            **options,
        )
        self._legacy = GraphQL(
            schema,
            http_handler=_HttpHandler(runtime),
            websocket_handler=LegacyWsHandler(
                on_connect=on_connect, keepalive=runtime.settings.heartbeat_interval / 1000
            ),
            **options,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "websocket":
            await self._current(scope, receive, send)
            return
        receive = _checking_messages(receive, send)
        offered = scope.get("subprotocols") or []
        if TRANSPORT_WS in offered:
            await self._current(scope, receive, send)
        elif LEGACY_WS in offered:
            await self._legacy(scope, receive, send)
        else:
            await receive()  # websocket.connect
            await send({"type": "websocket.close", "code": SUBPROTOCOL_NOT_ACCEPTABLE})


def graphql_routes(runtime: Gateway, *, integrated_client: bool) -> list[BaseRoute]:
    """The routes of ``/graphql/v2`` (with or without the trailing slash the reference uses);
    raises ``GraphQlError`` when the app's schema cannot be expressed."""
    endpoint = GraphqlEndpoint(runtime, integrated_client=integrated_client)
    routes: list[BaseRoute] = []
    for path in ("/graphql/v2", "/graphql/v2/"):
        # Other methods are refused by the router, with the JSON body every route's 405 has.
        routes += [Route(path, endpoint, methods=["GET", "POST"]), WebSocketRoute(path, endpoint)]
    if integrated_client:
        routes += ide.routes
    return routes
