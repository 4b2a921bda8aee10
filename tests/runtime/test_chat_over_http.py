"""The chat sample over HTTP, as the README's curl examples use it."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx

from tests.runtime.streams import open_stream


async def wait_for_view(client: httpx.AsyncClient, predicate: Any) -> list[Any]:
    for _ in range(100):
        response = await client.get("/views/v2/messages/stream/all")
        items = [line for line in response.text.splitlines() if line]
        documents = [json.loads(item) for item in items]
        if predicate(documents):
            return documents
        await asyncio.sleep(0.02)
    raise AssertionError("the view never matched")


async def test_send_like_query_and_subscribe(client: httpx.AsyncClient) -> None:
    async with (
        open_stream(client, "/domain-events/v2") as (events_response, events),
        open_stream(client, "/notifications/v2") as (_, notifications),
    ):
        assert events_response.headers["content-type"].startswith("application/x-ndjson")

        sent = await client.post(
            "/command/v2/communication/message/send", json={"text": "Hello, world!"}
        )
        assert sent.status_code == 200
        body = sent.json()
        aggregate_id = body["aggregateIdentifier"]["aggregate"]["id"]
        assert set(body) == {"id", "aggregateIdentifier"}
        # Two ids, as the reference draws them: clients may count on them differing.
        assert aggregate_id != body["id"]

        event = await events.next_document()
        assert event["name"] == "sent"
        assert event["data"] == {"text": "Hello, world!"}
        assert event["aggregateIdentifier"] == {
            "context": {"name": "communication"},
            "aggregate": {"name": "message", "id": aggregate_id},
        }
        assert event["metadata"]["causationId"] == body["id"]
        assert event["metadata"]["revision"] == 1
        assert "state" not in event

        liked = await client.post(f"/command/v2/communication/message/{aggregate_id}/like", json={})
        assert liked.status_code == 200
        assert liked.json()["aggregateIdentifier"]["aggregate"]["id"] == aggregate_id
        like_event = await events.next_document()
        assert (like_event["name"], like_event["data"]) == ("liked", {"likes": 1})

        names = {(await notifications.next_document())["name"] for _ in range(2)}
        assert names == {"flowMessagesUpdated", "viewMessagesUpdated"}

    items = await wait_for_view(client, lambda items: items and items[0]["likes"] == 1)
    assert items[0]["text"] == "Hello, world!"
    assert items[0]["id"] == aggregate_id


async def test_a_rejected_command_reaches_only_its_sender(client: httpx.AsyncClient) -> None:
    async with (
        open_stream(client, "/domain-events/v2", headers={"x-anonymous-id": "jane"}) as (_, jane),
        open_stream(client, "/domain-events/v2", headers={"x-anonymous-id": "john"}) as (_, john),
    ):
        aggregate = "d2edbbf7-a515-4b66-9567-dd931f1690d3"
        response = await client.post(
            f"/command/v2/communication/message/{aggregate}/like",
            json={},
            headers={"x-anonymous-id": "jane"},
        )
        assert response.status_code == 200

        rejected = await jane.next_document()
        assert rejected["name"] == "likeRejected"
        assert rejected["data"] == {"reason": "Message was not yet sent."}
        # John sees the next real event, not Jane's rejection.
        await client.post("/command/v2/communication/message/send", json={"text": "Hi"})
        assert (await john.next_document())["name"] == "sent"


async def test_the_domain_event_stream_filters_and_accepts_a_token_parameter(
    client: httpx.AsyncClient,
) -> None:
    url = '/domain-events/v2?filter={"name":"liked"}'
    async with open_stream(client, url) as (_, events):
        sent = await client.post("/command/v2/communication/message/send", json={"text": "Hi"})
        aggregate_id = sent.json()["aggregateIdentifier"]["aggregate"]["id"]
        await client.post(f"/command/v2/communication/message/{aggregate_id}/like", json={})

        assert (await events.next_document())["name"] == "liked"


async def test_heartbeats_keep_quiet_streams_alive(client: httpx.AsyncClient) -> None:
    # The test server's heartbeat interval is one second.
    async with open_stream(client, "/notifications/v2") as (_, notifications):
        heartbeat = await notifications.next_document(within=3, skip_heartbeats=False)

    assert heartbeat == {"name": "heartbeat"}


async def test_descriptions_and_landing_page(client: httpx.AsyncClient) -> None:
    commands = (await client.get("/command/v2/description")).json()
    events = (await client.get("/domain-events/v2/description")).json()
    views = (await client.get("/views/v2/description")).json()
    notifications = (await client.get("/notifications/v2/description")).json()
    landing = await client.get("/")

    assert commands["communication"]["message"]["send"]["schema"]["required"] == ["text"]
    assert "sendRejected" in events["communication"]["message"]
    assert "itemSchema" in views["messages"]["all"]
    assert set(notifications) == {"flowMessagesUpdated", "viewMessagesUpdated"}
    assert landing.status_code == 200
    assert "text/html" in landing.headers["content-type"]
