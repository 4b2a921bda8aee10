"""Queue workers: an item that takes longer than its lock lasts keeps its lock (the renewer
renews it), so no second worker gets it; a quick item is acknowledged once."""

from __future__ import annotations

import asyncio
import itertools
import logging
from pathlib import Path

import pytest
from pydantic import BaseModel

from wolkenkit.runtime.workers import QueueWorkers, Verdict, Wakeup
from wolkenkit.stores import transactions
from wolkenkit.stores.memory.priority_queue_store import InMemoryPriorityQueueStore
from wolkenkit.stores.priority_queue_store import LockedItem
from wolkenkit.stores.sqlite import SqlitePriorityQueueStore
from wolkenkit.stores.sqlite.database import SqliteDatabase
from wolkenkit.stores.sqlite.options import PriorityQueueTableNames

#: The queue's locks last this long (ms), the workers renew them this often (ms).
EXPIRATION = 500
RENEW_INTERVAL = 100


class Job(BaseModel):
    name: str
    seconds: float


def make_queue() -> InMemoryPriorityQueueStore[Job, str]:
    return InMemoryPriorityQueueStore(lambda job, name: job.name == name, EXPIRATION)


async def run_jobs(
    jobs: list[Job], concurrency: int
) -> tuple[list[str], InMemoryPriorityQueueStore[Job, str]]:
    queue = make_queue()
    started: list[str] = []
    finished = asyncio.Event()

    async def process(locked: LockedItem[Job]) -> Verdict:
        started.append(locked.item.name)
        await asyncio.sleep(locked.item.seconds)
        if len(started) >= len(jobs):
            finished.set()
        return None

    wakeup = Wakeup()
    workers = QueueWorkers("jobs", queue, process, concurrency, RENEW_INTERVAL, wakeup)
    for job in jobs:
        await queue.enqueue(job, job.name, 0)
    workers.start()
    wakeup.notify(len(jobs))
    await asyncio.wait_for(finished.wait(), timeout=10)
    # Long enough for an idle worker to take over an item whose lock expired at the end.
    await asyncio.sleep(EXPIRATION / 1000)
    await workers.stop()
    return started, queue


async def test_a_long_item_keeps_its_lock_while_idle_workers_poll() -> None:
    # Three times as long as a lock lasts: without renewal, an idle worker would take it over.
    started, queue = await run_jobs([Job(name="long", seconds=3 * EXPIRATION / 1000)], 4)
    assert started == ["long"]
    assert await queue.lock_next() is None


async def test_many_quick_items_are_each_handled_once() -> None:
    jobs = [Job(name=f"job{number}", seconds=0.001) for number in range(50)]
    started, queue = await run_jobs(jobs, 8)
    assert sorted(started) == sorted(job.name for job in jobs)
    assert await queue.lock_next() is None


async def test_a_finished_item_is_not_renewed_and_logs_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.WARNING, "wolkenkit.runtime.workers")
    jobs = [Job(name=f"job{number}", seconds=RENEW_INTERVAL / 1000) for number in range(20)]
    await run_jobs(jobs, 20)
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]


async def test_a_worker_settles_an_item_and_locks_the_next_in_one_transaction(
    tmp_path: Path,
) -> None:
    # On SQLite every write transaction appends the pages it changed to the log: between
    # two items a busy worker needs one, not one to acknowledge and one to lock.
    database = SqliteDatabase(str(tmp_path / "queue.db"))
    queue: SqlitePriorityQueueStore[Job, str] = SqlitePriorityQueueStore(
        database,
        PriorityQueueTableNames(items="items", priority_queue="queue"),
        Job,
        lambda job, name: job.name == name,
        EXPIRATION,
    )
    await queue.setup()
    jobs = [Job(name=f"job{number}", seconds=0) for number in range(10)]
    for job in jobs:
        await queue.enqueue(job, "one queue", 0)
    begun: list[str] = []
    connection = database._connection  # the real connection, to watch it
    assert connection is not None
    connection.set_trace_callback(
        lambda statement: begun.append(statement) if statement == "BEGIN IMMEDIATE" else None
    )
    started: list[str] = []
    transactions_before: list[int] = []
    finished = asyncio.Event()

    async def process(locked: LockedItem[Job]) -> Verdict:
        started.append(locked.item.name)
        transactions_before.append(len(begun))
        if len(started) == len(jobs):
            finished.set()
        return None

    wakeup = Wakeup()
    workers = QueueWorkers("jobs", queue, process, 1, RENEW_INTERVAL, wakeup)
    workers.start()
    try:
        await asyncio.wait_for(finished.wait(), timeout=10)
    finally:
        await workers.stop()
        await queue.destroy()

    assert started == [job.name for job in jobs]
    # While items wait the worker never polls: one transaction from each item to the next.
    between = [later - earlier for earlier, later in itertools.pairwise(transactions_before)]
    assert between == [1] * (len(jobs) - 1)


