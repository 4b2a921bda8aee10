"""Bad input gets the reference's status and code, and stores nothing."""

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

MESSAGE = "/command/v2/communication/message"
AGGREGATE_ID = "d2edbbf7-a515-4b66-9567-dd931f1690d3"
FILE_ID = "03edebb0-7a36-4902-a082-ef979982a12c"


@pytest.fixture
async def rich_server(start_server: StartServer, keys: Keys) -> AsyncIterator[Serving]:
    # The chat domain with a value query that has an options schema.
    providers = [{"issuer": keys.issuer, "certificate": str(keys.directory)}]
    async with start_server(build_application(), IDENTITY_PROVIDERS=providers) as running:
        yield running


@pytest.fixture
async def rich_client(rich_server: Serving) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{rich_server.port}") as client:
        yield client


def token(keys: Keys, **claims: Any) -> str:
    payload = {"iss": keys.issuer, "sub": "jane.doe", "exp": int(time.time()) + 60, **claims}
    return jwt.encode(payload, keys.private_pem, algorithm="RS256")


def other_keys_token(tmp_path_factory: pytest.TempPathFactory) -> str:
    stranger = Keys(tmp_path_factory.mktemp("stranger"), issuer="https://evil.example.com/")
    return token(stranger)


JSON = {"content-type": "application/json"}
#: About 1,000 levels of nesting in 2 KB: deeper than Python's recursion limit.
DEEP = "[" * 1_000 + "]" * 1_000
#: A JSON escape of half a surrogate pair: valid JSON, but no text any store can hold.
LONE_SURROGATE = '"a\\ud800b"'

CASES: list[tuple[str, str, str, dict[str, Any], int, str]] = [
    # (name, method, url, request arguments, status, code)
    (
        "unknown context",
        "POST",
        "/command/v2/nope/message/send",
        {"json": {}},
        400,
        "ContextNotFound",
    ),
    (
        "unknown aggregate",
        "POST",
        "/command/v2/communication/nope/send",
        {"json": {}},
        400,
        "AggregateNotFound",
    ),
    ("unknown command", "POST", f"{MESSAGE}/nope", {"json": {}}, 400, "CommandNotFound"),
    (
        "malformed JSON",
        "POST",
        f"{MESSAGE}/send",
        {"content": b"{nope", "headers": JSON},
        400,
        "RequestMalformed",
    ),
    ("non-object body", "POST", f"{MESSAGE}/send", {"json": ["text"]}, 400, "RequestMalformed"),
    (
        "JSON nested 1,000 levels deep",
        "POST",
        f"{MESSAGE}/send",
        {"content": f'{{"text":"a","x":{DEEP}}}'.encode(), "headers": JSON},
        400,
        "RequestMalformed",
    ),
    (
        "a lone surrogate",
        "POST",
        f"{MESSAGE}/send",
        {"content": f'{{"text":{LONE_SURROGATE}}}'.encode(), "headers": JSON},
        400,
        "RequestMalformed",
    ),
    (
        "a lone surrogate as raw bytes",
        "POST",
        f"{MESSAGE}/send",
        {"content": b'{"text":"a\xed\xa0\x80b"}', "headers": JSON},
        400,
        "RequestMalformed",
    ),
    (
        "NaN, which JSON does not have",
        "POST",
        f"{MESSAGE}/send",
        {"content": b'{"text":"a","b":NaN}', "headers": JSON},
        400,
        "RequestMalformed",
    ),
    ("wrong type", "POST", f"{MESSAGE}/send", {"json": {"text": 42}}, 400, "CommandMalformed"),
    ("missing property", "POST", f"{MESSAGE}/send", {"json": {}}, 400, "CommandMalformed"),
    (
        "extra property",
        "POST",
        f"{MESSAGE}/send",
        {"json": {"text": "a", "b": 1}},
        400,
        "CommandMalformed",
    ),
    (
        "wrong content-type",
        "POST",
        f"{MESSAGE}/send",
        {"content": b'{"text":"a"}', "headers": {"content-type": "text/plain"}},
        415,
        "ContentTypeMismatch",
    ),
    (
        "missing content-type",
        "POST",
        f"{MESSAGE}/send",
        {"content": b'{"text":"a"}'},
        415,
        "ContentTypeMismatch",
    ),
    (
        "non-uuid aggregate id",
        "POST",
        f"{MESSAGE}/not-a-uuid/like",
        {"json": {}},
        400,
        "RequestMalformed",
    ),
    (
        "uuid with a line break after it",
        "POST",
        f"{MESSAGE}/{FILE_ID}%0A/like",
        {"json": {}},
        400,
        "RequestMalformed",
    ),
    (
        "name with a line break after it",
        "POST",
        "/command/v2/communication%0A/message/send",
        {"json": {"text": "a"}},
        400,
        "RequestMalformed",
    ),
    (
        "body over the limit",
        "POST",
        f"{MESSAGE}/send",
        {"json": {"text": "x" * 100_001}},
        413,
        "RequestMalformed",
    ),
    ("non-uuid file id", "GET", "/files/v2/file/not-a-uuid", {}, 400, "RequestMalformed"),
    ("unknown file", "GET", f"/files/v2/file/{FILE_ID}", {}, 404, "FileNotFound"),
    (
        "unknown file to remove",
        "POST",
        "/files/v2/remove-file",
        {"json": {"id": FILE_ID}},
        404,
        "FileNotFound",
    ),
    ("unknown view", "GET", "/views/v2/nope/stream/all", {}, 400, "ViewNotFound"),
    ("unknown query", "GET", "/views/v2/messages/stream/nope", {}, 400, "QueryHandlerNotFound"),
    (
        "value route on a stream query",
        "GET",
        "/views/v2/messages/value/all",
        {},
        400,
        "QueryHandlerTypeMismatch",
    ),
    (
        "stream route on a value query",
        "GET",
        "/views/v2/messages/stream/byId?id=1",
        {},
        400,
        "QueryHandlerTypeMismatch",
    ),
    (
        "invalid query options",
        "GET",
        "/views/v2/messages/value/byId?unexpected=1",
        {},
        400,
        "QueryOptionsInvalid",
    ),
    (
        "query options nested 1,000 levels deep",
        "GET",
        f"/views/v2/messages/value/byId?id={DEEP}",
        {},
        400,
        "RequestMalformed",
    ),
    (
        "query options with a lone surrogate",
        "GET",
        f"/views/v2/messages/value/byId?id={LONE_SURROGATE}",
        {},
        400,
        "RequestMalformed",
    ),
    (
        "unknown value",
        "GET",
        f"/views/v2/messages/value/byId?id={AGGREGATE_ID}",
        {},
        404,
        "NotFound",
    ),
    (
        "malformed cancel body",
        "POST",
        "/command/v2/cancel",
        {"json": {"name": "send"}},
        400,
        "RequestMalformed",
    ),
    (
        "cancel of an unknown command",
        "POST",
        "/command/v2/cancel",
        {
            "json": {
                "aggregateIdentifier": {
                    "context": {"name": "communication"},
                    "aggregate": {"name": "message", "id": AGGREGATE_ID},
                },
                "name": "send",
                "id": FILE_ID,
            }
        },
        404,
        "ItemNotFound",
    ),
    (
        "unknown query parameter on the event stream",
        "GET",
        "/domain-events/v2?nope=1",
        {},
        400,
        "RequestMalformed",
    ),
    (
        "an event filter nested 1,000 levels deep",
        "GET",
        f'/domain-events/v2?filter={{"name":{DEEP}}}',
        {},
        400,
        "RequestMalformed",
    ),
    (
        "an event filter with a lone surrogate",
        "GET",
        f'/domain-events/v2?filter={{"name":{LONE_SURROGATE}}}',
        {},
        400,
        "RequestMalformed",
    ),
    (
        "an x-anonymous-id too long to be an id",
        "POST",
        f"{MESSAGE}/send",
        {"json": {"text": "a"}, "headers": {"x-anonymous-id": "a" * 129}},
        400,
        "RequestMalformed",
    ),
    (
        "an x-anonymous-id with characters an id has not",
        "GET",
        "/domain-events/v2",
        {"headers": {"x-anonymous-id": "jane doe/<script>"}},
        400,
        "RequestMalformed",
    ),
    ("unknown route", "GET", "/nope/v2", {}, 404, "NotFound"),
    (
        "replay by an anonymous caller",
        "POST",
        "/perform-replay/v2",
        {"json": {"aggregates": []}},
        401,
        "NotAuthenticated",
    ),
]


