"""A real runtime serving GraphQL, and clients for it: HTTP, and WebSockets in both
subprotocols."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Annotated, Any

import httpx
import jwt
import pytest
from pydantic import BaseModel, ConfigDict, Field
from websockets.asyncio.client import ClientConnection, connect
from websockets.typing import Subprotocol

from tests.domain.chat_app import MessageState, build_application
from tests.runtime.conftest import Keys, StartServer
from tests.runtime.test_cancel import slow
from wolkenkit import Aggregate, Everyone
from wolkenkit.runtime.server import Serving

PROTOCOLS = ("graphql-transport-ws", "graphql-ws")
GRAPHQL = "/graphql/v2"


class RateData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    stars: Annotated[int, Field(ge=1, le=5)]


#: The commands these tests add to the chat aggregate.
extra = Aggregate(MessageState, authorize=Everyone)
extra.command(slow)


@extra.command
def rate(command: RateData) -> None:
    """Rates a message with one to five stars."""


def token_for(keys: Keys, subject: str) -> str:
    return jwt.encode({"iss": keys.issuer, "sub": subject}, keys.private_pem, algorithm="RS256")


@pytest.fixture
async def graphql_server(start_server: StartServer, keys: Keys) -> AsyncIterator[Serving]:
    providers = [{"issuer": keys.issuer, "certificate": str(keys.directory)}]
    application = build_application(extra_commands=extra.command_handlers)
    async with start_server(
        application,
        IDENTITY_PROVIDERS=providers,
        GRAPHQL_API={"enableIntegratedClient": False},
    ) as running:
        yield running


class GraphqlClient:
    """Runs operations over HTTP: ``run`` gives the response, ``data`` the data of a success."""

    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def run(
        self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any
    ) -> httpx.Response:
        return await self.http.post(
            GRAPHQL, json={"query": query, "variables": variables or {}}, **kwargs
        )

    async def data(self, query: str, variables: dict[str, Any] | None = None, **kwargs: Any) -> Any:
        response = await self.run(query, variables, **kwargs)
        body = response.json()
        assert response.status_code == 200, body
        assert "errors" not in body, body
        return body["data"]


@pytest.fixture
async def graphql(graphql_server: Serving) -> AsyncIterator[GraphqlClient]:
    base_url = f"http://127.0.0.1:{graphql_server.port}"
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as http:
        yield GraphqlClient(http)


class Socket:
    """One WebSocket connection in either subprotocol; messages are normalised to
    ``("next" | "error" | "complete", id, payload)``."""

    def __init__(self, connection: ClientConnection, protocol: str) -> None:
        self.connection = connection
        self.protocol = protocol
        self.legacy = protocol == "graphql-ws"

    async def send(self, message: dict[str, Any]) -> None:
        await self.connection.send(json.dumps(message))

    async def initialise(self, parameters: dict[str, Any] | None = None) -> None:
        await self.send({"type": "connection_init", "payload": parameters or {}})
        kind, _, _ = await self.receive()
        assert kind == "connection_ack"

    async def start(self, operation_id: str, query: str, **variables: Any) -> None:
        await self.send(
            {
                "id": operation_id,
                "type": "start" if self.legacy else "subscribe",
                "payload": {"query": query, "variables": variables},
            }
        )

    async def receive(self, within: float = 5.0) -> tuple[str, str | None, Any]:
        async with asyncio.timeout(within):
            while True:
                message = json.loads(await self.connection.recv())
                kind = message["type"]
                if kind == "ka":
                    continue
                if kind == "ping":
                    await self.send({"type": "pong"})
                    continue
                if kind == "data":
                    kind = "next"
                return kind, message.get("id"), message.get("payload")


OpenSocket = Callable[..., AbstractAsyncContextManager[Socket]]


@pytest.fixture
def open_socket(graphql_server: Serving) -> OpenSocket:
    @asynccontextmanager
    async def open_(protocol: str, **headers: str) -> AsyncIterator[Socket]:
        url = f"ws://127.0.0.1:{graphql_server.port}{GRAPHQL}"
        async with connect(
            url, subprotocols=[Subprotocol(protocol)], additional_headers=headers or None
        ) as connection:
            yield Socket(connection, protocol)

    return open_


async def until_listening(server: Serving, count: int = 1) -> None:
    """Until ``count`` subscriptions listen for domain events (the runtime has no event for
    that, so this looks every 10 ms)."""
    async with asyncio.timeout(5):
        while server.runtime.domain_events.listener_count < count:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
