"""Live streams cost nothing once their clients leave, and one state load serves them all."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from contextlib import AsyncExitStack
from typing import Any

import httpx
import pytest

from tests.runtime.streams import open_stream
from wolkenkit.messages import AggregateIdentifier
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
