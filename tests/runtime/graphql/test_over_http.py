"""GraphQL over HTTP against a real server: mutations, cancel, view queries, bad input."""

from __future__ import annotations

import asyncio
import json
import uuid
from typing import Any

from tests.runtime.conftest import Keys
from tests.runtime.graphql.conftest import GRAPHQL, GraphqlClient, token_for
from wolkenkit.runtime.server import Serving

SEND = """
mutation Send($id: String!, $text: String!) {
  command {
    communication_message_send(aggregateIdentifier: {id: $id}, data: {text: $text}) {
      id
      aggregateIdentifier { id }
    }
  }
}
"""
MESSAGES = "{ messages { all { id text likes } } }"


async def stored_events(server: Serving, aggregate_id: str) -> list[Any]:
    store = server.runtime.domain.domain_event_store
    return [event async for event in store.get_replay_for_aggregate(aggregate_id, 1, 2**31)]


async def messages_with(graphql: GraphqlClient, text: str) -> list[dict[str, Any]]:
    """The view's messages once one has ``text`` (flows update the view asynchronously)."""
    async with asyncio.timeout(5):
        while True:
            messages = (await graphql.data(MESSAGES))["messages"]["all"]
            if any(message["text"] == text for message in messages):
                return list(messages)
            await asyncio.sleep(0.05)


async def test_a_mutation_queues_the_command_and_the_view_shows_its_outcome(
    graphql: GraphqlClient, graphql_server: Serving
) -> None:
    # The answer names the command and its aggregate; the event is stored, and the view's
    # stream query, asked over GraphQL, lists the new message.
    aggregate_id = str(uuid.uuid4())
    data = await graphql.data(SEND, {"id": aggregate_id, "text": "Hello, GraphQL!"})

    sent = data["command"]["communication_message_send"]
    assert sent["aggregateIdentifier"] == {"id": aggregate_id}
    uuid.UUID(sent["id"])
    messages = await messages_with(graphql, "Hello, GraphQL!")
    assert {"id": aggregate_id, "text": "Hello, GraphQL!", "likes": 0} in messages
    [event] = await stored_events(graphql_server, aggregate_id)
    assert (event.name, event.data, event.metadata.causation_id) == (
        "sent",
        {"text": "Hello, GraphQL!"},
        sent["id"],
    )


async def test_without_an_aggregate_id_a_new_one_is_made(graphql: GraphqlClient) -> None:
    data = await graphql.data(
        'mutation { command { communication_message_send(data: {text: "new"}) '
        "{ aggregateIdentifier { id } } } }"
    )
    uuid.UUID(data["command"]["communication_message_send"]["aggregateIdentifier"]["id"])


async def test_a_value_query_takes_its_options_and_answers_not_found_like_http(
    graphql: GraphqlClient,
) -> None:
    aggregate_id = str(uuid.uuid4())
    await graphql.data(SEND, {"id": aggregate_id, "text": "by id"})
    await messages_with(graphql, "by id")
    query = "query ($id: String!) { messages { byId(options: {id: $id}) { id text } } }"

    found = await graphql.data(query, {"id": aggregate_id})
    missing = (await graphql.run(query, {"id": str(uuid.uuid4())})).json()

    assert found["messages"]["byId"] == {"id": aggregate_id, "text": "by id"}
    assert missing["data"]["messages"]["byId"] is None
    assert [error["extensions"]["code"] for error in missing["errors"]] == ["NotFound"]


async def test_a_queued_command_can_be_cancelled_by_its_sender_only(
    graphql: GraphqlClient, graphql_server: Serving
) -> None:
    # A slow command keeps the aggregate busy, so the next one waits in the queue, where
    # only its sender can cancel it; cancelled, it is never handled.
    aggregate_id = str(uuid.uuid4())
    jane = {"x-anonymous-id": "jane"}
    slow = (
        "mutation ($id: String!) { command { communication_message_slow("
        "aggregateIdentifier: {id: $id}) { id } } }"
    )
    await graphql.data(slow, {"id": aggregate_id}, headers=jane)
    await asyncio.sleep(0.1)
    queued = await graphql.data(SEND, {"id": aggregate_id, "text": "never"}, headers=jane)
    command_id = queued["command"]["communication_message_send"]["id"]
    cancel = (
        "mutation ($identifier: CommandIdentifierT0) "
        "{ cancel(commandIdentifier: $identifier) { success } }"
    )
    identifier = {
        "aggregateIdentifier": {
            "context": {"name": "communication"},
            "aggregate": {"name": "message", "id": aggregate_id},
        },
        "name": "send",
        "id": command_id,
    }

    by_john = await graphql.data(
        cancel, {"identifier": identifier}, headers={"x-anonymous-id": "john"}
    )
    by_jane = await graphql.data(cancel, {"identifier": identifier}, headers=jane)
    again = await graphql.data(cancel, {"identifier": identifier}, headers=jane)

    assert [by_john["cancel"], by_jane["cancel"], again["cancel"]] == [
        {"success": False},
        {"success": True},
        {"success": False},
    ]
    await asyncio.sleep(0.6)
    assert await stored_events(graphql_server, aggregate_id) == []


