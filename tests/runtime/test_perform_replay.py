"""The replay route: an authenticated caller replays an aggregate's events into a flow."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import httpx
import jwt
import pytest

from tests.domain.chat_app import build_application
from tests.runtime.conftest import Keys, StartServer
from wolkenkit.runtime.server import Serving

AGGREGATE_ID = "d2edbbf7-a515-4b66-9567-dd931f1690d3"
MESSAGE = "/command/v2/communication/message"
AGGREGATE_IDENTIFIER: dict[str, Any] = {
    "context": {"name": "communication"},
    "aggregate": {"name": "message", "id": AGGREGATE_ID},
}


@pytest.fixture
async def server(start_server: StartServer, keys: Keys) -> AsyncIterator[Serving]:
    # The chat whose flow keeps its messages in the infrastructure, where the test sees them.
    providers = [{"issuer": keys.issuer, "certificate": str(keys.directory)}]
    async with start_server(build_application(), IDENTITY_PROVIDERS=providers) as running:
        yield running


async def test_an_authenticated_caller_can_replay_events_into_a_flow(
    client: httpx.AsyncClient, server: Serving, keys: Keys
) -> None:
    sent = await client.post(f"{MESSAGE}/{AGGREGATE_ID}/send", json={"text": "Hi"})
    assert sent.status_code == 200
    view: list[dict[str, Any]] = server.runtime.domain.infrastructure.ask["messages"]
    for _ in range(100):
        if view:
            break
        await asyncio.sleep(0.02)
    view.clear()
    await server.runtime.consumer_progress_store.reset_progress("messages")

    signed = jwt.encode(
        {"iss": keys.issuer, "sub": "operator", "exp": int(time.time()) + 60},
        keys.private_pem,
        algorithm="RS256",
    )
    body = {
        "flowNames": ["messages"],
        "aggregates": [
            {
                "aggregateIdentifier": AGGREGATE_IDENTIFIER,
                "from": 1,
                "to": 1,
            }
        ],
    }
    response = await client.post(
        "/perform-replay/v2", json=body, headers={"authorization": f"Bearer {signed}"}
    )
    unknown_flow = await client.post(
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
