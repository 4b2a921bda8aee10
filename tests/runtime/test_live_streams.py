"""Live streams cost nothing once their clients leave, one state load serves them all, and
the streams of one client share one preparation of each event."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections import Counter
from contextlib import AsyncExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.application.test_functions import HEADER, MESSAGE, SEND, load
from tests.runtime.conftest import StartServer
from tests.runtime.streams import Stream, open_stream
from wolkenkit.domain.delivery import DomainEventDelivery
from wolkenkit.messages import AggregateIdentifier, ClientMetadata
from wolkenkit.runtime.broadcast import Broadcast
from wolkenkit.runtime.http.streaming import HEARTBEAT_LINE, subscription_lines
from wolkenkit.runtime.server import Serving


def count_loads(server: Serving, monkeypatch: pytest.MonkeyPatch) -> Counter[str]:
    """How often the real repository loads each aggregate (by id) from now on."""
    repository = server.runtime.domain.repository
    real_load = repository.load
    loads: Counter[str] = Counter()

    async def load(identifier: AggregateIdentifier) -> Any:
        loads[identifier.aggregate.id] += 1
        return await real_load(identifier)

    monkeypatch.setattr(repository, "load", load)
    return loads


async def test_one_state_load_serves_every_client_of_an_event(
    server: Serving, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Five clients see the same event; preparing it for them loads the aggregate once.
    loads = count_loads(server, monkeypatch)
    async with AsyncExitStack() as streams:
        readers = [
            (await streams.enter_async_context(open_stream(client, "/domain-events/v2")))[1]
            for _ in range(5)
        ]
        sent = await client.post("/command/v2/communication/message/send", json={"text": "Hi"})
        aggregate_id = sent.json()["aggregateIdentifier"]["aggregate"]["id"]

        received = [await reader.next_document() for reader in readers]

    assert [event["name"] for event in received] == ["sent"] * 5
    assert loads[aggregate_id] == 1


async def test_events_cost_no_load_once_every_client_has_left(
    server: Serving, client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with open_stream(client, "/domain-events/v2"), open_stream(client, "/domain-events/v2"):
        assert server.runtime.domain_events.listener_count == 2
    # The server learns of the disconnects from its event loop: let it run until it has.
    for _ in range(500):
        if server.runtime.domain_events.listener_count == 0:
            break
        await asyncio.sleep(0.01)
    loads = count_loads(server, monkeypatch)

    sent = await client.post("/command/v2/communication/message/send", json={"text": "Hi"})
    aggregate_id = sent.json()["aggregateIdentifier"]["aggregate"]["id"]
    await client.post(f"/command/v2/communication/message/{aggregate_id}/like", json={})

    assert server.runtime.domain_events.listener_count == 0
    assert sum(loads.values()) == 0


class Prepared:
    """A stream's ``prepare`` that counts its calls and lets every item through."""

    def __init__(self) -> None:
        self.calls = 0

    async def __call__(self, item: int) -> bytes:
        self.calls += 1
        return f"{item}\n".encode()


async def test_a_gone_client_stops_its_stream_even_with_an_item_ready() -> None:
    # starlette cancels the stream of a client that left. That cancellation must end the
    # stream even when it meets an item just handed to it (Python 3.11's ``wait_for`` returned
    # the item instead, and a gone client's stream went on through its whole backlog).
    broadcast: Broadcast[int] = Broadcast()
    prepare = Prepared()
    lines = subscription_lines(broadcast, "all", prepare, heartbeat_seconds=60, write_interval=0)
    assert await anext(lines) == HEARTBEAT_LINE

    async def read_next() -> bytes:
        return await anext(lines)

    reading = asyncio.create_task(read_next())
    await asyncio.sleep(0)  # the stream now waits for an item

    broadcast.publish(1)
    await asyncio.sleep(0)  # the item is prepared and handed over: the stream is woken
    assert prepare.calls == 1
    reading.cancel()

    with pytest.raises(asyncio.CancelledError):
        await reading
    assert broadcast.listener_count == 0
    broadcast.publish(2)
    await asyncio.sleep(0.01)
    assert prepare.calls == 1


