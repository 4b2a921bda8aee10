"""Cancelling a queued command: only its sender may, and only while it waits."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
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
