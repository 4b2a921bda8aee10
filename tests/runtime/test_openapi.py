"""The API documentation: the OpenAPI document, the Swagger UI page, and its assets."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests.domain.chat_app import build_application
from tests.runtime.chromium import find_chromium, open_page
from tests.runtime.conftest import StartServer, make_settings
from wolkenkit.application.application import Application
from wolkenkit.runtime.server import Serving, serving
from wolkenkit.runtime.services import Service

MESSAGE = "/command/v2/communication/message"
CONTENT_TYPES = {
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".png": "image/png",
}


async def document_of(client: httpx.AsyncClient) -> Any:
    response = await client.get("/open-api/v2/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    return response.json()


def page_references(page: str) -> list[str]:
    """Every URL the page's elements load (``src`` and ``href``)."""
    return re.findall(r'(?:src|href)="([^"]+)"', page)


@pytest.fixture
async def test_app_client(start_server: StartServer) -> AsyncIterator[httpx.AsyncClient]:
    # The tests' chat app has a value query with options, which the sample has not.
    async with (
        start_server(build_application()) as running,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{running.port}") as client,
    ):
        yield client


async def test_the_document_describes_the_chat_samples_commands(
    client: httpx.AsyncClient,
) -> None:
    # Each command has a route with the id and one without, with its own schema and docstring.
    document = await document_of(client)
    commands = (await client.get("/command/v2/description")).json()["communication"]["message"]

    assert document["openapi"].startswith("3.1")
    assert document["info"]["title"] == "chat API"
    for name in ("send", "like"):
        with_id = document["paths"][f"{MESSAGE}/{{aggregateId}}/{name}"]["post"]
        without_id = document["paths"][f"{MESSAGE}/{name}"]["post"]
        for operation in (with_id, without_id):
            body = operation["requestBody"]["content"]["application/json"]["schema"]
            assert body == commands[name]["schema"]
            assert commands[name]["documentation"] in operation["description"]
            assert operation["tags"] == ["Commands"]
            assert set(operation["responses"]) == {"200", "400", "401", "413", "415", "500"}
        assert [parameter["name"] for parameter in with_id["parameters"]] == ["aggregateId"]
    assert document["paths"][f"{MESSAGE}/{{aggregateId}}/send"]["post"]["requestBody"]["content"][
        "application/json"
    ]["schema"]["required"] == ["text"]


async def test_the_document_lists_every_route_we_serve(client: httpx.AsyncClient) -> None:
    document = await document_of(client)
    paths = document["paths"]

    assert set(paths) == {
        "/command/v2/description",
        "/command/v2/cancel",
        f"{MESSAGE}/{{aggregateId}}/send",
        f"{MESSAGE}/send",
        f"{MESSAGE}/{{aggregateId}}/like",
        f"{MESSAGE}/like",
        "/domain-events/v2/description",
        "/domain-events/v2",
        "/views/v2/description",
        "/views/v2/messages/stream/all",
        "/notifications/v2/description",
        "/notifications/v2",
        "/files/v2/add-file",
        "/files/v2/file/{id}",
        "/files/v2/remove-file",
        "/perform-replay/v2",
    }
    # Descriptions are public; everything else takes a token or serves anonymous users.
    assert paths["/views/v2/description"]["get"]["security"] == []
    assert {} in document["security"]
    assert "404" in paths["/command/v2/cancel"]["post"]["responses"]


async def test_a_microservice_documents_only_its_own_routes(
    chat_application: Application,
) -> None:
    settings = make_settings()
    async with (
        serving(settings, chat_application, frozenset({Service.COMMAND})) as running,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{running.port}") as client,
    ):
        document = await document_of(client)

    assert {path.split("/")[1] for path in document["paths"]} == {"command"}
    assert [tag["name"] for tag in document["tags"]] == ["Commands"]


async def test_streams_are_declared_as_ndjson(client: httpx.AsyncClient) -> None:
    document = await document_of(client)
    views = (await client.get("/views/v2/description")).json()
    paths = document["paths"]

    domain_events = paths["/domain-events/v2"]["get"]
    content = domain_events["responses"]["200"]["content"]
    titles = {variant["title"] for variant in content["application/x-ndjson"]["schema"]["oneOf"]}
    assert [parameter["name"] for parameter in domain_events["parameters"]] == ["filter"]
    assert {"heartbeat", "communication.message.sent", "communication.message.likeRejected"} <= (
        titles
    )
    stream = paths["/views/v2/messages/stream/all"]["get"]
    item = stream["responses"]["200"]["content"]["application/x-ndjson"]["schema"]
    assert item == views["messages"]["all"]["itemSchema"]
    assert stream["tags"] == ["Views"]
    notifications = paths["/notifications/v2"]["get"]["responses"]["200"]["content"]
    assert "application/x-ndjson" in notifications


