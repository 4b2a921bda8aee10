"""NDJSON responses: one JSON document per line, with heartbeats on subscription streams."""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Hashable
from typing import Any, TypeVar

from starlette.responses import StreamingResponse

from wolkenkit.errors import StreamClosed
from wolkenkit.runtime.broadcast import Broadcast

ItemT = TypeVar("ItemT")

NDJSON = "application/x-ndjson"
HEARTBEAT_LINE = b'{"name":"heartbeat"}\n'
#: The shortest time between two rounds of one audience's items (see ``subscription_lines``).
WRITE_INTERVAL_SECONDS = 0.01


def encode_line(document: Any) -> bytes:
    return json.dumps(document, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def audience_key(*depends_on: Any) -> str:
    """The ``audience`` of a stream whose ``prepare`` depends on nothing but these JSON
    values (the route, the client, its filter): equal values, in any order of their keys,
    give equal keys."""
    return json.dumps(depends_on, sort_keys=True, separators=(",", ":"))


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
    audience: Hashable,
    prepare: Callable[[ItemT], Awaitable[bytes | None]],
    heartbeat_seconds: float,
    write_interval: float = WRITE_INTERVAL_SECONDS,
) -> AsyncGenerator[bytes, None]:
    """A live stream: a heartbeat first (so the client knows it is subscribed), then every
    prepared item, and a heartbeat whenever it has been quiet. It ends only when its client
    leaves (starlette then cancels it) or falls too far behind (then the response ends).

    Streams with the same ``audience`` key (see ``Broadcast.listen``) share one ``prepare``
    of each item, and one chunk of the lines prepared together. Items reach a stream at most
    once per ``write_interval`` (longer with many streams, see ``Broadcast``) and go out in
    one write: a quiet stream's next item goes out at once; under load, hundreds of streams
    wake and write a few times per interval rather than once per item each."""
    async with broadcast.listen(audience, prepare, write_interval, b"".join) as listener:
        yield HEARTBEAT_LINE
        while True:
            try:
                chunks = await listener.take(quiet_seconds=heartbeat_seconds)
            except StreamClosed:
                return
            # Mostly one chunk, the round's lines joined once for the whole audience: joining
            # one returns it as it is.
            yield b"".join(chunks) if chunks else HEARTBEAT_LINE
