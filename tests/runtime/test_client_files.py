"""``/client/``: an app's ``client/`` folder is served as static files, and linked from ``/``."""

from __future__ import annotations

import httpx

from tests.domain.chat_app import build_application
from tests.runtime.conftest import StartServer


async def test_the_chat_samples_client_is_served(client: httpx.AsyncClient) -> None:
    page = await client.get("/client/")
    script = await client.get("/client/app.js")
    landing = await client.get("/")

    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert '<script src="app.js"></script>' in page.text
    assert script.status_code == 200
    assert "javascript" in script.headers["content-type"]
    assert '<a href="/client/">' in landing.text


async def test_only_the_client_folder_is_served(client: httpx.AsyncClient) -> None:
    # The app's other files are no one's business.
    for path in ("/client/../pyproject.toml", "/client/%2e%2e/pyproject.toml", "/client/nope.js"):
        response = await client.get(path)
        assert response.status_code == 404, path


async def test_an_app_without_a_client_folder_has_no_client(start_server: StartServer) -> None:
    async with (
        start_server(build_application()) as running,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{running.port}") as http,
    ):
        page = await http.get("/client/")
        landing = await http.get("/")

    assert page.status_code == 404
    assert page.json()["code"] == "NotFound"
    assert "/client/" not in landing.text
