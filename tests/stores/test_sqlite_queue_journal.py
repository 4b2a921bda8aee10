"""The queue that one process owns, on SQLite: what its journal keeps across restarts, crashes
and units of work (the queue contract: ``test_sqlite``)."""

from __future__ import annotations

import asyncio
import errno
import json
import sqlite3
import sys
import textwrap
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from pathlib import Path
from typing import Any

import pytest

from tests.stores.helpers import eventually
from wolkenkit.errors import StoreError
from wolkenkit.stores import factory, journaled_queue
from wolkenkit.stores.journaled_queue import JournaledPriorityQueueStore
from wolkenkit.stores.sqlite.database import open_shared, release
from wolkenkit.testing.contracts.priority_queue_store import (
    LONG_EXPIRATION_TIME,
    QueueItem,
    Store,
    does_identifier_match_item,
)


@pytest.fixture
def options(tmp_path: Path) -> dict[str, Any]:
    return {"type": "Sqlite", "fileName": str(tmp_path / "wolkenkit.db")}


async def _journaled(
    options: dict[str, Any], expiration_time: int = LONG_EXPIRATION_TIME
) -> JournaledPriorityQueueStore[QueueItem, str]:
    store = await factory.create_priority_queue_store(
        options, QueueItem, does_identifier_match_item, expiration_time, sole_user=True
    )
    assert isinstance(store, JournaledPriorityQueueStore)
    await store.setup()
    return store


@asynccontextmanager
async def _owned_beside_shared(
    options: dict[str, Any],
) -> AsyncIterator[tuple[JournaledPriorityQueueStore[QueueItem, str], Store]]:
    """The journaled store, and the shared queue of the same tables, as another process (a
    ``wk replay``) uses it beside the owner."""
    store = await _journaled(options)
    shared = await factory.create_priority_queue_store(
        options, QueueItem, does_identifier_match_item
    )
    await shared.setup()
    try:
        yield store, shared
    finally:
        await shared.destroy()
        await store.destroy()


async def _drain(store: Store) -> list[str]:
    texts: list[str] = []
    while (locked := await store.lock_next()) is not None:
        texts.append(locked.item.text)
        await store.acknowledge(locked.metadata.discriminator, locked.metadata.token)
    return texts


async def _drained_after_restart(options: dict[str, Any]) -> list[str]:
    """What a journaled store opened anew on the file hands out, in order."""
    store = await _journaled(options)
    try:
        return await _drain(store)
    finally:
        await store.destroy()


def _journal_rows(options: dict[str, Any]) -> int:
    with closing(sqlite3.connect(options["fileName"])) as connection:
        return int(connection.execute('SELECT count(*) FROM "items-journal"').fetchone()[0])


async def test_other_backends_ignore_being_the_sole_user() -> None:
    store = await factory.create_priority_queue_store(
        {"type": "InMemory"}, QueueItem, does_identifier_match_item, sole_user=True
    )
    assert not isinstance(store, JournaledPriorityQueueStore)


async def test_what_was_accepted_and_not_done_is_queued_again_in_order(
    options: dict[str, Any],
) -> None:
    store = await _journaled(options)
    for text in ["a1", "b1", "a2", "b2"]:
        await store.enqueue(QueueItem(id=text, text=text), text[0], int(text[1]))
    locked = await store.lock_next()
    assert locked is not None
    assert locked.item.text == "a1"
    await store.acknowledge(locked.metadata.discriminator, locked.metadata.token)
    # Locked but not acknowledged when the process goes: handed out again.
    assert (await store.lock_next()) is not None
    await store.destroy()

    assert await _drained_after_restart(options) == ["b1", "a2", "b2"]
    assert _journal_rows(options) == 0


async def test_removed_items_stay_removed(options: dict[str, Any]) -> None:
    store = await _journaled(options)
    await store.enqueue(QueueItem(id="x", text="x"), "a", 1)
    await store.enqueue(QueueItem(id="y", text="y"), "a", 2)
    await store.remove("a", "y")
    await store.destroy()

    assert await _drained_after_restart(options) == ["x"]


async def test_done_items_leave_the_journal_without_waiting_for_the_destroy(
    options: dict[str, Any],
) -> None:
    store = await _journaled(options)
    try:
        for number in range(20):
            await store.enqueue(QueueItem(id=str(number)), str(number), number)
        assert _journal_rows(options) == 20
        assert len(await _drain(store)) == 20
        await eventually(lambda: _journal_rows(options) == 0)
        assert _journal_rows(options) == 0
    finally:
        await store.destroy()