async def test_bad_input_gives_errors_with_the_reference_codes_and_stores_nothing(
    graphql: GraphqlClient, graphql_server: Serving
) -> None:
    aggregate_id = str(uuid.uuid4())
    rate = (
        "mutation ($id: String!, $stars: Int!) { command { communication_message_rate("
        "aggregateIdentifier: {id: $id}, data: {stars: $stars}) { id } } }"
    )
    identified = f'aggregateIdentifier: {{id: "{aggregate_id}"}}'
    cases: dict[str, tuple[str, dict[str, Any], str]] = {
        "unknown command field": (
            f"mutation {{ command {{ communication_message_shout({identified}) {{ id }} }} }}",
            {},
            "GRAPHQL_VALIDATION_FAILED",
        ),
        "a literal of the wrong type": (
            "mutation { command { communication_message_send("
            f"{identified}, data: {{text: 42}}) {{ id }} }} }}",
            {},
            "GRAPHQL_VALIDATION_FAILED",
        ),
        "a variable missing": (SEND, {"id": aggregate_id}, "BAD_USER_INPUT"),
        "data the schema refuses": (rate, {"id": aggregate_id, "stars": 6}, "CommandMalformed"),
        "an aggregate id that is no uuid": (
            SEND,
            {"id": "not-a-uuid", "text": "hi"},
            "CommandMalformed",
        ),
        "a cancel of nothing": (
            'mutation { cancel(commandIdentifier: {aggregateIdentifier: {context: {name: "x"}, '
            'aggregate: {name: "y", id: "nope"}}, name: "z", id: "nope"}) { success } }',
            {},
            "ItemIdentifierMalformed",
        ),
        "a syntax error": ("mutation { command {", {}, "GRAPHQL_PARSE_FAILED"),
    }
    # Each twice: the second time, the parsed and validated operation is remembered.
    for name, (query, variables, code) in [*cases.items(), *cases.items()]:
        body = (await graphql.run(query, variables)).json()
        assert [error["extensions"]["code"] for error in body["errors"]] == [code], name
    await asyncio.sleep(0.2)
    assert await stored_events(graphql_server, aggregate_id) == []


async def test_json_that_is_no_json_or_beyond_the_limits_is_a_malformed_request(
    graphql: GraphqlClient, graphql_server: Serving
) -> None:
    # Nesting deeper than the recursion limit, a lone surrogate, and no JSON at all: each a
    # 400 with the reference's code in GraphQL's shape, and nothing queued or stored.
    aggregate_id = str(uuid.uuid4())
    deep = "[" * 1_000 + "]" * 1_000
    send = json.dumps(SEND)
    bodies = {
        "deep variables": f'{{"query":{send},"variables":{{"id":"{aggregate_id}","x":{deep}}}}}',
        "a lone surrogate": (
            f'{{"query":{send},"variables":{{"id":"{aggregate_id}","text":"a\\ud800"}}}}'
        ),
        "no JSON": "{nope",
    }
    responses = {
        name: await graphql.http.post(
            GRAPHQL, content=body, headers={"content-type": "application/json"}
        )
        for name, body in bodies.items()
    }
    # Over GET only queries run (a mutation is refused with 405 before its variables are read).
    responses["deep variables in the query string"] = await graphql.http.get(
        GRAPHQL, params={"query": MESSAGES, "variables": f'{{"x":{deep}}}'}
    )

    for name, response in responses.items():
        assert response.status_code == 400, name
        codes = [error["extensions"]["code"] for error in response.json()["errors"]]
        assert codes == ["RequestMalformed"], name
    assert await graphql_server.runtime.command_queue.lock_next() is None
    assert await stored_events(graphql_server, aggregate_id) == []


async def test_tokens_work_as_on_http_and_an_invalid_one_is_refused(
    graphql: GraphqlClient, keys: Keys
) -> None:
    aggregate_id = str(uuid.uuid4())
    jane = {"authorization": f"Bearer {token_for(keys, 'jane')}"}
    accepted = await graphql.run(SEND, {"id": aggregate_id, "text": "signed"}, headers=jane)
    refused = await graphql.run(
        SEND, {"id": aggregate_id, "text": "forged"}, headers={"authorization": "Bearer nonsense"}
    )

    assert accepted.status_code == 200
    assert "errors" not in accepted.json()
    assert refused.status_code == 401
    assert [error["extensions"]["code"] for error in refused.json()["errors"]] == [
        "NotAuthenticated"
    ]


async def test_the_schema_is_introspectable_and_describes_commands(
    graphql: GraphqlClient,
) -> None:
    data = await graphql.data(
        '{ __type(name: "command") { fields { name description args { name } } } }'
    )
    fields = {field["name"]: field for field in data["__type"]["fields"]}
    assert fields["communication_message_send"]["description"] == "Sends a new message."
    assert [argument["name"] for argument in fields["communication_message_send"]["args"]] == [
        "aggregateIdentifier",
        "data",
    ]
    # ``like`` has no data properties, so it takes no data.
    assert [argument["name"] for argument in fields["communication_message_like"]["args"]] == [
        "aggregateIdentifier"
    ]


async def test_a_mutation_over_get_is_refused_with_405_naming_post(
    graphql: GraphqlClient, graphql_server: Serving
) -> None:
    # GraphQL over HTTP: GET is safe, so it must not run a mutation; the answer is 405 with
    # `Allow: POST`, and the command is not sent. A query over GET still runs.
    aggregate_id = str(uuid.uuid4())
    variables = json.dumps({"id": aggregate_id, "text": "over GET"})
    refused = await graphql.http.get(GRAPHQL, params={"query": SEND, "variables": variables})
    named = await graphql.http.get(
        GRAPHQL, params={"query": SEND, "variables": variables, "operationName": "Send"}
    )
    listed = await graphql.http.get(GRAPHQL, params={"query": MESSAGES})

    for response in (refused, named):
        assert response.status_code == 405, response.text
        assert response.headers["allow"] == "POST"
        [error] = response.json()["errors"]
        assert "POST" in error["message"]
    assert listed.status_code == 200, listed.text
    assert "messages" in listed.json()["data"]
    assert await stored_events(graphql_server, aggregate_id) == []