async def test_the_document_describes_the_file_routes(client: httpx.AsyncClient) -> None:
    paths = (await document_of(client))["paths"]

    add_file = paths["/files/v2/add-file"]["post"]
    assert {parameter["name"] for parameter in add_file["parameters"]} == {"x-id", "x-name"}
    assert "409" in add_file["responses"]
    get_file = paths["/files/v2/file/{id}"]["get"]
    assert set(get_file["responses"]["200"]["headers"]) >= {"x-id", "x-name"}
    assert "404" in get_file["responses"]
    assert paths["/files/v2/remove-file"]["post"]["tags"] == ["Files"]


async def test_query_options_become_query_parameters(
    test_app_client: httpx.AsyncClient,
) -> None:
    paths = (await document_of(test_app_client))["paths"]

    by_id = paths["/views/v2/messages/value/byId"]["get"]
    assert by_id["parameters"] == [
        {"name": "id", "in": "query", "required": True, "schema": {"type": "string"}}
    ]
    assert "application/json" in by_id["responses"]["200"]["content"]
    assert "404" in by_id["responses"]
    assert paths["/views/v2/messages/stream/all"]["get"]["parameters"] == []


async def test_the_document_is_valid_openapi(client: httpx.AsyncClient) -> None:
    validation = pytest.importorskip("openapi_spec_validator")

    validation.validate(await document_of(client))


async def test_a_document_with_query_options_is_valid_openapi(
    test_app_client: httpx.AsyncClient,
) -> None:
    validation = pytest.importorskip("openapi_spec_validator")

    validation.validate(await document_of(test_app_client))


async def test_the_page_loads_only_our_assets(client: httpx.AsyncClient) -> None:
    # Everything the page loads comes from this server, with its content type and a long cache.
    page = await client.get("/open-api/v2")
    references = page_references(page.text)

    assert page.status_code == 200
    assert page.headers["content-type"] == "text/html; charset=utf-8"
    assert "<title>chat | API documentation</title>" in page.text
    assert '"/open-api/v2/openapi.json"' in page.text
    assert len(references) == 4
    for reference in references:
        assert reference.startswith("/open-api/v2/assets/")
        asset = await client.get(reference)
        suffix = re.search(r"\.\w+(?=\?|$)", reference)
        assert suffix is not None
        assert asset.status_code == 200, reference
        assert asset.headers["content-type"] == CONTENT_TYPES[suffix.group()]
        assert "max-age=31536000" in asset.headers["cache-control"]
        assert int(asset.headers["content-length"]) > 0


async def test_the_page_is_also_where_the_reference_serves_it(client: httpx.AsyncClient) -> None:
    # Bookmarks and links made for the reference's /open-api keep working.
    page = await client.get("/open-api/v2")

    for path in ("/open-api", "/open-api/"):
        response = await client.get(path, follow_redirects=True)
        assert response.status_code == 200, path
        assert response.text == page.text


async def test_only_the_vendored_assets_are_served(client: httpx.AsyncClient) -> None:
    for name in ("README.md", "LICENSE", "..%2F..%2Fapp.py", "index.html"):
        response = await client.get(f"/open-api/v2/assets/{name}")
        assert (response.status_code, response.json()["code"]) == (404, "NotFound")


async def test_without_the_setting_there_is_no_documentation(start_server: StartServer) -> None:
    async with (
        start_server(ENABLE_OPEN_API_DOCUMENTATION=False) as running,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{running.port}") as client,
    ):
        for path in (
            "/open-api",
            "/open-api/v2",
            "/open-api/v2/openapi.json",
            "/open-api/v2/assets/swagger-ui.css",
        ):
            response = await client.get(path)
            assert (response.status_code, response.json()["code"]) == (404, "NotFound")
        assert "/open-api/v2" not in (await client.get("/")).text


async def test_the_page_renders_in_a_browser(server: Serving, client: httpx.AsyncClient) -> None:
    # Swagger UI renders every operation, and the page asks nothing of any other server.
    executable = find_chromium()
    if executable is None:
        pytest.skip("Chromium is not installed")
    base = f"http://127.0.0.1:{server.port}"
    operations = sum(len(methods) for methods in (await document_of(client))["paths"].values())

    async with open_page(executable, f"{base}/open-api/v2") as page:
        await page.wait_for(f"document.querySelectorAll('.opblock').length === {operations}")
        title = await page.evaluate("document.title")
        heading = await page.evaluate("document.querySelector('.info .title').textContent")

    assert title == "chat | API documentation"
    assert heading.startswith("chat API")
    # data: URLs (the stylesheet's icons) are inline, not requests.
    fetched = {url: status for url, status in page.statuses.items() if not url.startswith("data:")}
    assert f"{base}/open-api/v2/openapi.json" in fetched
    assert all(url.startswith(f"{base}/") for url in fetched), list(fetched)
    assert all(status == 200 for status in fetched.values()), fetched
    assert page.failed == []
    assert page.errors == []
