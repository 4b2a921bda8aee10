"""The chat sample on the microservice runtime: each service its own process, sharing only
PostgreSQL and Redis; driven through the public APIs."""

from __future__ import annotations

import asyncio
import json
import signal
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from tests.runtime.conftest import Keys
from tests.runtime.streams import open_stream
from tests.runtime.test_bad_input import token
from wolkenkit.scaffolds import create_project
from wolkenkit.testing.cluster import (
    LOCAL_POSTGRES,
    PATIENCE_SECONDS,
    Cluster,
    running_cluster,
)

pytestmark = [pytest.mark.postgres, pytest.mark.redis]

PUBLIC = ["command", "domain-event", "view", "notification", "file", "replay"]
WORKERS = ["domain", "flow"]


@pytest.fixture(scope="module")
def chat(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return create_project("chat", template="chat", directory=tmp_path_factory.mktemp("ms") / "chat")


@pytest.fixture
def cluster(chat: Path, tmp_path: Path) -> Iterator[Cluster]:
    with running_cluster(chat, tmp_path) as started:
        yield started


async def view_items(client: httpx.AsyncClient, url: str) -> list[dict[str, Any]]:
    response = await client.get(f"{url}/views/v2/messages/stream/all")
    return [json.loads(line) for line in response.text.splitlines() if line]


async def wait_for(condition: Any, seconds: float = PATIENCE_SECONDS) -> None:
    for _ in range(int(seconds / 0.05)):
        if await condition():
            return
        await asyncio.sleep(0.05)
    raise AssertionError("the condition never held")


async def test_the_chat_scenario_runs_through_the_public_services(cluster: Cluster) -> None:
    services = {name: cluster.start(name) for name in [*WORKERS, *PUBLIC]}
    services["graphql"] = cluster.start(
        "graphql", GRAPHQL_API=json.dumps({"enableIntegratedClient": False})
    )
    async with httpx.AsyncClient(timeout=10) as client:
        events_url = f"{services['domain-event'].url}/domain-events/v2"
        notifications_url = f"{services['notification'].url}/notifications/v2"
        async with (
            open_stream(client, events_url) as (_, events),
            open_stream(client, notifications_url) as (_, notifications),
        ):
            # Subscriptions are live once the first heartbeat arrived; Redis delivers from now.
            sent = await client.post(
                f"{services['command'].url}/command/v2/communication/message/send",
                json={"text": "Hello, microservices!"},
            )
            assert sent.status_code == 200
            aggregate_id = sent.json()["aggregateIdentifier"]["aggregate"]["id"]
            event = await events.next_document(within=10)
            assert (event["name"], event["data"]) == ("sent", {"text": "Hello, microservices!"})

            await client.post(
                f"{services['command'].url}/command/v2/communication/message/{aggregate_id}/like",
                json={},
            )
            liked = await events.next_document(within=10)
            assert (liked["name"], liked["data"]) == ("liked", {"likes": 1})

            names = {(await notifications.next_document(within=10))["name"] for _ in range(2)}
            assert names == {"flowMessagesUpdated", "viewMessagesUpdated"}

        view_url = services["view"].url

        async def liked_in_view() -> bool:
            items = await view_items(client, view_url)
            return bool(items) and items[0]["likes"] == 1

        await wait_for(liked_in_view)

        file_id = "03edebb0-7a36-4902-a082-ef979982a12c"
        files = services["file"].url
        added = await client.post(
            f"{files}/files/v2/add-file",
            content=b"Hello, world!",
            headers={"x-id": file_id, "x-name": "hello.txt", "content-type": "text/plain"},
        )
        fetched = await client.get(f"{files}/files/v2/file/{file_id}")
        assert added.status_code == 200
        assert fetched.content == b"Hello, world!"

        # GraphQL: a mutation through the GraphQL service, and the view it changes.
        graphql = f"{services['graphql'].url}/graphql/v2"
        mutation = await client.post(
            graphql,
            json={
                "query": 'mutation { command { communication_message_send(data: {text: "Via '
                'GraphQL"}) { id aggregateIdentifier { id } } } }'
            },
        )
        assert "errors" not in mutation.json(), mutation.json()

        async def graphql_view_has_it() -> bool:
            answer = await client.post(graphql, json={"query": "{ messages { all { text } } }"})
            texts = [item["text"] for item in answer.json()["data"]["messages"]["all"]]
            return "Via GraphQL" in texts

        await wait_for(graphql_view_has_it)


async def test_two_domain_workers_handle_every_command_exactly_once_even_if_one_is_killed(
    cluster: Cluster,
) -> None:
    # 100 messages, each liked 19 times: 2,000 commands over 100 aggregates.
    first = cluster.start("domain", CONCURRENT_COMMANDS="8")
    cluster.start("domain", CONCURRENT_COMMANDS="8")
    command = cluster.start("command")
    aggregates = [str(uuid.uuid4()) for _ in range(100)]
    url = f"{command.url}/command/v2/communication/message"
    command_ids: list[str] = []
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=16)) as client:

        async def post(path: str, body: dict[str, Any]) -> None:
            response = await client.post(f"{url}/{path}", json=body)
            assert response.status_code == 200, response.text
            command_ids.append(response.json()["id"])

        await asyncio.gather(
            *(post(f"{aggregate}/send", {"text": "hi"}) for aggregate in aggregates)
        )
        for round_number in range(19):
            await asyncio.gather(*(post(f"{aggregate}/like", {}) for aggregate in aggregates))
            if round_number == 5:
                first.process.send_signal(signal.SIGKILL)

    async def all_stored() -> bool:
        return len(await cluster.stored_events()) >= 2_000

    await wait_for(all_stored)
    await asyncio.sleep(cluster.expiration_ms / 1000 + 1)  # nothing more may trickle in
    events = [event.to_json() for event in await cluster.stored_events()]

    assert len(events) == 2_000
    assert sorted(event["metadata"]["causationId"] for event in events) == sorted(command_ids)
    by_aggregate: dict[str, list[int]] = {}
    for event in events:
        aggregate_id = event["aggregateIdentifier"]["aggregate"]["id"]
        by_aggregate.setdefault(aggregate_id, []).append(event["metadata"]["revision"])
    assert sorted(by_aggregate) == sorted(aggregates)
    assert all(sorted(revisions) == list(range(1, 21)) for revisions in by_aggregate.values())


