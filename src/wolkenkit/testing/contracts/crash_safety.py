"""The contract of durable backends under SIGKILL: a writer killed mid-batch leaves all or none
of each batch and keeps what it was told was committed; a queue worker's items come back once
its locks expire, and not before.

Writers and workers run in processes of their own, given the store options as JSON through
:mod:`wolkenkit.stores.factory`, so they meet the database exactly as the runtime's processes
do, and die as abruptly.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import signal
import sys
import textwrap
import time
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, ClassVar

import pytest

from wolkenkit.errors import ItemNotFound, ItemNotLocked, TokenMismatch
from wolkenkit.messages import new_id
from wolkenkit.stores import factory
from wolkenkit.testing.contracts.priority_queue_store import (
    QueueItem,
    Store,
    does_identifier_match_item,
)

#: Appends batches of 100 events (20 to each of 5 aggregates) until killed, printing the
#: name of every batch once ``store_domain_events`` has returned. (Its imports are few, as
#: five writers start at once.)
WRITER = textwrap.dedent(
    """
    import asyncio, json, sys
    from wolkenkit.messages import AggregateIdentifier, new_id
    from wolkenkit.stores import factory
    from wolkenkit.testing.builders import build_domain_event

    async def main():
        store = await factory.create_domain_event_store(json.loads(sys.argv[1]))
        identifiers = [AggregateIdentifier.of("crash", "writer", new_id()) for _ in range(5)]
        print("ready", flush=True)
        batch = 0
        while True:
            batch += 1
            first = (batch - 1) * 20 + 1
            data = {"batch": f"{sys.argv[2]}-{batch}"}
            await store.store_domain_events([
                build_domain_event(identifier, "written", data, revision=revision)
                for identifier in identifiers
                for revision in range(first, first + 20)
            ])
            print(data["batch"], flush=True)

    asyncio.run(main())
    """
)

#: Locks as many items as it is asked to and prints them, then renews their locks whenever it
#: reads a line, printing when each round of renewals started, until killed. The test drives
#: the renewals, so a busy machine cannot let them fall behind unnoticed. (Its item model
#: stands in for :class:`QueueItem`, whose module would import pytest.)
WORKER = textwrap.dedent(
    """
    import asyncio, json, sys, time
    from pydantic import BaseModel
    from wolkenkit.stores import factory

    class Item(BaseModel):
        id: str
        text: str = ""

    async def main():
        store = await factory.create_priority_queue_store(
            json.loads(sys.argv[1]), Item, lambda item, id: item.id == id, int(sys.argv[2])
        )
        print("ready", flush=True)
        held = [await store.lock_next() for _ in range(int(sys.argv[3]))]
        for locked in held:
            print(locked.metadata.discriminator, locked.item.id, locked.metadata.token, flush=True)
        while sys.stdin.readline():
            started = time.time()
            for locked in held:
                await store.renew_lock(locked.metadata.discriminator, locked.metadata.token)
            print(started, flush=True)

    asyncio.run(main())
    """
)

#: Slack (s) for clocks that round to milliseconds.
MARGIN = 0.025
#: How long (s) to wait for a process to say something: a guard against hanging, long enough
#: for a machine busy with other work, never a measure of speed.
PATIENCE = 300.0


@asynccontextmanager
async def _running(script: str, *arguments: str) -> AsyncIterator[asyncio.subprocess.Process]:
    """A Python process running ``script``, once it has said ``ready``; killed at the end
    if it still runs, so that a failing test leaves no process behind."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        script,
        *arguments,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
    try:
        assert await _read_line(process) == "ready"
        yield process
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        # The transports of the pipes close with the process; closing stdin ourselves too.
        if process.stdin is not None:
            process.stdin.close()


async def _read_line(process: asyncio.subprocess.Process) -> str:
    assert process.stdout is not None
    line = await asyncio.wait_for(process.stdout.readline(), timeout=PATIENCE)
    assert line, f"The process ended (exit code {await process.wait()}) instead of answering."
    return line.decode().strip()


async def _kill(process: asyncio.subprocess.Process) -> list[str]:
    """Kill the process and return the lines it printed that nobody has read yet."""
    assert process.stdout is not None
    os.kill(process.pid, signal.SIGKILL)
    output = await process.stdout.read()
    await process.wait()
    assert process.returncode == -signal.SIGKILL, "The process ended before it was killed."
    return output.decode().splitlines()


async def _renew(worker: asyncio.subprocess.Process) -> float:
    """Have the worker renew its locks; when (its clock) it started to."""
    assert worker.stdin is not None
    worker.stdin.write(b"renew\n")
    await worker.stdin.drain()
    return float(await _read_line(worker))


async def _write_until_killed(options: dict[str, Any], run: int) -> list[str]:
    """Start a writer, kill it at a random moment after its first batch (so that even a slow
    machine has written something to check), and return the batches it reported."""
    async with _running(WRITER, json.dumps(options), str(run)) as writer:
        first = await _read_line(writer)
        await asyncio.sleep(random.uniform(0.0, 0.35))
        return [first, *await _kill(writer)]


