"""Documents written for the reference, with its type names in variables and fragments, run
unchanged against a real server (issue 16); see test_chat_schema for how the names are known.
And an integer that does not fit GraphQL's ``Int`` is that field's error, never another type."""

from __future__ import annotations

import json
import logging
import uuid

import pytest

from tests.runtime.graphql.conftest import PROTOCOLS, GraphqlClient, OpenSocket, until_listening
from tests.runtime.graphql.test_over_http import MESSAGES, SEND, messages_with
from wolkenkit.runtime.server import Serving

SEND_TYPED = """
mutation ($aggregateIdentifier: AggregateIdentifier, $data: Communication_message_sendT0!) {
  command {
    communication_message_send(aggregateIdentifier: $aggregateIdentifier, data: $data) { id }
  }
}
"""
CANCEL_TYPED = """
mutation ($c: CommandIdentifierT0!) { cancel(commandIdentifier: $c) { success } }
"""
MESSAGES_WITH_FRAGMENT = """
query { messages { all { ...item } } }
fragment item on Messages_all_resultItemT0 { id text likes }
"""
DOMAIN_EVENTS_WITH_FRAGMENT = """
subscription { domainEvents { ...event } }
fragment event on DomainEventT0 {
  name
  data
  aggregateIdentifier { ...identifier }
  metadata { revision tags }
}
fragment identifier on DomainEventT0AggregateIdentifierT0 { aggregate { id } }
"""


async def test_typed_variables_and_fragments_of_the_reference_over_http(
    graphql: GraphqlClient,
) -> None:
    aggregate_id = str(uuid.uuid4())
    sent = await graphql.data(
        SEND_TYPED, {"aggregateIdentifier": {"id": aggregate_id}, "data": {"text": "typed"}}
    )
    command_id = sent["command"]["communication_message_send"]["id"]

    await messages_with(graphql, "typed")
    listed = (await graphql.data(MESSAGES_WITH_FRAGMENT))["messages"]["all"]
    assert {"id": aggregate_id, "text": "typed", "likes": 0} in listed
    # The command was handled already, so there is nothing to cancel; the document is valid.
    identifier = {
        "aggregateIdentifier": {
            "context": {"name": "communication"},
            "aggregate": {"name": "message", "id": aggregate_id},
        },
        "name": "send",
        "id": command_id,
    }
    cancelled = await graphql.data(CANCEL_TYPED, {"c": identifier})
    assert cancelled == {"cancel": {"success": False}}


@pytest.mark.parametrize("protocol", PROTOCOLS)
async def test_a_fragment_on_the_reference_s_domain_event_type_over_a_socket(
    protocol: str, open_socket: OpenSocket, graphql: GraphqlClient, graphql_server: Serving
) -> None:
    aggregate_id = str(uuid.uuid4())
    async with open_socket(protocol) as socket:
        await socket.initialise()
        await socket.start("events", DOMAIN_EVENTS_WITH_FRAGMENT)
        await until_listening(graphql_server)
        await graphql.data(SEND, {"id": aggregate_id, "text": "fragment"})
        kind, operation_id, payload = await socket.receive()

    assert (kind, operation_id) == ("next", "events"), payload
    event = payload["data"]["domainEvents"]
    assert (event["name"], json.loads(event["data"])) == ("sent", {"text": "fragment"})
    assert event["aggregateIdentifier"] == {"aggregate": {"id": aggregate_id}}
    # The reference's types: revision is a Float, tags a list.
    assert event["metadata"] == {"revision": 1, "tags": []}


async def test_an_integer_beyond_32_bits_is_an_error_of_its_field(
    graphql: GraphqlClient, caplog: pytest.LogCaptureFixture
) -> None:
    # The test app's view lists a message's timestamp, milliseconds since 1970, as a plain
    # int: GraphQL's Int, which cannot carry it. Asking for it is an error of that field, and
    # the other fields still answer; it never turns into another type.
    await graphql.data(SEND, {"id": str(uuid.uuid4()), "text": "late"})
    await messages_with(graphql, "late")
    response = await graphql.run("{ messages { all { text timestamp } } }")
    body = response.json()

    [error, *_] = body["errors"]
    assert error["path"][:2] == ["messages", "all"]
    assert error["path"][-1] == "timestamp"
    assert error["message"].startswith("Int cannot represent non 32-bit signed integer value")
    # The model is at fault, not the client: the server's log says so as an error.
    assert any(
        record.levelno == logging.ERROR and "32-bit" in record.getMessage()
        for record in caplog.records
    )
    # The same query without the timestamp answers in full.
    assert any(item["text"] == "late" for item in (await graphql.data(MESSAGES))["messages"]["all"])


async def test_an_integer_variable_beyond_32_bits_is_refused(graphql: GraphqlClient) -> None:
    response = await graphql.run(
        "mutation ($data: Communication_message_rateT0!) "
        "{ command { communication_message_rate(data: $data) { id } } }",
        {"data": {"stars": 2**31}},
    )
    [error] = response.json()["errors"]
    assert "Int cannot represent non 32-bit signed integer value" in error["message"]