async def test_a_slow_reader_is_dropped_at_its_bound_and_its_stream_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # A client that does not read falls behind. At the bound it takes nothing more, what it
    # had not read is dropped, and its stream ends (the response completes) with a warning.
    broadcast: Broadcast[int] = Broadcast(backlog=3)
    prepare = Prepared()
    lines = subscription_lines(broadcast, "all", prepare, heartbeat_seconds=60)
    assert await anext(lines) == HEARTBEAT_LINE
    assert broadcast.listener_count == 1

    for item in range(4):
        broadcast.publish(item)
    await asyncio.sleep(0)  # one round prepares the four items and hands them over

    assert broadcast.listener_count == 0
    with caplog.at_level(logging.WARNING, logger="wolkenkit.runtime.broadcast"):
        rest = [line async for line in lines]
    assert rest == []
    assert "fell 3 items behind and was closed" in caplog.text
    # Nobody listens any more: what comes next is not prepared at all.
    broadcast.publish(4)
    await asyncio.sleep(0.02)
    assert prepare.calls == 4


async def test_items_published_together_go_out_in_one_write_prepared_once_per_audience() -> None:
    broadcast: Broadcast[int] = Broadcast()
    prepare = Prepared()
    streams = [
        subscription_lines(broadcast, "all", prepare, heartbeat_seconds=60) for _ in range(3)
    ]
    for lines in streams:
        assert await anext(lines) == HEARTBEAT_LINE

    for item in range(3):
        broadcast.publish(item)

    chunks = [await anext(lines) for lines in streams]
    assert chunks == [b"0\n1\n2\n"] * 3
    assert chunks[0] is chunks[1] is chunks[2]  # joined once, for all three
    assert prepare.calls == 3
    for lines in streams:
        await lines.aclose()
    assert broadcast.listener_count == 0


async def test_with_many_streams_their_rounds_come_further_apart() -> None:
    # Four streams, and a budget of four wake-ups a second: a round every second at most
    # under load, not every 10 ms. Two items 50 ms apart after a first one go out together.
    broadcast: Broadcast[int] = Broadcast(wake_ups_per_second=4)
    streams = [
        subscription_lines(broadcast, "all", Prepared(), heartbeat_seconds=60) for _ in range(4)
    ]
    for lines in streams:
        assert await anext(lines) == HEARTBEAT_LINE

    broadcast.publish(1)
    assert [await anext(lines) for lines in streams] == [b"1\n"] * 4
    broadcast.publish(2)
    await asyncio.sleep(0.05)
    broadcast.publish(3)

    assert [await anext(lines) for lines in streams] == [b"2\n3\n"] * 4
    for lines in streams:
        await lines.aclose()


class Gated(Prepared):
    """Lets items through only once its gate opens."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()

    async def __call__(self, item: int) -> bytes:
        await self.gate.wait()
        return await super().__call__(item)


async def test_a_listener_that_joins_during_a_round_gets_only_what_was_published_after() -> None:
    broadcast: Broadcast[int] = Broadcast()
    prepare = Gated()
    async with broadcast.listen("all", prepare) as early:
        broadcast.publish(1)
        await asyncio.sleep(0)  # the round has begun: it waits for the gate
        async with broadcast.listen("all", prepare) as late:
            broadcast.publish(2)
            prepare.gate.set()
            assert await early.take() == [b"1\n"]
            assert await early.take() == [b"2\n"]
            assert await late.take() == [b"2\n"]
    assert prepare.calls == 2


async def test_a_failing_preparation_ends_its_audiences_streams_and_no_other(
    caplog: pytest.LogCaptureFixture,
) -> None:
    broadcast: Broadcast[int] = Broadcast()

    async def failing(item: int) -> bytes:
        raise RuntimeError("a bug")

    failed = subscription_lines(broadcast, "failing", failing, heartbeat_seconds=60)
    working = subscription_lines(broadcast, "working", Prepared(), heartbeat_seconds=60)
    assert await anext(failed) == HEARTBEAT_LINE
    assert await anext(working) == HEARTBEAT_LINE

    with caplog.at_level(logging.ERROR, logger="wolkenkit.runtime.broadcast"):
        broadcast.publish(1)
        assert [line async for line in failed] == []
    assert "Preparing items for live streams failed" in caplog.text
    assert "a bug" in caplog.text
    assert await anext(working) == b"1\n"
    assert broadcast.listener_count == 1
    await working.aclose()


async def test_every_stream_gets_every_event_in_order_when_events_come_in_bursts(
    server: Serving, client: httpx.AsyncClient
) -> None:
    # Likes sent at once arrive faster than a stream writes: they go out several per write.
    # Streams of one client, with and without a filter, and of another client each get all
    # theirs, in the order of the aggregate's revisions.
    likes = 40
    filtered = {"params": {"filter": '{"name":"liked"}'}}
    other = {"headers": {"x-anonymous-id": "someone-else"}}
    async with AsyncExitStack() as opened:
        streams: list[tuple[Stream, int]] = []
        for options, first in ({}, 1), ({}, 1), ({}, 1), (filtered, 2), (other, 1):
            _, stream = await opened.enter_async_context(
                open_stream(client, "/domain-events/v2", **options)
            )
            streams.append((stream, first))
        sent = await client.post("/command/v2/communication/message/send", json={"text": "Hi"})
        aggregate_id = sent.json()["aggregateIdentifier"]["aggregate"]["id"]
        like = f"/command/v2/communication/message/{aggregate_id}/like"
        await asyncio.gather(*(client.post(like, json={}) for _ in range(likes)))

        for stream, first in streams:
            revisions = [
                (await stream.next_document())["metadata"]["revision"]
                for _ in range(first, likes + 2)
            ]
            assert revisions == list(range(first, likes + 2))


MAPPED_FOR_EACH_CLIENT = """
    def for_the_reader(event: DomainEvent[Sent], client: ClientMetadata) -> DomainEvent[Sent]:
        return event.replaced(data=Sent(text=f"{event.data.text}, {client.user.id}"))


    @aggregate.event(map=for_the_reader)
    def sent(message: Message, event: Sent) -> Message:
        return message.model_copy(update={"text": event.text})
