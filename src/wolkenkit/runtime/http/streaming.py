"""NDJSON responses: one JSON document per line, with heartbeats on subscription streams."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from starlette.responses import StreamingResponse

from wolkenkit.runtime.broadcast import Broadcast

ItemT = TypeVar("ItemT")

NDJSON = "application/x-ndjson"
HEARTBEAT_LINE = b'{"name":"heartbeat"}\n'


def encode_line(document: Any) -> bytes:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def ndjson_response(lines: AsyncIterator[bytes]) -> StreamingResponse:
    return StreamingResponse(
        lines,
        media_type=NDJSON,
        headers={"cache-control": "no-store", "x-accel-buffering": "no"},
    )


async def encoded(items: AsyncIterator[dict[str, Any]]) -> AsyncIterator[bytes]:
    """A finite stream (view queries): no heartbeats, ends after the last item."""
    async for item in items:
        yield encode_line(item)


async def subscription_lines(
    broadcast: Broadcast[ItemT],
    prepare: Callable[[ItemT], Awaitable[dict[str, Any] | None]],
    heartbeat_seconds: float,
) -> AsyncIterator[bytes]:
    """A live stream that never ends on its own: a heartbeat first (so the client knows it is
    subscribed), then every prepared item, and a heartbeat whenever it has been quiet."""
    async with broadcast.listen() as listener:
        yield HEARTBEAT_LINE
        while True:
            item = await listener.next(wait_seconds=heartbeat_seconds)
            if item is None:
                yield HEARTBEAT_LINE
                continue
            document = await prepare(item)
            if document is not None:
                yield encode_line(document)