async def test_a_journal_belongs_to_one_store_at_a_time(options: dict[str, Any]) -> None:
    store = await _journaled(options)
    with pytest.raises(StoreError, match="keeps its queue of commands to itself"):
        await _journaled(options)
    await store.destroy()
    # Given back, it is the next one's.
    again = await _journaled(options)
    await again.destroy()


async def test_a_file_system_without_locks_runs_without_the_guard(
    options: dict[str, Any], monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # (No such file system here: flock fails as it does on one, with ENOLCK.)
    def no_locks(descriptor: int, operation: int) -> None:
        raise OSError(errno.ENOLCK, "No locks available")

    monkeypatch.setattr("fcntl.flock", no_locks)
    store = await _journaled(options)
    await store.enqueue(QueueItem(id="1", text="kept"), "a", 1)
    await store.destroy()
    assert "nothing keeps a second process off the queue" in caplog.text
    monkeypatch.undo()
    assert await _drained_after_restart(options) == ["kept"]


async def test_other_processes_can_tell_that_the_queue_is_owned(options: dict[str, Any]) -> None:
    assert not factory.is_priority_queue_owned(options)
    store = await _journaled(options)
    # The probe runs in a process of its own, as wk dev's check would.
    probe = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        "import json, sys; from wolkenkit.stores import factory; "
        "print(factory.is_priority_queue_owned(json.loads(sys.argv[1])))",
        json.dumps(options),
        stdout=asyncio.subprocess.PIPE,
    )
    stdout, _ = await probe.communicate()
    await store.destroy()
    assert stdout.decode().strip() == "True"
    assert not factory.is_priority_queue_owned(options)
    assert not factory.is_priority_queue_owned({"type": "InMemory"})


async def test_items_of_the_shared_queue_move_into_the_journal(options: dict[str, Any]) -> None:
    shared = await factory.create_priority_queue_store(
        options, QueueItem, does_identifier_match_item
    )
    await shared.setup()
    await shared.enqueue(QueueItem(id="1", text="first"), "a", 1)
    await shared.enqueue(QueueItem(id="2", text="second"), "a", 2)
    await shared.destroy()

    assert await _drained_after_restart(options) == ["first", "second"]
    with closing(sqlite3.connect(options["fileName"])) as connection:
        assert connection.execute('SELECT count(*) FROM "items"').fetchone()[0] == 0


