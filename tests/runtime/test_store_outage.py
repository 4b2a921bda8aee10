"""A store that fails is the server's fault: clients get 500 ``UnknownError``, not its details."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.runtime.conftest import StartServer
from tests.stores.postgres.conftest import SERVER, _connect
from wolkenkit.messages import new_id
from wolkenkit.runtime.server import Serving

pytestmark = pytest.mark.postgres


@pytest.fixture
async def broken_queue_server(start_server: StartServer) -> AsyncIterator[Serving]:
    """A runtime whose command queue lives on PostgreSQL, broken once it has started: its
    tables are dropped behind its back, so every query fails in the driver."""
    schema = f"test_{new_id().replace('-', '')}"
    queue = {**SERVER, "schema": schema, "expirationTime": 30_000}
    connection = await _connect()
    try:
        async with start_server(
            PRIORITY_QUEUE_STORE_FOR_COMMANDS_OPTIONS=queue,
            GRAPHQL_API={"enableIntegratedClient": False},
        ) as running:
            await connection.execute(f'DROP SCHEMA "{schema}" CASCADE')
            yield running
    finally:
        await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await connection.close()


def _mentions_the_driver(body: Any) -> bool:
    return "does not exist" in str(body) or "Postgres" in str(body)


async def test_a_command_meeting_a_broken_store_is_an_unknown_error(
    broken_queue_server: Serving, caplog: pytest.LogCaptureFixture
) -> None:
    # The command cannot be queued: that is no fault of the request, and the driver's words
    # are for the operator's log only.
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{broken_queue_server.port}", timeout=10
    ) as client:
        with caplog.at_level(logging.ERROR, logger="wolkenkit.runtime.http"):
            response = await client.post(
                "/command/v2/communication/message/send",
                json={"text": "Hi"},
                headers={"origin": "https://app.example.com"},
            )

    assert response.status_code == 500
    assert response.json() == {"code": "UnknownError", "message": "Unknown error."}
    # An error answers with the headers every answer has: a browser may read it, and no
    # cache keeps it.
    assert response.headers["access-control-allow-origin"] == "*"
    assert "no-store" in response.headers["cache-control"]
    assert any(_mentions_the_driver(record.getMessage()) for record in caplog.records)


async def test_a_mutation_meeting_a_broken_store_is_an_unknown_error(
    broken_queue_server: Serving,
) -> None:
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{broken_queue_server.port}", timeout=10
    ) as client:
        response = await client.post(
            "/graphql/v2",
            json={
                "query": 'mutation { command { communication_message_send(data: {text: "Hi"}) '
                "{ id } } }"
            },
        )

    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "UnknownError"
    assert error["message"] == "Unknown error."
    assert not _mentions_the_driver(response.json())
