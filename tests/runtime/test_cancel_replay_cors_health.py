"""Cancelling queued commands, triggering replays, CORS, and the health port."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest

from tests.domain.chat_app import Empty, MessageState, build_application
from tests.runtime.conftest import Keys, StartServer
from tests.runtime.streams import open_stream
from wolkenkit import Aggregate, Everyone
from wolkenkit.runtime.server import Serving

AGGREGATE_ID = "d2edbbf7-a515-4b66-9567-dd931f1690d3"
MESSAGE = "/command/v2/communication/message"


#: Commands the tests add to the chat aggregate (they publish nothing, so need no events).
extra = Aggregate(MessageState, authorize=Everyone)


@extra.command
async def slow(command: Empty) -> None:
    """Keeps its aggregate busy for a while, so commands behind it wait in the queue."""
    await asyncio.sleep(0.5)


@pytest.fixture
async def slow_server(start_server: StartServer, keys: Keys) -> AsyncIterator[Serving]:
    providers = [{"issuer": keys.issuer, "certificate": str(keys.directory)}]
    application = build_application(extra_commands=extra.command_handlers)
    async with start_server(application, IDENTITY_PROVIDERS=providers) as running:
        yield running


@pytest.fixture
async def slow_client(slow_server: Serving) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{slow_server.port}") as client:
        yield client


def cancel_body(command_id: str) -> dict[str, Any]:
    return {
        "aggregateIdentifier": {
            "context": {"name": "communication"},
            "aggregate": {"name": "message", "id": AGGREGATE_ID},
        },
        "name": "send",
        "id": command_id,
    }


async def test_a_queued_command_can_be_cancelled_by_its_sender_only(
    slow_client: httpx.AsyncClient,
) -> None:
    jane = {"x-anonymous-id": "jane"}
    async with open_stream(slow_client, "/domain-events/v2", headers=jane) as (_, events):
        await slow_client.post(f"{MESSAGE}/{AGGREGATE_ID}/slow", json={}, headers=jane)
        await asyncio.sleep(0.1)  # the slow command is being handled now
        queued = await slow_client.post(
            f"{MESSAGE}/{AGGREGATE_ID}/send", json={"text": "never"}, headers=jane
        )
        command_id = queued.json()["id"]

        by_john = await slow_client.post(
            "/command/v2/cancel", json=cancel_body(command_id), headers={"x-anonymous-id": "john"}
        )
        by_jane = await slow_client.post(
            "/command/v2/cancel", json=cancel_body(command_id), headers=jane
        )
        again = await slow_client.post(
            "/command/v2/cancel", json=cancel_body(command_id), headers=jane
        )
        # The next command on the aggregate is the first to produce an event.
        await slow_client.post(f"{MESSAGE}/{AGGREGATE_ID}/send", json={"text": "yes"}, headers=jane)
        event = await events.next_document()

    assert (by_john.status_code, by_john.json()["code"]) == (404, "ItemNotFound")
    assert (by_jane.status_code, by_jane.json()) == (200, {})
    assert (again.status_code, again.json()["code"]) == (404, "ItemNotFound")
    assert (event["name"], event["data"]) == ("sent", {"text": "yes"})


async def test_an_authenticated_caller_can_replay_events_into_a_flow(
    slow_client: httpx.AsyncClient, slow_server: Serving, keys: Keys
) -> None:
    sent = await slow_client.post(f"{MESSAGE}/{AGGREGATE_ID}/send", json={"text": "Hi"})
    assert sent.status_code == 200
    view: list[dict[str, Any]] = slow_server.runtime.domain.infrastructure.ask["messages"]
    for _ in range(100):
        if view:
            break
        await asyncio.sleep(0.02)
    view.clear()
    await slow_server.runtime.consumer_progress_store.reset_progress("messages")

    signed = jwt.encode(
        {"iss": keys.issuer, "sub": "operator", "exp": int(time.time()) + 60},
        keys.private_pem,
        algorithm="RS256",
    )
    body = {
        "flowNames": ["messages"],
        "aggregates": [
            {
                "aggregateIdentifier": cancel_body(AGGREGATE_ID)["aggregateIdentifier"],
                "from": 1,
                "to": 1,
            }
        ],
    }
    response = await slow_client.post(
        "/perform-replay/v2", json=body, headers={"authorization": f"Bearer {signed}"}
    )
    unknown_flow = await slow_client.post(
        "/perform-replay/v2",
        json={**body, "flowNames": ["nope"]},
        headers={"authorization": f"Bearer {signed}"},
    )

    assert (response.status_code, response.json()) == (200, {})
    assert (unknown_flow.status_code, unknown_flow.json()["code"]) == (400, "FlowNotFound")
    for _ in range(100):
        if view:
            break
        await asyncio.sleep(0.02)
    assert [message["text"] for message in view] == ["Hi"]


async def test_cors_allows_configured_origins(start_server: StartServer) -> None:
    async with (
        start_server(CORS_ORIGIN=["https://app.example.com", "/^https://.*\\.test$/"]) as running,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{running.port}") as client,
    ):
        allowed = await client.get(
            "/command/v2/description", headers={"origin": "https://app.example.com"}
        )
        pattern = await client.get("/command/v2/description", headers={"origin": "https://x.test"})
        other = await client.get("/command/v2/description", headers={"origin": "https://evil.com"})
        preflight = await client.options(
            f"{MESSAGE}/send",
            headers={
                "origin": "https://app.example.com",
                "access-control-request-method": "POST",
                "access-control-request-headers": "content-type",
            },
        )

    assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
    assert pattern.headers["access-control-allow-origin"] == "https://x.test"
    assert "access-control-allow-origin" not in other.headers
    assert preflight.status_code == 200


async def test_health_is_served_on_its_own_port(server: Serving) -> None:
    async with httpx.AsyncClient() as client:
        health = await client.get(f"http://127.0.0.1:{server.health_port}/health/v2")
        not_on_api = await client.get(f"http://127.0.0.1:{server.port}/health/v2")

    assert health.status_code == 200
    assert set(health.json()) >= {"host", "process", "cpuUsage", "memoryUsage", "diskUsage"}
    assert not_on_api.status_code == 404


async def test_health_reports_memory_under_the_references_names(server: Serving) -> None:
    # The reference's five figures, in bytes; ours split the resident size into the heaps'
    # part and the rest (see docs/running-an-application.md).
    async with httpx.AsyncClient() as client:
        health = await client.get(f"http://127.0.0.1:{server.health_port}/health/v2")
    memory = health.json()["memoryUsage"]

    assert set(memory) == {"rss", "maxRss", "heapTotal", "heapUsed", "external"}
    assert all(isinstance(value, int) and value > 0 for value in memory.values())
    assert memory["rss"] == memory["heapUsed"] + memory["external"]
    assert memory["heapUsed"] <= memory["heapTotal"]
