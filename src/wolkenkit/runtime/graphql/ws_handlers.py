"""ariadne's handlers of both WebSocket subprotocols, mended so that one connection carries
many operations and a failing or stopped one ends only itself.

In both, an ``operationName`` that names no operation of the document made ariadne raise a
``RuntimeError`` that ended the connection; it fails that operation with an error.

In the older ``graphql-ws`` subprotocol (subscriptions-transport-ws), ariadne's handler
sends each subscription's results from a task of its own, and on ``stop`` closes the
subscription's generator while that task is suspended inside it: ``aclose()`` raises
"asynchronous generator is already running", which ends the whole connection (1006) and
every other subscription on it. It also answers a query or mutation with its ``data`` but
never the ``complete`` that ends every operation of the protocol.

``LegacyWsHandler`` keeps ariadne's handling and mends those: stopping an operation cancels
the task that reads it before its generator is closed (as ariadne's ``graphql-transport-ws``
handler does), and a query or mutation gets its result followed by ``complete``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

from ariadne.asgi.handlers import GraphQLTransportWSHandler, GraphQLWSHandler
from ariadne.asgi.handlers.graphql_transport_ws import ClientContext
from ariadne.graphql import parse_query, validate_data
from ariadne.logger import log_error
from ariadne.types import Operation, QueryParser
from ariadne.utils import get_operation_type
from graphql import GraphQLError, OperationType, get_operation_ast
from starlette.websockets import WebSocket


def unknown_operation(data: Any, parser: QueryParser | None) -> GraphQLError | None:
    """The error of an ``operationName`` that names no operation of a document that parses;
    ``None`` otherwise (other failures are ariadne's to report)."""
    if not isinstance(data, dict) or not isinstance(data.get("query"), str):
        return None
    name = data.get("operationName")
    if not isinstance(name, str) or not name:
        return None
    try:
        document = parser(None, data) if parser else None
    except GraphQLError:
        return None
    if document is None or get_operation_ast(document, name) is not None:
        return None
    return GraphQLError(f"Unknown operation named '{name}'.")


class TransportWsHandler(GraphQLTransportWSHandler):
    async def handle_websocket_subscribe(
        self, websocket: WebSocket, data: Any, operation_id: str, client_context: ClientContext
    ) -> None:
        error = unknown_operation(data, self.query_parser)
        if error is not None and client_context.connection_acknowledged:
            log_error(error, self.logger)
            payload = [self.error_formatter(error, self.debug)]
            await websocket.send_json(
                {"type": self.GQL_ERROR, "id": operation_id, "payload": payload}
            )
            return
        await super().handle_websocket_subscribe(websocket, data, operation_id, client_context)


class LegacyWsHandler(GraphQLWSHandler):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: The task sending each running subscription's results, by its generator (one handler
        #: serves every connection; a generator belongs to exactly one operation).
        self._readers: dict[AsyncGenerator[Any, None], asyncio.Task[Any]] = {}

    async def process_single_message(
        self,
        websocket: WebSocket,
        data: Any,
        operation_id: str,
        operations: dict[str, Operation],
    ) -> None:
        """Runs a ``start``: a subscription keeps running; any other operation ends with its
        result and ``complete``. A ``start`` that reuses a running operation's id replaces it,
        as subscriptions-transport-ws's server does."""
        if operation_id in operations:
            await self.stop_websocket_operation(websocket, operations.pop(operation_id))
        try:
            validate_data(data)
            unknown = unknown_operation(data, self.query_parser)
            if unknown is not None:
                raise unknown
            context = await self.get_context_for_request(websocket, data)
            document = parse_query(context, self.query_parser, data)
            kind = get_operation_type(document, data.get("operationName"))
        except GraphQLError as error:
            log_error(error, self.logger)
            payload = self.error_formatter(error, self.debug)
            await websocket.send_json(
                {"type": self.GQL_ERROR, "id": operation_id, "payload": payload}
            )
            return
        if kind == OperationType.SUBSCRIPTION:
            await self.start_websocket_operation(
                websocket, data, context, document, operation_id, operations
            )
            return
        if self.http_handler is None:
            raise TypeError("The handler is not configured: it has no HTTP handler.")
        _, result = await self.http_handler.execute_graphql_query(
            websocket, data, context_value=context, query_document=document
        )
        await websocket.send_json({"type": self.GQL_DATA, "id": operation_id, "payload": result})
        await websocket.send_json({"type": self.GQL_COMPLETE, "id": operation_id})

    async def observe_async_results(
        self, websocket: WebSocket, results: AsyncGenerator[Any, None], operation_id: str
    ) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._readers[results] = task
        try:
            await super().observe_async_results(websocket, results, operation_id)
        finally:
            self._readers.pop(results, None)

    async def stop_websocket_operation(self, websocket: WebSocket, operation: Operation) -> None:
        """Stops the task reading the subscription, then closes its generator: closing a
        generator while another task is suspended in it fails."""
        reader = self._readers.pop(operation.generator, None)
        if reader is not None and reader is not asyncio.current_task():
            reader.cancel()
            await asyncio.wait({reader})  # unlike awaiting it, lets our own cancel through
        await super().stop_websocket_operation(websocket, operation)
