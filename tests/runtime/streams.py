"""Reading NDJSON streams in tests: skip heartbeats, give up after a deadline."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx

HEARTBEAT = {"name": "heartbeat"}


class Stream:
    def __init__(self, lines: AsyncIterator[str]) -> None:
        self._lines = lines

    async def next_document(self, within: float = 5.0, skip_heartbeats: bool = True) -> Any:
        async def read() -> Any:
            async for line in self._lines:
                if not line:
                    continue
                document = json.loads(line)
                if skip_heartbeats and document == HEARTBEAT:
                    continue
                return document
            raise EOFError("the stream ended")

        return await asyncio.wait_for(read(), within)


@asynccontextmanager
async def open_stream(
    client: httpx.AsyncClient, url: str, **kwargs: Any
) -> AsyncIterator[tuple[httpx.Response, Stream]]:
    """Open a subscription stream and wait for its first heartbeat (it is live then)."""
    async with client.stream("GET", url, **kwargs) as response:
        stream = Stream(response.aiter_lines())
        if response.status_code == 200:
            first = await stream.next_document(skip_heartbeats=False)
            assert first == HEARTBEAT
        yield response, stream