"""


async def test_each_event_is_prepared_once_per_client_however_many_streams_it_has(
    start_server: StartServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    application = load(
        tmp_path,
        {
            MESSAGE: (
                HEADER,
                "aggregate = Aggregate(Message, authorize=Everyone)",
                SEND,
                MAPPED_FOR_EACH_CLIENT,
            )
        },
    )
    admitted: Counter[str] = Counter()
    real_admit = DomainEventDelivery.admit

    async def admit(self: DomainEventDelivery, loaded: Any, client: ClientMetadata) -> Any:
        admitted[client.user.id] += 1
        return await real_admit(self, loaded, client)

    monkeypatch.setattr(DomainEventDelivery, "admit", admit)
    readers = ["ann", "ann", "ann", "bob", "bob"]
    async with (
        start_server(application) as running,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{running.port}", timeout=10) as client,
        AsyncExitStack() as opened,
    ):
        streams = [
            (
                await opened.enter_async_context(
                    open_stream(client, "/domain-events/v2", headers={"x-anonymous-id": reader})
                )
            )[1]
            for reader in readers
        ]
        await client.post("/command/v2/communication/message/send", json={"text": "Hi"})
        received = [(await stream.next_document())["data"]["text"] for stream in streams]

    assert received == [f"Hi, anonymous-{reader}" for reader in readers]
    assert admitted == {"anonymous-ann": 1, "anonymous-bob": 1}


async def read_response_end(reader: asyncio.StreamReader) -> bytes:
    """Everything up to the end of a chunked response (its last, empty chunk)."""
    read = b""
    while not read.endswith(b"\r\n0\r\n\r\n"):
        chunk = await reader.read(65_536)
        if not chunk:
            raise EOFError("the connection closed before the response ended")
        read += chunk
    return read


async def test_a_client_that_stops_reading_is_dropped_and_its_response_ends_cleanly(
    server: Serving, client: httpx.AsyncClient, caplog: pytest.LogCaptureFixture
) -> None:
    # A real client with a small receive window stops reading: the server's writes to it
    # stall, its backlog fills, and at the bound the server closes the stream, ending the
    # response properly (the last chunk) rather than buffering for it without end.
    server.runtime.domain_events = Broadcast(backlog=5)
    raw = socket.socket()
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    raw.setblocking(False)
    await asyncio.get_running_loop().sock_connect(raw, ("127.0.0.1", server.port))
    reader, writer = await asyncio.open_connection(sock=raw)
    writer.write(b"GET /domain-events/v2 HTTP/1.1\r\nhost: test\r\n\r\n")
    head = await reader.readuntil(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 200")
    assert b"transfer-encoding: chunked" in head
    assert server.runtime.domain_events.listener_count == 1

    text = "x" * 50_000
    with caplog.at_level(logging.WARNING, logger="wolkenkit.runtime.broadcast"):
        for _ in range(400):
            await client.post("/command/v2/communication/message/send", json={"text": text})
            if server.runtime.domain_events.listener_count == 0:
                break
        assert server.runtime.domain_events.listener_count == 0
        # What was written before the cut is still there to read, then the response ends.
        rest = await asyncio.wait_for(read_response_end(reader), 10)
    writer.close()
    assert rest.count(b'"name":"sent"') >= 1
    assert "fell 5 items behind and was closed" in caplog.text