async def test_with_a_unit_of_work_a_worker_commits_a_run_of_items_and_drops_a_failing_one(
    tmp_path: Path,
) -> None:
    # Each item's processing writes a row in a unit of its own, as a flow does; on SQLite the
    # worker handles the items it finds waiting in one transaction, settlements included,
    # and a failing item loses its row but not the others theirs.
    database = SqliteDatabase(str(tmp_path / "queue.db"))
    queue: SqlitePriorityQueueStore[Job, str] = SqlitePriorityQueueStore(
        database,
        PriorityQueueTableNames(items="items", priority_queue="queue"),
        Job,
        lambda job, name: job.name == name,
        EXPIRATION,
    )
    await queue.setup()
    await database.write(lambda connection: connection.execute('CREATE TABLE "done" ("name" TEXT)'))
    jobs = [Job(name=f"job{number}", seconds=0) for number in range(10)]
    for job in jobs:
        await queue.enqueue(job, "one queue", 0)
    begun: list[str] = []
    connection = database._connection  # the real connection, to watch it
    assert connection is not None
    connection.set_trace_callback(
        lambda statement: begun.append(statement) if statement == "BEGIN IMMEDIATE" else None
    )
    started: list[str] = []
    finished = asyncio.Event()

    async def process(locked: LockedItem[Job]) -> Verdict:
        name = locked.item.name
        started.append(name)
        if len(started) == len(jobs):
            finished.set()
        async with database.transaction():
            await database.write(
                lambda connection: connection.execute('INSERT INTO "done" VALUES (?)', (name,))
            )
            if name == "job4":
                raise ValueError("this item fails")
        return None

    wakeup = Wakeup()
    workers = QueueWorkers(
        "jobs", queue, process, 1, RENEW_INTERVAL, wakeup, unit_of_work=database.transaction
    )
    workers.start()
    try:
        await asyncio.wait_for(finished.wait(), timeout=10)
    finally:
        await workers.stop()
    done = await database.fetch_all('SELECT "name" FROM "done" ORDER BY rowid')
    remaining = await queue.lock_next()
    await queue.destroy()

    assert started == [job.name for job in jobs]
    assert [name for (name,) in done] == [job.name for job in jobs if job.name != "job4"]
    assert remaining is None
    # The first lock, then the run (a machine that stalls may split it, never per item).
    assert len(begun) < len(jobs) // 2


async def test_an_item_that_must_be_alone_is_handled_outside_any_run(tmp_path: Path) -> None:
    # An item that waits for others (a rebuild's barrier waits for the rebuild, whose writes
    # would wait for the run's transaction) ends the run before it and has none around it.
    database = SqliteDatabase(str(tmp_path / "queue.db"))
    queue: SqlitePriorityQueueStore[Job, str] = SqlitePriorityQueueStore(
        database,
        PriorityQueueTableNames(items="items", priority_queue="queue"),
        Job,
        lambda job, name: job.name == name,
        EXPIRATION,
    )
    await queue.setup()
    jobs = [Job(name=name, seconds=0) for name in ("first", "second", "barrier", "last")]
    for job in jobs:
        await queue.enqueue(job, "one queue", 0)
    in_a_run: dict[str, bool] = {}
    finished = asyncio.Event()

    async def process(locked: LockedItem[Job]) -> Verdict:
        in_a_run[locked.item.name] = transactions.joined(database) is not None
        if len(in_a_run) == len(jobs):
            finished.set()
        return None

    wakeup = Wakeup()
    workers = QueueWorkers(
        "jobs",
        queue,
        process,
        1,
        RENEW_INTERVAL,
        wakeup,
        unit_of_work=database.transaction,
        alone=lambda locked: locked.item.name == "barrier",
    )
    workers.start()
    try:
        await asyncio.wait_for(finished.wait(), timeout=10)
    finally:
        await workers.stop()
        await queue.destroy()

    assert in_a_run == {"first": True, "second": True, "barrier": False, "last": True}


async def test_idle_workers_poll_an_empty_queue_one_at_a_time() -> None:
    # Each idle worker polling on its own back-off made dozens of command workers poll the
    # queue every few milliseconds, which on SQLite costs a write each time; the group
    # polls once per back-off interval instead, whichever worker's turn it is.
    queue = make_queue()
    polls = 0
    lock_next = queue.lock_next

    async def counted_lock_next() -> LockedItem[Job] | None:
        nonlocal polls
        polls += 1
        return await lock_next()

    queue.lock_next = counted_lock_next  # type: ignore[method-assign]

    async def process(locked: LockedItem[Job]) -> Verdict:
        return None

    workers = QueueWorkers("jobs", queue, process, 20, RENEW_INTERVAL, Wakeup())
    workers.start()
    await asyncio.sleep(1.0)
    await workers.stop()

    # Within a second, after the first look every worker takes: the group's single timer,
    # armed with the back-off of whichever worker waits, polled 55 times here; 20 workers
    # each on their own back-off (10 ms doubling up to 500 ms) polled 140 times.
    assert polls <= 80
