"""The older ``graphql-ws`` subprotocol (subscriptions-transport-ws), with many operations per
connection.

ariadne's handler of this subprotocol sends each subscription's results from a task of its
own, and on ``stop`` closes the subscription's generator while that task is suspended inside
it: ``aclose()`` raises "asynchronous generator is already running", which ends the whole
connection (1006) and every other subscription on it. It also answers a query or mutation
with its ``data`` but never the ``complete`` that ends every operation of the protocol.

``LegacyWsHandler`` keeps ariadne's handling and mends those: stopping an operation cancels
the task that reads it before its generator is closed (as ariadne's ``graphql-transport-ws``
handler does), and a query or mutation gets its result followed by ``complete``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from typing import Any

from ariadne.asgi.handlers import GraphQLWSHandler
from ariadne.graphql import parse_query, validate_data
from ariadne.logger import log_error
from ariadne.types import Operation
from ariadne.utils import get_operation_type
from graphql import GraphQLError, OperationType
from starlette.websockets import WebSocket


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
            context = await self.get_context_for_request(websocket, data)
            document = parse_query(context, self.query_parser, data)
            kind = get_operation_type(document, data.get("operationName"))
        except (GraphQLError, RuntimeError) as error:
            # ariadne lets some of these escape, which ends the connection.
            failure = error if isinstance(error, GraphQLError) else GraphQLError(str(error))
            log_error(failure, self.logger)
            payload = self.error_formatter(failure, self.debug)
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
