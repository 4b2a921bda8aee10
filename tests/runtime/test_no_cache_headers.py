"""The no-cache headers the reference's ``nocache`` middleware sets on its API responses."""

from __future__ import annotations

import dataclasses

import httpx

from tests.domain.chat_app import build_application
from tests.runtime.conftest import StartServer
from tests.runtime.streams import open_stream
from wolkenkit import Everyone, Schema, View
from wolkenkit.runtime.server import Serving

MESSAGE = "/command/v2/communication/message"
NO_CACHE = {
    "cache-control": "no-store, no-cache, must-revalidate, proxy-revalidate",
    "pragma": "no-cache",
    "expires": "0",
    "surrogate-control": "no-store",
}
FILE_ID = "5d8f7c63-3c6b-4a3c-9f1e-7b7d3c3a2f10"


def caching_headers(response: httpx.Response) -> dict[str, str]:
    return {name: response.headers.get(name, "") for name in NO_CACHE}


async def test_api_responses_forbid_caching(server: Serving, client: httpx.AsyncClient) -> None:
    # Every API answers with the four headers: JSON, errors, HTML pages, files and streams.
    added = await client.post(
        "/files/v2/add-file",
        content=b"Hello",
        headers={"x-id": FILE_ID, "x-name": "hello.txt", "content-type": "text/plain"},
    )
    assert added.status_code == 200
    responses = [
        await client.post(f"{MESSAGE}/send", json={"text": "Hello"}),
        await client.post(f"{MESSAGE}/send", json={}),
        await client.get("/command/v2/description"),
        await client.get("/domain-events/v2/description"),
        await client.get("/views/v2/messages/stream/all"),
        await client.get("/notifications/v2/description"),
        await client.get(f"/files/v2/file/{FILE_ID}"),
        await client.get("/open-api/v2"),
        await client.get("/open-api/v2/openapi.json"),
        await client.get("/"),
        await client.get("/no/such/route"),
        await client.post("/graphql/v2", json={"query": "{ __typename }"}),
    ]
    async with httpx.AsyncClient() as health_client:
        responses.append(
            await health_client.get(f"http://127.0.0.1:{server.health_port}/health/v2")
        )
    async with open_stream(client, "/domain-events/v2") as (stream, _):
        responses.append(stream)

    for response in responses:
        assert caching_headers(response) == NO_CACHE, response.url
    assert responses[1].status_code == 400


async def test_assets_with_a_digest_in_their_url_keep_their_long_cache(
    client: httpx.AsyncClient,
) -> None:
    # Their URLs change with their content, so browsers may keep them.
    asset = await client.get("/open-api/v2/assets/swagger-ui.css")

    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert "pragma" not in asset.headers


class Nothing(Schema):
    pass


broken = View(authorize=Everyone)


@broken.value
def fails() -> Nothing:
    """A query with a bug."""
    raise RuntimeError("a bug in the app")


async def test_an_unexpected_error_answers_with_the_headers_of_every_answer(
    start_server: StartServer,
) -> None:
    # A bug is answered with 500 UnknownError, and like every other answer it forbids caching
    # and carries CORS headers, so a browser app can read it.
    chat = build_application()
    application = dataclasses.replace(chat, views={**chat.views, "broken": broken})
    async with (
        start_server(application) as running,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{running.port}") as client,
    ):
        response = await client.get(
            "/views/v2/broken/value/fails", headers={"origin": "https://app.example.com"}
        )

    assert (response.status_code, response.json()["code"]) == (500, "UnknownError")
    assert caching_headers(response) == NO_CACHE
    assert response.headers["access-control-allow-origin"] == "*"