async def test_items_another_process_queues_meanwhile_are_taken_over(
    options: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # (A wk replay beside the runtime queues the commands its flows issue where the shared
    # queue of these tables keeps them.)
    monkeypatch.setattr(journaled_queue, "TAKE_OVER_INTERVAL_SECONDS", 0.05)
    async with _owned_beside_shared(options) as (store, shared):
        assert await store.lock_next() is None
        await shared.enqueue(QueueItem(id="1", text="from elsewhere"), "a", 1)
        await asyncio.sleep(0.06)
        assert await _drain(store) == ["from elsewhere"]
    assert await _drained_after_restart(options) == []


async def test_an_item_enqueued_in_a_unit_of_work_waits_for_its_commit(
    options: dict[str, Any],
) -> None:
    store = await _journaled(options)
    database = open_shared(options["fileName"], "test")
    try:
        async with database.transaction():
            await store.enqueue(QueueItem(id="1", text="committed"), "a", 1)
            assert await store.lock_next() is None
        assert await _drain(store) == ["committed"]

        async def enqueue_and_fail(text: str) -> None:
            async with database.transaction():
                await store.enqueue(QueueItem(id=text, text=text), "a", 2)
                raise RuntimeError("undone")

        with pytest.raises(RuntimeError):
            await enqueue_and_fail("rolled back")
        async with database.transaction():
            with pytest.raises(RuntimeError):
                await enqueue_and_fail("savepoint undone")
            await store.enqueue(QueueItem(id="4", text="kept"), "a", 4)
        assert await _drain(store) == ["kept"]
    finally:
        release(database)
        await store.destroy()
    assert _journal_rows(options) == 0


_ENQUEUE_AND_DIE = """
import asyncio, os, sys
from wolkenkit.stores import factory, journaled_queue
from wolkenkit.testing.contracts.priority_queue_store import (
    QueueItem, does_identifier_match_item,
)

async def main() -> None:
    options = {"type": "Sqlite", "fileName": sys.argv[1]}
    store = await factory.create_priority_queue_store(
        options, QueueItem, does_identifier_match_item, sole_user=True
    )
    await store.setup()

    async def accept(n: int) -> None:
        item = QueueItem(id=str(n), text=str(n))
        if sys.argv[2] == "enqueue":
            await store.enqueue(item, str(n % 7), n)
        else:
            # Handed over at once, and nobody acknowledges it: journaled once due.
            await store.enqueue_and_wake(item, str(n % 7), n, lambda: None)

    await asyncio.gather(*(accept(n) for n in range(200)))
    print("accepted", flush=True)
    os.kill(os.getpid(), 9)

asyncio.run(main())
"""


@pytest.mark.parametrize("accepting", ["enqueue", "enqueue_and_wake"])
async def test_a_killed_process_loses_no_accepted_item(
    options: dict[str, Any], accepting: str
) -> None:
    script = textwrap.dedent(_ENQUEUE_AND_DIE)
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-c",
        script,
        options["fileName"],
        accepting,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    stdout, stderr = await asyncio.wait_for(process.communicate(), timeout=60)
    assert stdout.decode().strip() == "accepted", stderr.decode()
    assert process.returncode == -9
    # The kernel gave its ownership back with the process.
    texts = await _drained_after_restart(options)
    assert sorted(texts, key=int) == [str(n) for n in range(200)]


async def test_a_recoverable_item_is_queued_without_a_journal_entry(
    options: dict[str, Any],
) -> None:
    # (The runtime's flows get a stored event so: the event store is its journal.)
    store = await _journaled(options)
    try:
        store.enqueue_recoverable(QueueItem(id="1", text="stored elsewhere"), "a", 1)
        rows_while_queued = _journal_rows(options)
        settled_while_queued = store.is_settled()
        assert await _drain(store) == ["stored elsewhere"]
        assert store.is_settled()
    finally:
        await store.destroy()
    assert (rows_while_queued, settled_while_queued) == (0, False)
    assert await _drained_after_restart(options) == []


async def test_an_item_acknowledged_in_a_unit_of_work_is_done_once_it_commits(
    options: dict[str, Any],
) -> None:
    store = await _journaled(options)
    database = open_shared(options["fileName"], "test")
    try:
        await store.enqueue(QueueItem(id="1", text="journaled"), "a", 1)
        store.enqueue_recoverable(QueueItem(id="2", text="recoverable"), "b", 2)

        async def acknowledge_both_and_fail() -> None:
            async with database.transaction():
                for _ in range(2):
                    locked = await store.lock_next()
                    assert locked is not None
                    await store.acknowledge(locked.metadata.discriminator, locked.metadata.token)
                raise RuntimeError("undone")

        with pytest.raises(RuntimeError):
            await acknowledge_both_and_fail()
        # Undone: the journal keeps the one (queued again at the next start), and the other
        # is not counted as handled (the flows' recovery finds it again).
        await asyncio.sleep(0.05)
        assert (_journal_rows(options), store.is_settled()) == (1, False)
    finally:
        release(database)
        await store.destroy()
    assert await _drained_after_restart(options) == ["journaled"]

    store = await _journaled(options)
    database = open_shared(options["fileName"], "test")
    try:
        await store.enqueue(QueueItem(id="3", text="journaled"), "a", 3)
        store.enqueue_recoverable(QueueItem(id="4", text="recoverable"), "b", 4)
        async with database.transaction():
            for _ in range(2):
                locked = await store.lock_next()
                assert locked is not None
                await store.acknowledge(locked.metadata.discriminator, locked.metadata.token)
            settled_before_the_commit = store.is_settled()
        await asyncio.sleep(0.05)
        assert (_journal_rows(options), store.is_settled()) == (0, True)
    finally:
        release(database)
        await store.destroy()
    assert not settled_before_the_commit


async def test_what_others_queue_is_taken_over_while_the_queue_is_busy(
    options: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    # (A rebuild beside the runtime waits for its barriers to come up.)
    monkeypatch.setattr(journaled_queue, "TAKE_OVER_INTERVAL_SECONDS", 0.05)
    async with _owned_beside_shared(options) as (store, shared):
        for number in range(3):
            store.enqueue_recoverable(QueueItem(id=str(number), text=f"own {number}"), "a", 0)
        assert await store.lock_next() is not None
        await shared.enqueue(QueueItem(id="x", text="from elsewhere"), "b", 1)
        await asyncio.sleep(0.06)
        locked = await store.lock_next()
    assert locked is not None
    assert locked.item.text == "from elsewhere"


def _count_journal_inserts(options: dict[str, Any]) -> None:
    """From now on, every row written into the journal leaves a row in ``journal_inserts``
    too (a trigger: it sees the store's own connection)."""
    with closing(sqlite3.connect(options["fileName"])) as connection:
        connection.executescript(
            """
            CREATE TABLE journal_inserts (position INTEGER);
            CREATE TRIGGER count_journal_inserts AFTER INSERT ON "items-journal"
            BEGIN INSERT INTO journal_inserts VALUES (new.position); END;
            """
        )


@asynccontextmanager
async def _counting(
    options: dict[str, Any],
) -> AsyncIterator[JournaledPriorityQueueStore[QueueItem, str]]:
    """A journaled store whose journal counts its inserts (``_journal_inserts``), destroyed
    at the block's end."""
    store = await _journaled(options)
    _count_journal_inserts(options)
    try:
        yield store
    finally:
        await store.destroy()


def _journal_inserts(options: dict[str, Any]) -> int:
    with closing(sqlite3.connect(options["fileName"])) as connection:
        return int(connection.execute("SELECT count(*) FROM journal_inserts").fetchone()[0])


async def _handed_over(
    store: JournaledPriorityQueueStore[QueueItem, str], text: str, discriminator: str = "a"
) -> tuple[asyncio.Task[None], list[str]]:
    """``enqueue_and_wake`` of an item, as a task, and what its ``wake`` saw."""
    woken: list[str] = []
    accepting = asyncio.create_task(
        store.enqueue_and_wake(
            QueueItem(id=text, text=text), discriminator, 1, lambda: woken.append(text)
        )
    )
    await asyncio.sleep(0)
    return accepting, woken


async def test_an_item_handed_over_and_done_in_time_never_touches_the_journal(
    options: dict[str, Any],
) -> None:
    async with _counting(options) as store:
        accepting, woken = await _handed_over(store, "quick")
        # A worker may have it at once, before anything is written.
        locked = await store.lock_next()
        assert locked is not None
        assert (locked.item.text, woken, accepting.done()) == ("quick", ["quick"], False)
        await store.acknowledge(locked.metadata.discriminator, locked.metadata.token)
        await asyncio.wait_for(accepting, 5)
        # And one that is cancelled (removed) before it is handled.
        cancelled, _ = await _handed_over(store, "cancelled")
        await store.remove("a", "cancelled")
        await asyncio.wait_for(cancelled, 5)
        await asyncio.sleep(journaled_queue.JOURNAL_AFTER_SECONDS * 3)
        assert (_journal_inserts(options), _journal_rows(options)) == (0, 0)
    assert await _drained_after_restart(options) == []


async def test_an_item_not_done_in_time_is_journaled_before_its_caller_goes_on(
    options: dict[str, Any],
) -> None:
    async with _counting(options) as store:
        accepting, _ = await _handed_over(store, "slow")
        locked = await store.lock_next()
        assert locked is not None
        await asyncio.wait_for(accepting, 5)
        # Its caller went on only once it was in the journal: a crash now loses nothing.
        assert (_journal_inserts(options), _journal_rows(options)) == (1, 1)
        await store.acknowledge(locked.metadata.discriminator, locked.metadata.token)
        await eventually(lambda: _journal_rows(options) == 0)
        assert _journal_rows(options) == 0
        # Held items are journaled when the store goes, and their callers answered.
        left, _ = await _handed_over(store, "left when the store went")
    await asyncio.wait_for(left, 5)
    assert await _drained_after_restart(options) == ["left when the store went"]


async def test_an_item_done_while_its_entry_is_written_leaves_the_journal(
    options: dict[str, Any],
) -> None:
    async with _counting(options) as store:
        # Another connection holds the write lock: the entry, once due, waits to be written.
        blocker = sqlite3.connect(options["fileName"], isolation_level=None)
        try:
            blocker.execute("BEGIN IMMEDIATE")
            accepting, _ = await _handed_over(store, "done meanwhile")
            await asyncio.sleep(journaled_queue.JOURNAL_AFTER_SECONDS * 3)
            locked = await store.lock_next()
            assert locked is not None
            await store.acknowledge(locked.metadata.discriminator, locked.metadata.token)
            await asyncio.wait_for(accepting, 5)
            blocker.execute("COMMIT")
            await eventually(lambda: (_journal_inserts(options), _journal_rows(options)) == (1, 0))
            assert (_journal_inserts(options), _journal_rows(options)) == (1, 0)
        finally:
            blocker.close()
    assert await _drained_after_restart(options) == []


async def test_an_item_handed_over_in_a_unit_of_work_waits_for_its_commit(
    options: dict[str, Any],
) -> None:
    # (A flow's command commits with the flow's progress.)
    store = await _journaled(options)
    database = open_shared(options["fileName"], "test")
    woken: list[bool] = []
    try:
        async with database.transaction():
            item = QueueItem(id="1", text="with the unit")
            # A worker woken finds the item: not before the unit commits.
            await store.enqueue_and_wake(item, "a", 1, lambda: woken.append(store.is_settled()))
            assert await store.lock_next() is None
            assert (_journal_rows(options), woken) == (0, [])
        assert (_journal_rows(options), woken) == (1, [False])
    finally:
        release(database)
        await store.destroy()
    assert await _drained_after_restart(options) == ["with the unit"]
