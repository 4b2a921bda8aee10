"""Subscriptions over a real WebSocket, in both subprotocols, against a real server."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncGenerator
from inspect import isawaitable
from typing import Any

import pytest
from graphql import parse, subscribe
from starlette.requests import HTTPConnection
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.frames import CloseCode

from tests.runtime.conftest import Keys
from tests.runtime.graphql.conftest import (
    PROTOCOLS,
    GraphqlClient,
    OpenSocket,
    token_for,
    until_listening,
)
from tests.runtime.graphql.test_over_http import SEND
from wolkenkit.messages import ClientMetadata, User
from wolkenkit.runtime.graphql.context import GraphqlContext
from wolkenkit.runtime.graphql.schema import build_schema
from wolkenkit.runtime.server import Serving

#: graphql-ws's close code for a message it cannot take.
INVALID_MESSAGE = 4400

DOMAIN_EVENTS = """
subscription ($filter: String) {
  domainEvents(filter: $filter) {
    aggregateIdentifier { context { name } aggregate { name id } }
    name
    data
    id
    metadata { causationId correlationId timestamp revision initiator { user { id } } tags }
  }
}
"""


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_subscriber_receives_the_event_of_a_later_mutation(
    protocol: str,
    open_socket: OpenSocket,
    graphql: GraphqlClient,
    graphql_server: Serving,
    keys: Keys,
) -> None:
    # Jane subscribes with her token in the connection's parameters, then sends a message
    # over HTTP: the event arrives with its data as JSON and her id as the initiator.
    aggregate_id = str(uuid.uuid4())
    token = token_for(keys, "jane")
    async with open_socket(protocol) as socket:
        await socket.initialise({"token": token})
        await socket.start("events", DOMAIN_EVENTS, filter=json.dumps({"name": "sent"}))
        await until_listening(graphql_server)
        sent = await graphql.data(
            SEND,
            {"id": aggregate_id, "text": "live"},
            headers={"authorization": f"Bearer {token}"},
        )
        kind, operation_id, payload = await socket.receive()

    assert (kind, operation_id) == ("next", "events")
    event = payload["data"]["domainEvents"]
    command_id = sent["command"]["communication_message_send"]["id"]
    assert event["name"] == "sent"
    assert event["aggregateIdentifier"] == {
        "context": {"name": "communication"},
        "aggregate": {"name": "message", "id": aggregate_id},
    }
    assert json.loads(event["data"]) == {"text": "live"}
    metadata = event["metadata"]
    assert (metadata["causationId"], metadata["revision"]) == (command_id, 1)
    assert metadata["initiator"] == {"user": {"id": "jane"}}


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_mutations_and_notifications_over_the_socket(
    protocol: str, open_socket: OpenSocket, graphql_server: Serving
) -> None:
    # One connection subscribes to notifications and sends the command itself; the flow's
    # notification follows the mutation's result.
    async with open_socket(protocol, **{"x-anonymous-id": "jane"}) as socket:
        await socket.initialise()
        await socket.start("notifications", "subscription { notifications { name data } }")
        await socket.start("send", SEND, id=str(uuid.uuid4()), text="over the socket")
        received: dict[str | None, Any] = {}
        while len(received) < 2:
            kind, operation_id, payload = await socket.receive()
            if kind == "next":
                received.setdefault(operation_id, payload)

    assert "errors" not in received["send"]
    uuid.UUID(received["send"]["data"]["command"]["communication_message_send"]["id"])
    notification = received["notifications"]["data"]["notifications"]
    assert notification["name"] == "flowMessagesUpdated"
    assert json.loads(notification["data"]) == {}


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_an_invalid_filter_or_token_fails_the_subscription_with_its_code(
    protocol: str, open_socket: OpenSocket
) -> None:
    async with open_socket(protocol) as socket:
        await socket.initialise()
        await socket.start("filter", DOMAIN_EVENTS, filter="{not json")
        filter_error = await socket.receive()
    async with open_socket(protocol) as socket:
        await socket.initialise({"token": "nonsense"})
        await socket.start("token", DOMAIN_EVENTS)
        token_error = await socket.receive()
    async with open_socket(protocol) as socket:
        await socket.initialise({"x-anonymous-id": "a" * 129})
        await socket.start("anonymous id", DOMAIN_EVENTS)
        anonymous_id_error = await socket.receive()

    for (kind, _, payload), code in (
        (filter_error, "ParameterInvalid"),
        (token_error, "NotAuthenticated"),
        (anonymous_id_error, "RequestMalformed"),
    ):
        assert kind == "error"
        errors = payload if isinstance(payload, list) else [payload]
        assert [error["extensions"]["code"] for error in errors] == [code]


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_message_beyond_the_json_limits_closes_the_socket_as_invalid(
    protocol: str, open_socket: OpenSocket
) -> None:
    # graphql-ws closes with 4400 on a message it cannot take; nesting that deep would
    # otherwise exhaust the recursion limit.
    deep = "[" * 1_000 + "]" * 1_000
    async with open_socket(protocol) as socket:
        await socket.initialise()
        await socket.connection.send(f'{{"id":"1","type":"subscribe","payload":{deep}}}')
        with pytest.raises(ConnectionClosed) as closed:
            await socket.receive()

    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == INVALID_MESSAGE


async def test_a_message_over_the_body_limit_closes_the_socket(open_socket: OpenSocket) -> None:
    # A message is read whole before it is parsed: it gets the limit a request body has.
    async with open_socket(PROTOCOLS[0]) as socket:
        await socket.initialise()
        await socket.connection.send(json.dumps({"type": "ping", "payload": "x" * 100_001}))
        with pytest.raises(ConnectionClosed) as closed:
            await socket.receive()

    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == CloseCode.MESSAGE_TOO_BIG


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_filter_beyond_the_json_limits_fails_the_subscription(
    protocol: str, open_socket: OpenSocket
) -> None:
    async with open_socket(protocol) as socket:
        await socket.initialise()
        await socket.start("deep", DOMAIN_EVENTS, filter='{"name":' + "[" * 100 + "]" * 100 + "}")
        kind, _, payload = await socket.receive()

    assert kind == "error"
    errors = payload if isinstance(payload, list) else [payload]
    assert [error["extensions"]["code"] for error in errors] == ["ParameterInvalid"]


async def test_a_socket_without_a_known_subprotocol_is_refused(open_socket: OpenSocket) -> None:
    with pytest.raises(InvalidStatus):
        async with open_socket("graphql-unknown"):
            pass


async def test_closing_a_subscription_unregisters_its_listener_before_the_close_returns(
    graphql: GraphqlClient, graphql_server: Serving
) -> None:
    # A transport that stops a subscription while sending one of its results closes it as it
    # waits at a yield; its listener must be gone once that close returns, not whenever the
    # garbage collector finalises a generator inside it.
    runtime = graphql_server.runtime
    jane = ClientMetadata(token="token", user=User(id="jane", claims={}), ip="127.0.0.1")
    context = GraphqlContext(runtime, HTTPConnection({"type": "http", "headers": []}), jane)
    subscribed = subscribe(build_schema(runtime), parse(DOMAIN_EVENTS), context_value=context)
    stream = await subscribed if isawaitable(subscribed) else subscribed
    assert isinstance(stream, AsyncGenerator), stream
    first = asyncio.ensure_future(anext(stream))
    await until_listening(graphql_server)
    await graphql.data(SEND, {"id": str(uuid.uuid4()), "text": "one"})
    async with asyncio.timeout(5):
        await first
    await stream.aclose()

    assert runtime.domain_events.listener_count == 0


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_an_operation_name_the_document_lacks_fails_only_that_operation(
    protocol: str, open_socket: OpenSocket
) -> None:
    # ariadne let the error escape in the graphql-ws subprotocol, which ended the connection.
    async with open_socket(protocol) as socket:
        await socket.initialise()
        await socket.send(
            {
                "id": "unnamed",
                "type": "start" if socket.legacy else "subscribe",
                "payload": {"query": "{ messages { all { id } } }", "operationName": "Nope"},
            }
        )
        failed = await socket.receive()
        await socket.start("listed", "{ messages { all { id } } }")
        listed = await socket.receive()

    assert failed[:2] == ("error", "unnamed")
    assert listed[:2] == ("next", "listed")
