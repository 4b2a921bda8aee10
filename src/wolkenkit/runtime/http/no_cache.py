"""Headers that forbid caching, on every response of the API and health ports (reference §3.1).

The reference puts the ``nocache`` middleware (version 3) in front of each of its APIs, which
sets exactly these four headers. A response that states its own caching keeps it: our
vendored assets carry a digest in their URLs and may be kept for a year.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

#: As ``nocache`` 3 sets them; built once, appended to each response as they are.
NO_CACHE_HEADERS: tuple[tuple[bytes, bytes], ...] = (
    (b"surrogate-control", b"no-store"),
    (b"cache-control", b"no-store, no-cache, must-revalidate, proxy-revalidate"),
    (b"pragma", b"no-cache"),
    (b"expires", b"0"),
)


class NoCacheMiddleware:
    """Adds ``NO_CACHE_HEADERS`` to every HTTP response without a ``Cache-Control`` of its
    own. WebSocket connections pass untouched."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return

        async def send_without_caching(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = message.get("headers", ())
                if not any(name == b"cache-control" for name, _ in headers):
                    message["headers"] = [*headers, *NO_CACHE_HEADERS]
            await send(message)

        await self._app(scope, receive, send_without_caching)
