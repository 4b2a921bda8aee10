"""The single-process runtime on SQLite (``wk dev``'s stores) queues the events commands store
for its flows in memory, without a journal entry each: after a kill (SIGKILL) the event store
is what it finds them in again (``wolkenkit.runtime.flow_recovery``).

The counting app's flow, made slow (5 ms per message, so at most 200 a second), falls behind
a burst of messages sent on several connections at once; the process is killed right after
the burst, with most messages stored and not counted yet.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from contextlib import closing
from pathlib import Path

from tests.application.app_files import write_app
from tests.application.counting_app import FILES
from tests.runtime.test_exactly_once import (
    PATIENCE_SECONDS,
    Stores,
    _count,
    _wait_for,
    runtime,
    send,
    sqlite_stores,
)
from tests.stores.helpers import set_up
from wolkenkit.messages import DomainEvent
from wolkenkit.runtime.composition import event_matches
from wolkenkit.runtime.flow_recovery import FLOWS_CHECKPOINT, FlowRecovery
from wolkenkit.stores import factory
from wolkenkit.stores.domain_event_store import DomainEventStore, KeepsCheckpoints
from wolkenkit.testing.contracts._messages import build_aggregate_identifier, build_domain_events

FLOW = "server/flows/counting.py"
#: The counting flow, slow.
SLOW = {
    **FILES,
    FLOW: """
        import asyncio

        from wolkenkit import DomainEvent, Flow, Rows

        from server.domain.communication.message import Sent
        from server.tables import Count

        flow = Flow()


        @flow.on(Sent)
        async def count(event: DomainEvent[Sent], counts: Rows[Count]) -> None:
            await asyncio.sleep(0.005)
            row = await counts.get("sent")
            await counts.upsert(Count(id="sent", count=1 if row is None else row.count + 1))
    """,
}
#: Messages in the burst, and the connections that send them.
BURST, CONNECTIONS = 600, 8


def _burst(port: int) -> None:
    with ThreadPoolExecutor(CONNECTIONS) as senders:
        list(senders.map(lambda number: send(port, f"message {number}"), range(BURST)))


async def test_recovery_queues_what_each_flow_has_not_handled_since_the_checkpoint(
    tmp_path: Path,
) -> None:
    options = {"type": "Sqlite", "fileName": str(tmp_path / "wolkenkit.db")}
    first, second = build_aggregate_identifier(), build_aggregate_identifier()
    async with (
        set_up(await factory.create_domain_event_store(options)) as events,
        set_up(await factory.create_consumer_progress_store(options)) as progress,
        set_up(
            await factory.create_priority_queue_store(
                options, DomainEvent, event_matches, sole_user=True
            )
        ) as queue,
    ):
        recovery = FlowRecovery.where_possible(events, progress, queue, ["counting", "other"])
        assert recovery is not None
        await events.store_domain_events(build_domain_events(first, 2))
        await events.store_domain_events(build_domain_events(second, 1))
        await progress.set_progress("counting", first, 1)

        queued = await recovery.recover()
        await recovery.checkpoint_if_quiet()  # not quiet: the queue holds them
        unsettled = await _checkpoint(events)
        handed_out = []
        with recovery.handling_command():
            while (locked := await queue.lock_next()) is not None:
                event = locked.item
                handed_out.append(
                    (
                        locked.metadata.discriminator,
                        event.aggregate_identifier.aggregate.id,
                        event.metadata.revision,
                    )
                )
                await queue.acknowledge(locked.metadata.discriminator, locked.metadata.token)
            await recovery.checkpoint_if_quiet()  # not quiet: a command is being handled
            handling = await _checkpoint(events)
        await recovery.checkpoint_if_quiet()
        quiet = await _checkpoint(events)
        queued_again = await recovery.recover()

    assert queued == 5
    assert sorted(handed_out) == sorted(
        [
            ("counting", first.aggregate.id, 2),
            ("counting", second.aggregate.id, 1),
            ("other", first.aggregate.id, 1),
            ("other", first.aggregate.id, 2),
            ("other", second.aggregate.id, 1),
        ]
    )
    assert (unsettled, handling, quiet, queued_again) == (0, 0, 3, 0)


async def _checkpoint(events: DomainEventStore) -> int:
    assert isinstance(events, KeepsCheckpoints)
    return await events.checkpoint(FLOWS_CHECKPOINT)


def _journaled(app: Path) -> int:
    """Items in the flow queue's journal (only what other processes queue lands there)."""
    with closing(sqlite3.connect(app / ".wolkenkit" / "wolkenkit.db")) as connection:
        query = 'SELECT count(*) FROM "items-domain-event-journal"'
        (count,) = connection.execute(query).fetchone()
    return int(count)


async def _checkpoint_and_last(stores: Stores) -> tuple[int, int]:
    store = await factory.create_domain_event_store(
        json.loads(stores.environment["DOMAIN_EVENT_STORE_OPTIONS"])
    )
    try:
        assert isinstance(store, KeepsCheckpoints)
        checkpoint = await store.checkpoint(FLOWS_CHECKPOINT)
        last = 0
        async for positioned in store.get_replay_by_position():
            last = positioned.position
    finally:
        await store.destroy()
    return checkpoint, last


def test_events_waiting_for_the_flows_at_a_kill_are_handled_after_the_restart(
    tmp_path: Path,
) -> None:
    app = write_app(tmp_path / "app", SLOW)
    log = tmp_path / "runtime.log"
    with sqlite_stores(app, apart=False) as stores:
        with runtime(app, stores, log) as killed:
            _burst(killed.port)
            # Stored, and queued for the flow in memory only.
            in_the_journal = _journaled(app)
            killed.process.send_signal(signal.SIGKILL)
            assert killed.process.wait(timeout=PATIENCE_SECONDS) == -signal.SIGKILL
        counted_before = asyncio.run(_count(stores)) or 0

        with runtime(app, stores, log):
            _wait_for(lambda: asyncio.run(_count(stores)) == BURST, "every message counted")
            # Quiet now: the checkpoint moves up to the last event within a second or so.
            _wait_for(
                lambda: len(set(asyncio.run(_checkpoint_and_last(stores)))) == 1,
                "the flows' checkpoint",
            )
        counted = asyncio.run(_count(stores))

    assert in_the_journal == 0
    assert counted_before < BURST
    # Each exactly once, none lost: what the flow had not handled was found again (the
    # commands not handled yet in their journal, the events stored in the event store), and
    # the progress told the handled ones apart.
    assert counted == BURST


def test_a_restart_after_a_quiet_stop_queues_nothing_again(tmp_path: Path) -> None:
    app = write_app(tmp_path / "app", SLOW)
    log = tmp_path / "runtime.log"
    with sqlite_stores(app, apart=False) as stores:
        with runtime(app, stores, log) as running:
            for text in ("one", "two"):
                send(running.port, text)
            _wait_for(lambda: asyncio.run(_count(stores)) == 2, "the messages counted")
        checkpoint, last = asyncio.run(_checkpoint_and_last(stores))
        with runtime(app, stores, log) as running:
            send(running.port, "three")
            _wait_for(lambda: asyncio.run(_count(stores)) == 3, "the third message counted")

    assert checkpoint == last == 2
    assert "Queued again" not in log.read_text()
