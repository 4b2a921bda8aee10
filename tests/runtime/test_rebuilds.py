"""Rebuilding tables beside the ones serving, in a running runtime (stores in memory): queries
answer from the old tables until the new ones are swapped in, events that arrive meanwhile
count once, and a rebuild that fails leaves everything as it was."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.runtime.conftest import Keys, make_settings
from tests.runtime.rebuild_app import write_rebuild_app
from tests.runtime.test_bad_input import token
from wolkenkit import load_application
from wolkenkit.application.table_owners import RebuildGroup, rebuild_groups
from wolkenkit.errors import ParameterInvalid, RebuildFailed
from wolkenkit.messages import AggregateIdentifier, new_id
from wolkenkit.runtime.rebuilds import rebuild
from wolkenkit.runtime.server import Serving, serving
from wolkenkit.stores.view_store import shadow_name
from wolkenkit.testing.builders import build_domain_event
from wolkenkit.testing.cluster import PATIENCE_SECONDS

GROUP = RebuildGroup(flows=("messages", "tally"), tables=("messages", "totals"))


@pytest.fixture
async def running(tmp_path: Path, keys: Keys) -> AsyncIterator[Serving]:
    application = load_application(write_rebuild_app(tmp_path / "app"))
    providers = [{"issuer": keys.issuer, "certificate": str(keys.directory)}]
    async with serving(make_settings(IDENTITY_PROVIDERS=providers), application) as running:
        try:
            yield running
        finally:
            # A flow worker stuck at the gate would keep the runtime from stopping.
            gate(running).open.set()


@pytest.fixture
async def client(running: Serving) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{running.port}", timeout=10) as http:
        yield http


def gate(running: Serving) -> Any:
    return running.runtime.domain.infrastructure.ask["gate"]


def close_gate(running: Serving) -> None:
    """Hold the next handler of "slow" at the gate; ``reached`` says when one is there."""
    gate(running).open.clear()
    gate(running).reached.clear()


async def send(client: httpx.AsyncClient, text: str) -> str:
    answer = await client.post("/command/v2/communication/message/send", json={"text": text})
    answer.raise_for_status()
    aggregate_id: str = answer.json()["aggregateIdentifier"]["aggregate"]["id"]
    return aggregate_id


async def texts(client: httpx.AsyncClient) -> list[str]:
    answer = await client.get("/views/v2/messages/stream/all")
    answer.raise_for_status()
    return [
        httpx.Response(200, content=line).json()["text"] for line in answer.content.splitlines()
    ]


async def total(running: Serving) -> int | None:
    row = await running.runtime.domain.tables.store.get("totals", "all")
    return None if row is None else int(row["count"])


async def until(check: Callable[[], Awaitable[bool]]) -> None:
    async with asyncio.timeout(PATIENCE_SECONDS):
        while True:
            if await check():
                return
            await asyncio.sleep(0.01)


async def sent(running: Serving, client: httpx.AsyncClient, *messages: str) -> list[str]:
    """Send the messages and wait until both flows have handled them."""
    before = await total(running) or 0
    ids = [await send(client, text) for text in messages]

    store = running.runtime.domain.tables.store

    async def handled() -> bool:
        # Each flow on its own: the tally may be done while the messages flow is still busy.
        rows = [await store.get("messages", aggregate_id) for aggregate_id in ids]
        return await total(running) == before + len(messages) and None not in rows

    await until(handled)
    return ids


def test_a_table_is_rebuilt_with_every_flow_that_owns_it(tmp_path: Path) -> None:
    application = load_application(write_rebuild_app(tmp_path / "app"))

    assert rebuild_groups(application, ["messages"]) == [GROUP]
    assert rebuild_groups(application, ["tally", "messages", "plain"]) == [GROUP]
    assert rebuild_groups(application, ["plain"]) == []


async def test_queries_answer_from_the_old_tables_until_the_new_ones_are_in(
    running: Serving, client: httpx.AsyncClient
) -> None:
    first, _, _ = await sent(running, client, "first", "slow", "third")
    store = running.runtime.domain.tables.store
    # The tables lose a row and a count goes wrong: what the rebuild is for.
    await store.delete("messages", first)
    await store.upsert("totals", {"name": "all", "count": 99})
    close_gate(running)

    rebuilding = asyncio.create_task(rebuild(running.runtime, GROUP))
    await gate(running).reached.wait()
    while_rebuilding = await texts(client)
    # The flows go on meanwhile, into the old tables.
    await send(client, "during")

    async def handled() -> bool:
        return await total(running) == 100

    await until(handled)
    during = await texts(client)
    gate(running).open.set()
    report = await rebuilding
    after = await texts(client)
    # Handled once, into the new tables: the flows' progress carried on across the swap.
    await sent(running, client, "later")

    assert while_rebuilding == ["slow", "third"]
    assert during == ["slow", "third", "during"]
    assert after == ["first", "slow", "third", "during"]
    assert report.rows == {"messages": 4, "totals": 1}
    assert report.events == 4
    assert await texts(client) == ["first", "slow", "third", "during", "later"]
    assert await total(running) == 5


async def test_events_a_flow_has_not_handled_yet_are_left_to_it(
    running: Serving, client: httpx.AsyncClient
) -> None:
    # The messages flow is stuck on "slow", with "next" queued behind it, while the rebuild
    # reads both: it must not put them into the new table, or the flow would handle them a
    # second time after the swap; once the flow has handled them, before it pauses, they
    # are the rebuild's to replay.
    await sent(running, client, "first")
    close_gate(running)
    await send(client, "slow")
    await send(client, "next")
    await gate(running).reached.wait()

    rebuilding = asyncio.create_task(rebuild(running.runtime, GROUP))
    await asyncio.sleep(0.2)
    pausing = not rebuilding.done()
    gate(running).open.set()
    report = await rebuilding
    await sent(running, client, "later")

    assert pausing
    assert report.rows == {"messages": 3, "totals": 1}
    assert await texts(client) == ["first", "slow", "next", "later"]
    assert await total(running) == 4


async def test_an_event_the_flows_get_only_after_the_swap_is_theirs_to_handle(
    running: Serving, client: httpx.AsyncClient
) -> None:
    # An event stored, but not yet queued for the flows when they pause (a command worker
    # between storing and queueing, an event a flow deferred): the rebuild reads it, but
    # only the flows, later, may handle it, or it would count twice.
    await sent(running, client, "first")
    late = build_domain_event(
        AggregateIdentifier.of("communication", "message", new_id()), "sent", {"text": "late"}
    )
    await running.runtime.domain.domain_event_store.store_domain_events([late])

    report = await rebuild(running.runtime, GROUP)
    for flow_name in GROUP.flows:
        await running.runtime.enqueue_for_flow(late, flow_name)

    async def handled() -> bool:
        return await total(running) == 2

    await until(handled)
    assert report.rows == {"messages": 1, "totals": 1}
    assert await texts(client) == ["first", "late"]
    await sent(running, client, "later")
    assert await total(running) == 3


async def test_a_failing_rebuild_leaves_the_old_tables_serving(
    running: Serving, client: httpx.AsyncClient
) -> None:
    first, _ = await sent(running, client, "first", "slow")
    store = running.runtime.domain.tables.store
    await store.delete("messages", first)
    gate(running).fails = True

    with pytest.raises(RebuildFailed) as failed:
        await rebuild(running.runtime, GROUP)

    assert "Flow 'messages' failed on communication.message.sent" in failed.value.message
    assert "RuntimeError('the gate fails')" in failed.value.message
    assert await texts(client) == ["slow"]
    for table in GROUP.tables:
        with pytest.raises(ParameterInvalid):
            await store.count(shadow_name(table))
    # The flows run on, and the next rebuild can start.
    await sent(running, client, "after")
    gate(running).fails = False
    await rebuild(running.runtime, GROUP)
    assert await texts(client) == ["first", "slow", "after"]


async def test_a_stopped_rebuild_leaves_the_old_tables_serving(
    running: Serving, client: httpx.AsyncClient
) -> None:
    first, _ = await sent(running, client, "first", "slow")
    store = running.runtime.domain.tables.store
    await store.delete("messages", first)
    close_gate(running)
    rebuilding = asyncio.create_task(rebuild(running.runtime, GROUP))
    await gate(running).reached.wait()

    rebuilding.cancel()
    with pytest.raises(asyncio.CancelledError):
        await rebuilding

    assert await texts(client) == ["slow"]
    with pytest.raises(ParameterInvalid):
        await store.count(shadow_name("messages"))
    gate(running).open.set()
    await rebuild(running.runtime, GROUP)
    assert await texts(client) == ["first", "slow"]


async def test_one_rebuild_of_a_flow_at_a_time(running: Serving, client: httpx.AsyncClient) -> None:
    await sent(running, client, "slow")
    close_gate(running)
    rebuilding = asyncio.create_task(rebuild(running.runtime, GROUP))
    await gate(running).reached.wait()

    with pytest.raises(RebuildFailed) as refused:
        await rebuild(running.runtime, RebuildGroup(flows=("tally",), tables=("totals",)))

    gate(running).open.set()
    await rebuilding
    assert refused.value.message == "The tables of flow 'tally' are being rebuilt already."


async def test_a_rebuild_issues_no_command_again(
    running: Serving, client: httpx.AsyncClient
) -> None:
    # The flow issued its command when it first handled the event; the rebuild only writes.
    await send(client, "echo")

    async def echoed() -> bool:
        return await texts(client) == ["echo", "echoed"]

    await until(echoed)

    await rebuild(running.runtime, GROUP)
    await asyncio.sleep(0.2)

    assert await texts(client) == ["echo", "echoed"]
    stored = running.runtime.domain.domain_event_store.get_replay_by_position()
    assert len([event async for event in stored]) == 2


async def test_the_replay_api_rebuilds_the_tables_of_flows_when_no_aggregates_are_named(
    running: Serving, client: httpx.AsyncClient, keys: Keys
) -> None:
    first, _ = await sent(running, client, "first", "slow")
    await running.runtime.domain.tables.store.delete("messages", first)
    close_gate(running)
    operator = {"authorization": f"Bearer {token(keys)}"}

    started = await client.post(
        "/perform-replay/v2", json={"flowNames": ["messages"]}, headers=operator
    )
    await gate(running).reached.wait()
    again = await client.post("/perform-replay/v2", json={}, headers=operator)
    tableless = await client.post(
        "/perform-replay/v2", json={"flowNames": ["plain"]}, headers=operator
    )
    anonymous = await client.post("/perform-replay/v2", json={"flowNames": ["messages"]})
    while_rebuilding = await texts(client)
    gate(running).open.set()

    async def rebuilt() -> bool:
        return await texts(client) == ["first", "slow"]

    await until(rebuilt)
    assert (started.status_code, started.json()) == (200, {})
    assert while_rebuilding == ["slow"]
    assert (again.status_code, again.json()) == (
        409,
        {
            "code": "RebuildFailed",
            "message": "The tables of flow 'messages' are being rebuilt already.",
        },
    )
    assert (tableless.status_code, tableless.json()) == (
        400,
        {
            "code": "RequestMalformed",
            "message": "Flow 'plain' owns no view tables to rebuild; name the aggregates to "
            "replay to it.",
        },
    )
    assert anonymous.status_code == 401


async def test_a_runtime_that_stops_stops_its_rebuild(
    running: Serving, client: httpx.AsyncClient, keys: Keys
) -> None:
    await sent(running, client, "slow")
    close_gate(running)
    operator = {"authorization": f"Bearer {token(keys)}"}
    await client.post("/perform-replay/v2", json={}, headers=operator)
    await gate(running).reached.wait()

    await running.runtime._stop_background()

    assert await running.runtime.domain.tables.store.count("messages") == 1
    with pytest.raises(ParameterInvalid):
        await running.runtime.domain.tables.store.count(shadow_name("messages"))
    gate(running).open.set()
    await rebuild(running.runtime, GROUP)
