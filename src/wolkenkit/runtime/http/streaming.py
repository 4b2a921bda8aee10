"""NDJSON responses: one JSON document per line, with heartbeats on subscription streams."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

from starlette.responses import StreamingResponse

from wolkenkit.errors import StreamOverflowed
from wolkenkit.runtime.broadcast import Broadcast

ItemT = TypeVar("ItemT")

NDJSON = "application/x-ndjson"
HEARTBEAT_LINE = b'{"name":"heartbeat"}\n'
#: The shortest time between two writes to one live stream (see ``subscription_lines``).
WRITE_INTERVAL_SECONDS = 0.01


def encode_line(document: Any) -> bytes:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def ndjson_response(lines: AsyncIterator[bytes]) -> StreamingResponse:
    return StreamingResponse(
        lines,
        media_type=NDJSON,
        # The no-cache headers come from the app's middleware, as on every response.
        headers={"x-accel-buffering": "no"},
    )


async def encoded(items: AsyncIterator[dict[str, Any]]) -> AsyncIterator[bytes]:
    """A finite stream (view queries): no heartbeats, ends after the last item."""
    async for item in items:
        yield encode_line(item)


async def subscription_lines(
    broadcast: Broadcast[ItemT],
    prepare: Callable[[ItemT], Awaitable[bytes | None]],
    heartbeat_seconds: float,
    write_interval: float = WRITE_INTERVAL_SECONDS,
) -> AsyncIterator[bytes]:
    """A live stream: a heartbeat first (so the client knows it is subscribed), then every
    prepared item, and a heartbeat whenever it has been quiet. It ends only when its client
    leaves (starlette then cancels it) or falls too far behind (then the response ends).

    A stream writes at most once per ``write_interval``; what arrives in between goes
    out in one write. A quiet stream's next item goes out at once; under load, hundreds of
    streams wake and write a few times per interval rather than once per item each."""
    loop = asyncio.get_running_loop()
    async with broadcast.listen() as listener:
        yield HEARTBEAT_LINE
        written_at = loop.time()
        while True:
            pause = written_at + write_interval - loop.time()
            if pause > 0:
                await asyncio.sleep(pause)
            try:
                items = await listener.take(wait_seconds=heartbeat_seconds)
            except StreamOverflowed:
                return
            written_at = loop.time()
            if not items:
                yield HEARTBEAT_LINE
                continue
            lines = [line for item in items if (line := await prepare(item)) is not None]
            if lines:
                yield b"".join(lines)
