"""gql, a GraphQL client nobody here wrote, against a real server: over HTTP and over both
WebSocket subprotocols, with many operations on one connection.

Most documents name only built-in types (``String``); the last test sends documents written
for the reference, with its generated type names in variables and fragments."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
from gql import Client, GraphQLRequest
from gql.client import AsyncClientSession
from gql.transport.httpx import HTTPXAsyncTransport
from gql.transport.websockets import WebsocketsTransport

from tests.runtime.conftest import Keys
from tests.runtime.graphql.conftest import GRAPHQL, PROTOCOLS, token_for, until_listening
from tests.runtime.graphql.test_over_http import MESSAGES, SEND
from tests.runtime.graphql.test_reference_documents import (
    DOMAIN_EVENTS_WITH_FRAGMENT,
    MESSAGES_WITH_FRAGMENT,
    SEND_TYPED,
)
from wolkenkit.runtime.server import Serving

SENT_EVENTS = """
subscription ($filter: String) {
  domainEvents(filter: $filter) { name data aggregateIdentifier { aggregate { id } } }
}
"""
ONLY_SENT = json.dumps({"name": "sent"})


def send(text: str) -> GraphQLRequest:
    return GraphQLRequest(SEND, variable_values={"id": str(uuid.uuid4()), "text": text})


@asynccontextmanager
async def session_over(
    server: Serving, keys: Keys, protocol: str | None, *, with_schema: bool = False
) -> AsyncIterator[AsyncClientSession]:
    """A gql session as Jane: over HTTP when ``protocol`` is ``None``, else over one
    WebSocket in that subprotocol; ``with_schema`` has gql fetch the server's schema and
    validate every document against it first."""
    token = token_for(keys, "jane")
    transport: HTTPXAsyncTransport | WebsocketsTransport
    if protocol is None:
        transport = HTTPXAsyncTransport(
            url=f"http://127.0.0.1:{server.port}{GRAPHQL}",
            headers={"authorization": f"Bearer {token}"},
        )
    else:
        transport = WebsocketsTransport(
            url=f"ws://127.0.0.1:{server.port}{GRAPHQL}",
            init_payload={"token": token},
            subprotocols=[protocol],
        )
    async with Client(
        transport=transport, execute_timeout=10, fetch_schema_from_transport=with_schema
    ) as session:
        yield session


async def until_listeners(server: Serving, count: int) -> None:
    """Until exactly ``count`` subscriptions listen for domain events (looks every 10 ms)."""
    async with asyncio.timeout(5):
        while server.runtime.domain_events.listener_count != count:  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def every_result(session: AsyncClientSession, request: GraphQLRequest) -> list[Any]:
    """Every result of an operation, as gql hands them out until the server completes it."""
    async with asyncio.timeout(5):
        return [result async for result in session.subscribe(request)]


async def test_queries_and_mutations_over_http(graphql_server: Serving, keys: Keys) -> None:
    async with session_over(graphql_server, keys, None) as session:
        sent = await session.execute(send("over HTTP"))
        listed = await session.execute(GraphQLRequest(MESSAGES))

    uuid.UUID(sent["command"]["communication_message_send"]["id"])
    assert isinstance(listed["messages"]["all"], list)


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_query_and_a_mutation_over_the_socket_complete(
    protocol: str, graphql_server: Serving, keys: Keys
) -> None:
    # gql ends a subscription's iteration only when the server completes the operation; a
    # query or mutation over the socket gets its one result and then that complete.
    async with session_over(graphql_server, keys, protocol) as session:
        [listed] = await every_result(session, GraphQLRequest(MESSAGES))
        [sent] = await every_result(session, send("over the socket"))
        # The connection still serves operations afterwards.
        listed_again = await session.execute(GraphQLRequest(MESSAGES))

    assert isinstance(listed["messages"]["all"], list)
    assert isinstance(listed_again["messages"]["all"], list)
    uuid.UUID(sent["command"]["communication_message_send"]["id"])


async def next_event(subscription: AsyncGenerator[dict[str, Any], None]) -> dict[str, Any]:
    async with asyncio.timeout(5):
        result = await anext(subscription)
    return dict(result["domainEvents"])


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_stopping_one_of_two_subscriptions_leaves_the_other_running(
    protocol: str, graphql_server: Serving, keys: Keys
) -> None:
    # Two subscriptions share one connection; both see the first message. Stopping one (gql
    # sends `stop` or `complete` when its iteration is closed) leaves the connection open and
    # the other subscription receiving the second message.
    sent_events = GraphQLRequest(SENT_EVENTS, variable_values={"filter": ONLY_SENT})
    async with session_over(graphql_server, keys, protocol) as session:
        stopped = session.subscribe(sent_events)
        kept = session.subscribe(sent_events)
        # gql starts an operation at the first step of its iteration.
        first_of_stopped = asyncio.ensure_future(next_event(stopped))
        first_of_kept = asyncio.ensure_future(next_event(kept))
        await until_listening(graphql_server, 2)
        await session.execute(send("first"))
        firsts = [await first_of_stopped, await first_of_kept]

        await stopped.aclose()
        await until_listeners(graphql_server, 1)
        await session.execute(send("second"))
        second = await next_event(kept)
        await kept.aclose()

    assert [json.loads(event["data"]) for event in firsts] == [{"text": "first"}] * 2
    assert json.loads(second["data"]) == {"text": "second"}


def send_typed(aggregate_id: str) -> GraphQLRequest:
    return GraphQLRequest(
        SEND_TYPED,
        variable_values={"aggregateIdentifier": {"id": aggregate_id}, "data": {"text": "typed"}},
    )


async def test_documents_with_the_references_type_names_over_http(
    graphql_server: Serving, keys: Keys
) -> None:
    # Documents written for the reference, with its type names in variables and fragments:
    # gql fetches our schema and validates each document against it before sending it, and
    # the server runs it.
    aggregate_id = str(uuid.uuid4())
    async with session_over(graphql_server, keys, None, with_schema=True) as session:
        await session.execute(send_typed(aggregate_id))
        listed = await session.execute(GraphQLRequest(MESSAGES_WITH_FRAGMENT))
        assert session.client.schema is not None
        # HTTP carries no subscriptions, but the subscription's document validates too.
        session.client.validate(GraphQLRequest(DOMAIN_EVENTS_WITH_FRAGMENT))

    assert all(set(item) == {"id", "text", "likes"} for item in listed["messages"]["all"])


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_documents_with_the_references_type_names_over_the_socket(
    protocol: str, graphql_server: Serving, keys: Keys
) -> None:
    # The same over each WebSocket subprotocol, the subscription with its fragments included.
    aggregate_id = str(uuid.uuid4())
    async with session_over(graphql_server, keys, protocol, with_schema=True) as session:
        events = session.subscribe(GraphQLRequest(DOMAIN_EVENTS_WITH_FRAGMENT))
        first_event = asyncio.ensure_future(next_event(events))
        await until_listening(graphql_server, 1)
        await session.execute(send_typed(aggregate_id))
        event = await first_event
        await events.aclose()
        listed = await session.execute(GraphQLRequest(MESSAGES_WITH_FRAGMENT))

    assert event["aggregateIdentifier"] == {"aggregate": {"id": aggregate_id}}
    assert json.loads(event["data"]) == {"text": "typed"}
    assert event["metadata"]["revision"] == 1
    assert all(set(item) == {"id", "text", "likes"} for item in listed["messages"]["all"])
