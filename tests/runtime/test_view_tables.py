"""An app's view tables in the runtime: a flow writes them, a query reads them over HTTP, in
the view store ``VIEW_STORE_OPTIONS`` names."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.application.app_files import write_app
from tests.application.table_app import FILES
from tests.runtime.conftest import StartServer
from wolkenkit import load_application
from wolkenkit.runtime.server import Serving


async def _messages(server: Serving, count: int) -> list[dict[str, Any]]:
    """The view's messages once the flow has written ``count`` of them."""
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", timeout=10) as client:
        for _ in range(500):
            response = await client.get("/views/v2/messages/stream/all")
            assert response.status_code == 200, response.text
            items = [json.loads(line) for line in response.text.splitlines() if line]
            if len(items) >= count:
                return items
            await asyncio.sleep(0.02)
    raise AssertionError(f"The view never held {count} messages.")


async def _send(server: Serving, text: str) -> None:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", timeout=10) as client:
        response = await client.post("/command/v2/communication/message/send", json={"text": text})
        assert response.status_code == 200, response.text


def _sqlite(tmp_path: Path) -> dict[str, Any]:
    return {"type": "Sqlite", "fileName": str(tmp_path / "views.db")}


@pytest.mark.parametrize("store", ["InMemory", "Sqlite"])
async def test_a_flow_writes_a_table_that_a_query_reads_over_http(
    tmp_path: Path, start_server: StartServer, store: str
) -> None:
    application = load_application(write_app(tmp_path / "app", FILES))
    options = {"type": "InMemory"} if store == "InMemory" else _sqlite(tmp_path)

    async with start_server(application, VIEW_STORE_OPTIONS=options) as server:
        await _send(server, "First")
        await _messages(server, 1)
        await _send(server, "Second")
        messages = await _messages(server, 2)

    assert [message["text"] for message in messages] == ["First", "Second"]
    assert messages[0]["timestamp"] <= messages[1]["timestamp"]


async def test_a_tables_rows_outlive_the_runtime_in_sqlite(
    tmp_path: Path, start_server: StartServer
) -> None:
    directory = write_app(tmp_path / "app", FILES)

    async with start_server(
        load_application(directory), VIEW_STORE_OPTIONS=_sqlite(tmp_path)
    ) as server:
        await _send(server, "Kept")
        await _messages(server, 1)
    async with start_server(
        load_application(directory), VIEW_STORE_OPTIONS=_sqlite(tmp_path)
    ) as server:
        messages = await _messages(server, 1)

    assert [message["text"] for message in messages] == ["Kept"]
