"""Wrong methods are answered with what is allowed; an empty ``?token=`` is no token."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

import httpx
import pytest

from tests.runtime.conftest import StartServer
from wolkenkit.runtime.server import Serving

FILE_ID = "03edebb0-7a36-4902-a082-ef979982a12c"
MESSAGE = "/command/v2/communication/message"
ROOM = "d2edbbf7-a515-4b66-9567-dd931f1690d3"


@pytest.fixture
async def graphql_client(start_server: StartServer) -> AsyncIterator[httpx.AsyncClient]:
    async with (
        start_server(GRAPHQL_API={"enableIntegratedClient": False}) as running,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{running.port}") as client,
    ):
        yield client


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("GET", f"{MESSAGE}/{ROOM}/send", {"POST"}),
        ("POST", f"/files/v2/file/{FILE_ID}", {"GET", "HEAD"}),
        ("PUT", "/perform-replay/v2", {"POST"}),
        ("DELETE", "/domain-events/v2", {"GET", "HEAD"}),
        ("POST", "/", {"GET", "HEAD"}),
        ("POST", "/client/", {"GET", "HEAD"}),
        ("PATCH", "/graphql/v2", {"GET", "HEAD", "POST"}),
        ("DELETE", "/graphql/v2/", {"GET", "HEAD", "POST"}),
    ],
)
async def test_a_wrong_method_is_told_which_are_allowed(
    graphql_client: httpx.AsyncClient, method: str, path: str, allowed: set[str]
) -> None:
    # RFC 9110 §15.5.6: a 405 must say in `Allow` which methods the resource supports.
    response = await graphql_client.request(method, path)

    assert response.status_code == 405
    assert {entry.strip() for entry in response.headers["allow"].split(",")} == allowed
    assert response.json() == {
        "code": "RequestMalformed",
        "message": f"Method {method} is not allowed.",
    }


async def test_an_empty_token_is_no_token(client: httpx.AsyncClient, server: Serving) -> None:
    # As in the reference, `?token=` with nothing in it is no token: the caller is anonymous.
    # So replays, which need an authenticated caller, are refused with 401 as without it.
    replay = await client.post("/perform-replay/v2?token=", json={"aggregates": []})
    command = await client.post(f"{MESSAGE}/{ROOM}/send?token=", json={"text": "hi"})
    description = await client.get("/command/v2/description?token=")
    two_tokens = await client.post("/perform-replay/v2?token=&token=", json={"aggregates": []})
    async with client.stream("GET", "/domain-events/v2?token=") as stream:
        first_line = await anext(stream.aiter_lines())

    assert (replay.status_code, replay.json()["code"]) == (401, "NotAuthenticated")
    assert command.status_code == 200
    assert description.status_code == 200
    assert (stream.status_code, json.loads(first_line)) == (200, {"name": "heartbeat"})
    # Several tokens are still malformed (a non-string `token` in the reference).
    assert (two_tokens.status_code, two_tokens.json()["code"]) == (400, "RequestMalformed")
