"""What a connection may cost before its request is in, over raw sockets against a real
server: a head over the limit is refused, a stalled head or body is closed, and a stream
(a response) stays open."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from tests.runtime.conftest import StartServer
from wolkenkit.runtime.server import Serving

#: Milliseconds; short, so that stalled connections are closed while the tests wait.
READ_TIMEOUT = 200
#: Long enough for any of these exchanges on a busy machine; passing it means it hung.
WITHIN = 10


@pytest.fixture
async def server(start_server: StartServer) -> AsyncIterator[Serving]:
    async with start_server(REQUEST_READ_TIMEOUT=READ_TIMEOUT) as running:
        yield running


async def exchange(port: int, sent: bytes) -> bytes:
    """What the server answers to ``sent`` until it closes the connection."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(sent)
        await writer.drain()
        async with asyncio.timeout(WITHIN):
            return await reader.read()
    finally:
        writer.close()


def head(size: int) -> bytes:
    """A complete request head of ``size`` bytes."""
    start = b"GET /command/v2/description HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Pad: "
    return start + b"a" * (size - len(start) - 4) + b"\r\n\r\n"


async def test_a_head_over_16_kib_is_refused_with_431_and_one_within_is_served(
    server: Serving,
) -> None:
    within = await exchange(server.port, head(16 * 1024))
    over = await exchange(server.port, head(16 * 1024 + 1))

    assert within.startswith(b"HTTP/1.1 200 ")
    assert over.startswith(b"HTTP/1.1 431 ")
    assert b'"code": "RequestMalformed"' in over


async def test_a_head_that_never_ends_is_refused_once_past_the_limit(server: Serving) -> None:
    # 32 KiB of one header, sent in pieces, its end never coming: refused at the limit, not
    # buffered until it ends.
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"GET / HTTP/1.1\r\nHost: x\r\nX-Big: ")
    for _ in range(8):
        writer.write(b"a" * 4096)
        await writer.drain()
    async with asyncio.timeout(WITHIN):
        answer = await reader.read()
    writer.close()

    assert answer.startswith(b"HTTP/1.1 431 ")


@pytest.mark.parametrize(
    "sent",
    [
        b"",
        b"GET /command/v2/description HTTP/1.1\r\nHost: x\r\n",
        b"POST /command/v2/cancel HTTP/1.1\r\nHost: x\r\ncontent-type: application/json\r\n"
        b"content-length: 100\r\n\r\n{",
    ],
    ids=["nothing", "half a head", "part of a body"],
)
async def test_a_stalled_connection_is_closed(server: Serving, sent: bytes) -> None:
    answer = await exchange(server.port, sent)

    if sent:
        assert answer.startswith(b"HTTP/1.1 408 ")
    else:
        assert answer == b""


async def test_a_stream_stays_open_past_the_read_timeout(server: Serving) -> None:
    # Heartbeats come every second, five read timeouts apart.
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"GET /domain-events/v2 HTTP/1.1\r\nHost: x\r\n\r\n")
    async with asyncio.timeout(WITHIN):
        status = await reader.readline()
        await reader.readuntil(b"\r\n\r\n")
        heartbeats = 0
        while heartbeats < 3:
            heartbeats += (await reader.readline()).count(b'"heartbeat"')
    writer.close()

    assert status.startswith(b"HTTP/1.1 200 ")