async def _take_and_acknowledge(store: Store) -> tuple[str, QueueItem, float] | None:
    """Lock the next item and acknowledge it: its discriminator, the item, and a moment by
    which the lock had been taken."""
    locked = await store.lock_next()
    if locked is None:
        return None
    taken = time.time()
    await store.acknowledge(locked.metadata.discriminator, locked.metadata.token)
    return locked.metadata.discriminator, locked.item, taken


class CrashSafetyContract:
    """What killed processes leave behind. Provide an ``options`` fixture: factory options
    for a database (file, schema) of the test's own, which other processes can open too."""

    #: How long (ms) the queue worker's locks live.
    expiration_time: ClassVar[int] = 2_000

    async def test_a_killed_writer_leaves_whole_batches_and_keeps_what_it_committed(
        self, options: dict[str, Any]
    ) -> None:
        # Five writers share the database, each killed at its own random moment. Writing
        # takes much of a writer's time, so most kills land inside a transaction.
        store = await factory.create_domain_event_store(options)
        await store.setup()
        runs = await asyncio.gather(*(_write_until_killed(options, run) for run in range(5)))
        acknowledged = [batch for batches in runs for batch in batches]

        revisions: dict[str, list[int]] = defaultdict(list)
        batches: Counter[str] = Counter()
        async for positioned in store.get_replay_by_position():
            domain_event = positioned.domain_event
            revisions[domain_event.aggregate_identifier.aggregate.id].append(
                domain_event.metadata.revision
            )
            batches[domain_event.data["batch"]] += 1
        await store.destroy()

        # Every batch that is there is there whole, and every acknowledged one is there.
        assert set(batches.values()) == {100}
        assert set(acknowledged) <= set(batches)
        assert len(acknowledged) > 0
        # Each aggregate's revisions run from 1 without gaps, and stop at a batch's end.
        for aggregate_revisions in revisions.values():
            assert aggregate_revisions == list(range(1, len(aggregate_revisions) + 1))
            assert len(aggregate_revisions) % 20 == 0

    async def test_a_killed_workers_items_come_back_once_its_locks_expire(
        self, options: dict[str, Any]
    ) -> None:
        # A worker process locks the heads of three queues and keeps renewing the locks.
        # While it lives, another worker (this test) asks for work in vain, even past the
        # first expiry.
        expiration = self.expiration_time / 1000
        store = await factory.create_priority_queue_store(
            options, QueueItem, does_identifier_match_item, self.expiration_time
        )
        await store.setup()
        queued = {
            f"queue-{index}": [QueueItem(id=new_id()) for _ in range(2)] for index in range(3)
        }
        for position in range(2):
            for discriminator, items in queued.items():
                await store.enqueue(items[position], discriminator, position)
        async with _running(WORKER, json.dumps(options), str(self.expiration_time), "3") as worker:
            held = [(await _read_line(worker)).split(" ") for _ in range(3)]
            assert sorted((discriminator, item_id) for discriminator, item_id, _ in held) == [
                (discriminator, items[0].id) for discriminator, items in queued.items()
            ]
            # Told to, it renews; asked for work right after, while the renewed locks surely
            # hold, this test gets none, up to well past the first locks' expiry.
            first_expiry = time.time() + expiration
            checked_after_first_expiry = False
            while not checked_after_first_expiry:
                last_renewal = await _renew(worker)
                if time.time() > last_renewal + expiration / 2:
                    continue  # This machine fell behind; a check now could prove nothing.
                asked = time.time()
                locked = await store.lock_next()
                assert locked is None or time.time() >= last_renewal + expiration - MARGIN, (
                    f"{locked.item.id} was handed out while its lock was renewed."
                )
                assert locked is None, (
                    "This machine stalled inside one call for longer than the lock lasts; "
                    "raise expiration_time."
                )
                checked_after_first_expiry = asked > first_expiry + MARGIN

            # Killed, it renews no more; its locks run out, and only then do its items come
            # back, each once, followed by the rest of their queues in order.
            await _kill(worker)
        processed: dict[str, list[QueueItem]] = defaultdict(list)
        taken_at: dict[str, float] = {}
        deadline = time.time() + expiration + PATIENCE
        while sum(map(len, processed.values())) < 6 and time.time() < deadline:
            taken = await _take_and_acknowledge(store)
            if taken is None:
                await asyncio.sleep(0.01)
                continue
            discriminator, item, at = taken
            processed[discriminator].append(item)
            taken_at.setdefault(discriminator, at)

        assert processed == queued
        assert min(taken_at.values()) >= last_renewal + expiration - MARGIN
        # The dead worker's tokens hold nothing any more.
        for discriminator, _, token in held:
            with pytest.raises((ItemNotFound, ItemNotLocked, TokenMismatch)):
                await store.acknowledge(discriminator, token)
        await store.destroy()
