"""CORS: configured origins, literal or as patterns, get the headers; others do not."""

from __future__ import annotations

import httpx

from tests.runtime.conftest import StartServer

MESSAGE = "/command/v2/communication/message"


async def test_cors_allows_configured_origins(start_server: StartServer) -> None:
    async with (
        start_server(CORS_ORIGIN=["https://app.example.com", "/^https://.*\\.test$/"]) as running,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{running.port}") as client,
    ):
        allowed = await client.get(
            "/command/v2/description", headers={"origin": "https://app.example.com"}
        )
        pattern = await client.get("/command/v2/description", headers={"origin": "https://x.test"})
        other = await client.get("/command/v2/description", headers={"origin": "https://evil.com"})
        preflight = await client.options(
            f"{MESSAGE}/send",
            headers={
                "origin": "https://app.example.com",
                "access-control-request-method": "POST",
                "access-control-request-headers": "content-type",
            },
        )

    assert allowed.headers["access-control-allow-origin"] == "https://app.example.com"
    assert pattern.headers["access-control-allow-origin"] == "https://x.test"
    assert "access-control-allow-origin" not in other.headers
    assert preflight.status_code == 200