@pytest.mark.parametrize(
    ("method", "url", "arguments", "status", "code"),
    [case[1:] for case in CASES],
    ids=[case[0] for case in CASES],
)
async def test_bad_requests_get_status_and_code(
    rich_client: httpx.AsyncClient,
    rich_server: Serving,
    method: str,
    url: str,
    arguments: dict[str, Any],
    status: int,
    code: str,
) -> None:
    response = await rich_client.request(method, url, **arguments)

    assert response.status_code == status, response.text
    assert response.json()["code"] == code
    assert isinstance(response.json().get("message", ""), str)
    # Nothing was queued or stored.
    assert await rich_server.runtime.command_queue.lock_next() is None
    store = rich_server.runtime.domain.domain_event_store
    assert [event async for event in store.get_replay()] == []


async def test_untrusted_tokens_are_refused(
    rich_client: httpx.AsyncClient, keys: Keys, tmp_path_factory: pytest.TempPathFactory
) -> None:
    expired = token(keys, exp=int(time.time()) - 10)
    wrong_issuer = other_keys_token(tmp_path_factory)
    forged = token(keys)[:-4] + "AAAA"
    for bad in ("not.a.token", expired, wrong_issuer, forged):
        for request in (
            rich_client.post(
                f"{MESSAGE}/send", json={"text": "a"}, headers={"authorization": f"Bearer {bad}"}
            ),
            rich_client.get(f"/domain-events/v2?token={bad}"),
        ):
            response = await request
            assert response.status_code == 401, bad
            assert response.json()["code"] == "NotAuthenticated"


async def test_a_valid_token_identifies_the_user(
    rich_client: httpx.AsyncClient, rich_server: Serving, keys: Keys
) -> None:
    response = await rich_client.post(
        f"{MESSAGE}/send",
        json={"text": "signed"},
        headers={"authorization": f"Bearer {token(keys, sub='jane.doe')}"},
    )

    assert response.status_code == 200
    store = rich_server.runtime.domain.domain_event_store
    for _ in range(100):
        events = [event async for event in store.get_replay()]
        if events:
            break
        await asyncio.sleep(0.02)
    assert events[0].metadata.initiator.user.id == "jane.doe"