async def test_the_replay_service_rebuilds_the_table_the_flow_service_writes(
    cluster: Cluster, tmp_path: Path
) -> None:
    # Across processes on PostgreSQL: the replay service rebuilds, the flow service's worker
    # holds the barrier, the view service keeps reading the table by its name.
    keys = Keys(tmp_path / "keys")
    providers = json.dumps([{"issuer": keys.issuer, "certificate": str(keys.directory)}])
    for name in WORKERS:
        cluster.start(name)
    command, view = cluster.start("command"), cluster.start("view")
    replay = cluster.start("replay", IDENTITY_PROVIDERS=providers)
    send = f"{command.url}/command/v2/communication/message/send"
    async with httpx.AsyncClient(timeout=10) as client:
        for text in ["one", "two", "three"]:
            assert (await client.post(send, json={"text": text})).status_code == 200

        async def listed(*texts: str) -> bool:
            return sorted(item["text"] for item in await view_items(client, view.url)) == sorted(
                texts
            )

        await wait_for(lambda: listed("one", "two", "three"))
        await _forget(cluster.schema, "two")
        await wait_for(lambda: listed("one", "three"))

        started = await client.post(
            f"{replay.url}/perform-replay/v2",
            json={"flowNames": ["messages"]},
            headers={"authorization": f"Bearer {token(keys)}"},
        )
        assert (started.status_code, started.json()) == (200, {})
        await wait_for(lambda: listed("one", "two", "three"))
        # The flow writes the new table from here on.
        assert (await client.post(send, json={"text": "four"})).status_code == 200
        await wait_for(lambda: listed("one", "two", "three", "four"))


async def _forget(schema: str, text: str) -> None:
    """Delete a message's row behind the services' backs."""
    connection = await asyncpg.connect(
        host=str(LOCAL_POSTGRES["hostName"]),
        port=int(str(LOCAL_POSTGRES["port"])),
        user=str(LOCAL_POSTGRES["userName"]),
        database=str(LOCAL_POSTGRES["database"]),
    )
    try:
        await connection.execute(
            f"DELETE FROM \"{schema}\".view_messages WHERE _row::jsonb ->> 'text' = $1", text
        )
    finally:
        await connection.close()
