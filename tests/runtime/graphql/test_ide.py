"""The GraphQL IDE: GraphiQL with vendored assets, on when asked for (``wk dev`` asks)."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.cli.test_dev_persistence import dev, post
from tests.runtime.chromium import Page, find_chromium, open_page
from tests.runtime.conftest import StartServer
from wolkenkit.runtime.server import Serving
from wolkenkit.scaffolds import create_project
from wolkenkit.testing.cluster import PATIENCE_SECONDS

QUERY = "{ messages { all { text likes } } }"


async def test_the_ide_is_served_only_when_enabled_with_only_vendored_assets(
    start_server: StartServer,
) -> None:
    disabled = start_server(GRAPHQL_API={"enableIntegratedClient": False})
    async with disabled as running, _client(running) as client:
        assert (await client.get("/graphql/v2")).status_code == 405
        assert (await client.get("/graphql/v2/assets/graphiql.min.js")).status_code == 404
    enabled = start_server(GRAPHQL_API={"enableIntegratedClient": True})
    async with enabled as running, _client(running) as client:
        page = await client.get("/graphql/v2")
        sources = re.findall(r'(?:src|href)="([^"]+)"', page.text)
        assets = [await client.get(source) for source in sources if source != "data:,"]
        unknown = await client.get("/graphql/v2/assets/README.md")

    assert page.status_code == 200
    assert "<title>chat | GraphQL</title>" in page.text
    assert len(assets) == 4
    assert all(asset.status_code == 200 for asset in assets)
    assert all(
        str(asset.url).startswith(f"http://127.0.0.1:{running.port}/graphql/v2/assets/")
        for asset in assets
    )
    assert "immutable" in assets[0].headers["cache-control"]
    assert unknown.status_code == 404


async def test_the_ide_of_wk_dev_runs_a_typed_query_in_a_browser(tmp_path: Path) -> None:
    # wk dev turns the IDE on. The page loads everything from our server, and a query typed
    # into its editor and run shows the view's data.
    executable = find_chromium()
    if executable is None:
        pytest.skip("Chromium is not installed")
    app = create_project("chat", template="chat", directory=tmp_path / "chat")
    with dev(app, "--in-memory") as port:
        post(port, "/command/v2/communication/message/send", {"text": "Hello, GraphiQL!"})
        base = f"http://127.0.0.1:{port}"
        async with open_page(executable, f"{base}/graphql/v2") as page:
            await page.send(
                "Emulation.setDeviceMetricsOverride",
                width=1280,
                height=800,
                deviceScaleFactor=1,
                mobile=False,
            )
            editor = "document.querySelector('.graphiql-query-editor .CodeMirror')"
            await page.wait_for(editor)
            await page.evaluate(f"{editor}.CodeMirror.setValue(''); {editor}.CodeMirror.focus()")
            await page.send("Input.insertText", text=QUERY)
            typed = await page.evaluate(f"{editor}.CodeMirror.getValue()")
            result = await _run(page)
            screenshot = await page.send("Page.captureScreenshot", format="png")

    (tmp_path / "graphiql.png").write_bytes(base64.b64decode(screenshot["data"]))
    assert typed.replace(" ", "").startswith(QUERY.replace(" ", "")[:20])
    assert result["data"]["messages"]["all"] == [{"text": "Hello, GraphiQL!", "likes": 0}]
    # data: URLs (the stylesheet's icons) are inline, not requests.
    fetched = {url: status for url, status in page.statuses.items() if not url.startswith("data:")}
    assert all(url.startswith(f"{base}/") for url in fetched), list(fetched)
    assert all(status == 200 for status in fetched.values()), fetched
    assert page.failed == []
    assert page.errors == []


def _client(running: Serving) -> httpx.AsyncClient:
    return httpx.AsyncClient(base_url=f"http://127.0.0.1:{running.port}")


async def _run(page: Page) -> dict[str, Any]:
    """Clicks the run button until the response editor shows the message (the flow fills the
    view a moment after the command)."""
    response = "document.querySelector('.graphiql-response .CodeMirror').CodeMirror.getValue()"
    async with asyncio.timeout(PATIENCE_SECONDS):
        while True:
            await page.evaluate("document.querySelector('.graphiql-execute-button').click()")
            await page.wait_for(f"{response}.includes('data')")
            result: dict[str, Any] = json.loads(await page.evaluate(response))
            if result.get("data", {}).get("messages", {}).get("all"):
                return result
            await asyncio.sleep(0.2)
