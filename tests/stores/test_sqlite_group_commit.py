"""Group commit in ``SqliteDatabase``: concurrent writes share one transaction, each with its
own outcome, and every caller returns only once its work is committed.

Transactions are counted from the statements the real connection runs (SQLite's trace
callback), and what is committed is read through a second connection to the same file."""

from __future__ import annotations

import asyncio
import contextvars
import os
import sqlite3
import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import pytest

from wolkenkit.errors import StoreError
from wolkenkit.stores.sqlite import database as sqlite_database
from wolkenkit.stores.sqlite.database import SqliteDatabase


@pytest.fixture
async def database(tmp_path: Path) -> AsyncIterator[SqliteDatabase]:
    database = SqliteDatabase(str(tmp_path / "group.db"))
    await database.write(
        lambda connection: connection.execute('CREATE TABLE "rows" ("name" TEXT PRIMARY KEY)')
    )
    yield database
    database.close()


@pytest.fixture
def other_connection(database: SqliteDatabase) -> Iterator[sqlite3.Connection]:
    with closing(sqlite3.connect(database.file_name, isolation_level=None)) as connection:
        yield connection


@pytest.fixture
def transactions(database: SqliteDatabase) -> list[str]:
    """The write transactions that ``database`` begins from now on, and how each ends."""
    statements: list[str] = []
    connection = database._connection  # the real connection, to watch it
    assert connection is not None
    ends = {"BEGIN IMMEDIATE", "COMMIT", "ROLLBACK"}
    connection.set_trace_callback(
        lambda statement: statements.append(statement) if statement in ends else None
    )
    return statements


def begun(transactions: list[str]) -> int:
    return transactions.count("BEGIN IMMEDIATE")


def committed_rows(file_name: str) -> list[str]:
    """The rows as another connection reads them."""
    with closing(sqlite3.connect(file_name)) as connection:
        return [name for (name,) in connection.execute('SELECT "name" FROM "rows"')]


def committed(connection: sqlite3.Connection) -> set[str]:
    return {name for (name,) in connection.execute('SELECT "name" FROM "rows"')}


async def insert(database: SqliteDatabase, name: str) -> str:
    def work(connection: sqlite3.Connection) -> str:
        connection.execute('INSERT INTO "rows" VALUES (?)', (name,))
        return name

    return await database.write(work)


async def test_concurrent_writes_share_one_transaction(
    database: SqliteDatabase, transactions: list[str], other_connection: sqlite3.Connection
) -> None:
    names = [f"row {index}" for index in range(10)]

    results = await asyncio.gather(*(insert(database, name) for name in names))

    assert results == names
    assert begun(transactions) == 1
    assert committed(other_connection) == set(names)


async def test_every_caller_returns_only_after_the_commit(
    database: SqliteDatabase, other_connection: sqlite3.Connection
) -> None:
    names = [f"row {index}" for index in range(5)]

    async def insert_and_look(name: str) -> set[str]:
        await insert(database, name)
        # Another connection sees only committed rows: the whole group is there.
        return committed(other_connection)

    seen = await asyncio.gather(*(insert_and_look(name) for name in names))

    assert seen == [set(names)] * len(names)


async def test_a_failing_work_is_rolled_back_alone(
    database: SqliteDatabase, transactions: list[str], other_connection: sqlite3.Connection
) -> None:
    def insert_then_fail(connection: sqlite3.Connection) -> None:
        connection.execute('INSERT INTO "rows" VALUES (?)', ("failed",))
        raise ValueError("the work changed its mind")

    outcomes = await asyncio.gather(
        insert(database, "first"),
        database.write(insert_then_fail),
        insert(database, "last"),
        return_exceptions=True,
    )

    assert outcomes[0] == "first"
    assert isinstance(outcomes[1], ValueError)
    assert outcomes[2] == "last"
    # Rolled back when the work failed, and begun again without it: one commit.
    assert transactions == ["BEGIN IMMEDIATE", "ROLLBACK", "BEGIN IMMEDIATE", "COMMIT"]
    assert committed(other_connection) == {"first", "last"}


async def test_a_group_runs_its_works_without_a_savepoint_each(database: SqliteDatabase) -> None:
    # Two statements per work saved: a failing work is undone by beginning again without it.
    statements: list[str] = []
    connection = database._connection  # the real connection, to watch it
    assert connection is not None
    connection.set_trace_callback(statements.append)

    await asyncio.gather(*(insert(database, f"row {index}") for index in range(5)))

    assert statements[0] == "BEGIN IMMEDIATE"
    assert statements[-1] == "COMMIT"
    assert not [s for s in statements if s.startswith(("SAVEPOINT", "RELEASE", "ROLLBACK"))]


async def test_a_work_that_sqlite_refuses_fails_alone_as_a_store_error(
    database: SqliteDatabase, other_connection: sqlite3.Connection
) -> None:
    await insert(database, "taken")

    outcomes = await asyncio.gather(
        insert(database, "new"), insert(database, "taken"), return_exceptions=True
    )

    assert outcomes[0] == "new"
    assert isinstance(outcomes[1], StoreError)
    assert "UNIQUE constraint failed" in str(outcomes[1])
    assert committed(other_connection) == {"taken", "new"}


async def test_a_cancelled_caller_s_work_is_left_out(
    database: SqliteDatabase, other_connection: sqlite3.Connection
) -> None:
    cancelled = asyncio.ensure_future(insert(database, "cancelled"))
    kept = asyncio.ensure_future(insert(database, "kept"))
    await asyncio.sleep(0)  # both are waiting for their transaction now
    cancelled.cancel()

    assert await kept == "kept"
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert committed(other_connection) == {"kept"}


async def test_writes_wait_for_another_connection_s_write_lock_and_then_commit(
    database: SqliteDatabase, other_connection: sqlite3.Connection
) -> None:
    other_connection.execute("BEGIN IMMEDIATE")
    first = asyncio.ensure_future(insert(database, "first"))
    # Some retries later, a second write joins the waiting one.
    for _ in range(20):
        await asyncio.sleep(0.001)
    second = asyncio.ensure_future(insert(database, "second"))
    await asyncio.sleep(0.001)
    assert not first.done()
    other_connection.execute("COMMIT")

    assert [await first, await second] == ["first", "second"]
    assert committed(other_connection) == {"first", "second"}


async def insert_turn_by_turn(database: SqliteDatabase) -> list[str]:
    """Two inserts in this turn of the event loop, then one in each of the next three; the
    rows' names."""

    async def insert_after(turns: int, name: str) -> None:
        for _ in range(turns):
            await asyncio.sleep(0)
        await insert(database, name)

    turns = (0, 0, 1, 2, 3)
    names = [f"row {index}" for index in range(len(turns))]
    await asyncio.gather(*map(insert_after, turns, names))
    return names


async def test_writes_that_come_turn_after_turn_commit_together(
    database: SqliteDatabase,
    transactions: list[str],
    other_connection: sqlite3.Connection,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Under load every turn of the loop brings writes: one commit holds several turns' worth
    # (committing at the end of each turn, these would have taken four transactions). (No
    # time limit here: a slow machine may take 2 ms for a few turns.)
    monkeypatch.setattr(sqlite_database, "GATHER_SECONDS", 60.0)
    names = await insert_turn_by_turn(database)

    assert begun(transactions) == 1
    assert committed(other_connection) == set(names)


@pytest.mark.parametrize(
    ("setting", "value"), [("GATHER_UP_TO", 3), ("GATHER_SECONDS", 0.0)], ids=["count", "time"]
)
async def test_gathering_writes_ends_at_its_limits(
    database: SqliteDatabase,
    transactions: list[str],
    monkeypatch: pytest.MonkeyPatch,
    setting: str,
    value: float,
) -> None:
    # A stream of writes that never lets up still commits: once so many wait, or once the
    # first has waited so long.
    monkeypatch.setattr(sqlite_database, setting, value)
    names = await insert_turn_by_turn(database)

    assert begun(transactions) > 1
    assert sorted(committed_rows(database.file_name)) == names


def _commits_by_thread(database: SqliteDatabase) -> list[str]:
    """The threads that run the database's COMMITs from now on, in order."""
    threads: list[str] = []
    connection = database._connection  # the real connection, to watch it
    assert connection is not None

    def trace(statement: str) -> None:
        if statement == "COMMIT":
            threads.append(threading.current_thread().name)

    connection.set_trace_callback(trace)
    return threads


async def test_groups_of_up_to_64_writes_commit_on_the_loop(database: SqliteDatabase) -> None:
    # Appending some pages to the WAL costs the loop less than a trip to the committing
    # thread and back, which needs the GIL twice (see ``COMMIT_ON_LOOP_UP_TO``).
    threads = _commits_by_thread(database)

    await insert(database, "alone")
    await asyncio.gather(*(insert(database, f"row {index}") for index in range(64)))
    async with database.transaction():
        for index in range(64):
            await insert(database, f"run {index}")

    assert threads == [threading.current_thread().name] * 3


async def test_a_unit_of_many_writes_commits_in_the_thread(database: SqliteDatabase) -> None:
    # A rebuild writes many rows in one unit: its commit appends as many pages as a large
    # group's, and goes to the thread like one; a small unit does not.
    threads = _commits_by_thread(database)

    async with database.transaction():
        await insert(database, "one in a unit")
    async with database.transaction():
        for index in range(sqlite_database.COMMIT_ON_LOOP_UP_TO + 1):
            await insert(database, f"run {index}")

    assert threads[0] == threading.current_thread().name
    assert threads[1].startswith("wolkenkit-sqlite-commit")


def checkpoint_every_100_kb(database: SqliteDatabase, monkeypatch: pytest.MonkeyPatch) -> None:
    """A checkpoint every 100 KB of WAL, the WAL's size looked at after every commit."""
    monkeypatch.setattr(sqlite_database, "CHECKPOINT_BYTES", 100_000)
    monkeypatch.setattr(sqlite_database, "_MEASURE_EVERY", 1)
    database._checkpoint_due = 100_000


async def checkpoints_done(database: SqliteDatabase) -> None:
    """Once the checkpoint under way is done, both its steps: the committing thread runs
    its jobs in turn (the first step's end begins the second), and a read waits for the
    second."""
    loop = asyncio.get_running_loop()
    jobs_done: asyncio.Future[None] = loop.create_future()
    database._committer.run(lambda: None, loop, jobs_done, lambda: None)
    await jobs_done
    await database.fetch_all("SELECT 1")


async def test_the_wal_is_checkpointed_in_the_thread_never_in_a_commit(
    database: SqliteDatabase, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A checkpoint copies the WAL into the file and fsyncs both, tens of milliseconds: the
    # database runs it in its committing thread once the WAL has passed its limit, holding
    # the connection (so that the next write starts the WAL over), and no COMMIT on the loop
    # does it, nor the fsync of the WAL's header when the next write starts it over.
    checkpoint_every_100_kb(database, monkeypatch)
    statements: list[tuple[str, str]] = []
    connection = database._connection  # the real connection, to watch it
    assert connection is not None
    connection.set_trace_callback(
        lambda statement: statements.append((statement, threading.current_thread().name))
    )
    wal = Path(database.file_name + "-wal")

    for index in range(60):
        await insert(database, f"{index} " + "x" * 5_000)
    await checkpoints_done(database)
    await insert(database, "after")

    assert await database.fetch_all("PRAGMA wal_autocheckpoint") == [(0,)]
    checkpoints = [thread for statement, thread in statements if "wal_checkpoint" in statement]
    assert checkpoints
    assert all(thread.startswith("wolkenkit-sqlite-commit") for thread in checkpoints)
    assert os.stat(wal).st_size < 100_000
    assert len(committed_rows(database.file_name)) == 61
    # The write after each checkpoint started the WAL over, which fsyncs its new header: its
    # commit ran in the thread too.
    names = [statement for statement, _ in statements]
    for checkpoint in (index for index, name in enumerate(names) if "wal_checkpoint" in name):
        begin = names.index("BEGIN IMMEDIATE", checkpoint)
        assert statements[names.index("COMMIT", begin)][1].startswith("wolkenkit-sqlite-commit")


@pytest.mark.parametrize("group", [1, sqlite_database.COMMIT_ON_LOOP_UP_TO + 1])
async def test_writes_commit_while_most_of_the_wal_is_copied_aside(
    database: SqliteDatabase, monkeypatch: pytest.MonkeyPatch, group: int
) -> None:
    # A checkpoint's first step copies the WAL into the file from a connection of the
    # committing thread's own: the loop's writes commit meanwhile. Only the second step, the
    # pages committed since and the fsyncs, holds the connection (and starts the WAL over).
    # So it goes whether the WAL grew by commits on the loop or in the thread (``group``).
    checkpoint_every_100_kb(database, monkeypatch)
    loop = asyncio.get_running_loop()
    copying = asyncio.Event()
    release = threading.Event()
    connect = sqlite_database._connect

    def connect_held(file_name: str, description: str) -> sqlite3.Connection:
        # Only the thread's own connection is opened from now on: its copy waits for the test.
        connection = connect(file_name, description)

        def trace(statement: str) -> None:
            if "wal_checkpoint" in statement:
                loop.call_soon_threadsafe(copying.set)
                release.wait(timeout=30)

        connection.set_trace_callback(trace)
        return connection

    monkeypatch.setattr(sqlite_database, "_connect", connect_held)
    try:
        for index in range(100):
            if copying.is_set():
                break
            await asyncio.gather(
                *(insert(database, f"{index}.{row} " + "x" * 5_000) for row in range(group))
            )
        assert copying.is_set()

        await asyncio.wait_for(insert(database, "meanwhile"), timeout=5)

        assert "meanwhile" in committed_rows(database.file_name)
    finally:
        release.set()
    await checkpoints_done(database)
    await insert(database, "after")
    assert os.stat(database.file_name + "-wal").st_size < 100_000


async def test_a_commit_runs_off_the_loop_and_what_comes_meanwhile_commits_next_together(
    database: SqliteDatabase, other_connection: sqlite3.Connection
) -> None:
    # A group of many writes commits in a thread (with the checkpoints it may run, which
    # fsync): the loop goes on meanwhile, and the writes that come then wait and form the
    # next group. Busy, the database batches more; idle, it commits at once.
    loop = asyncio.get_running_loop()
    under_way = asyncio.Event()
    release = threading.Event()
    commits: list[str] = []

    def trace(statement: str) -> None:
        if statement == "COMMIT":
            commits.append(threading.current_thread().name)
            if not release.is_set():
                loop.call_soon_threadsafe(under_way.set)
                # The first commit stays under way until the test lets it go.
                release.wait(timeout=30)
        elif statement == "BEGIN IMMEDIATE":
            commits.append("begin")

    connection = database._connection  # the real connection, to watch it
    assert connection is not None
    connection.set_trace_callback(trace)
    many = sqlite_database.COMMIT_ON_LOOP_UP_TO + 1
    first = [asyncio.ensure_future(insert(database, f"first {index}")) for index in range(many)]
    # The loop runs while the first commit is under way.
    await asyncio.wait_for(under_way.wait(), timeout=30)
    others = [asyncio.ensure_future(insert(database, f"row {index}")) for index in range(5)]
    read = asyncio.ensure_future(database.fetch_all('SELECT count(*) FROM "rows"'))
    await asyncio.sleep(0.01)
    assert not any(write.done() for write in first)
    assert not read.done()
    release.set()

    assert await asyncio.gather(*first) == [f"first {index}" for index in range(many)]
    assert await asyncio.gather(*others) == [f"row {index}" for index in range(5)]
    # The read waited for the commit under way, and saw it.
    assert (await read)[0][0] >= many
    assert commits.count("begin") == 2
    # (The read's own COMMIT ends a read transaction, on the loop.)
    assert commits[1].startswith("wolkenkit-sqlite-commit")
    assert committed(other_connection) == {
        *(f"first {index}" for index in range(many)),
        *(f"row {index}" for index in range(5)),
    }


async def test_the_wal_is_checkpointed_every_16_mb_in_pages_of_2_kib(
    database: SqliteDatabase,
) -> None:
    # Each checkpoint copies every page the WAL holds into the file: a four times longer
    # WAL than SQLite's default copies the chat's hot pages a quarter as often.
    [(page_size,)] = await database.fetch_all("PRAGMA page_size")

    assert page_size == 2048
    assert sqlite_database.CHECKPOINT_BYTES == 16_000_000


async def test_a_file_made_with_another_page_size_keeps_it(tmp_path: Path) -> None:
    # The page size is fixed when the file is made: an earlier file keeps its own.
    file_name = str(tmp_path / "earlier.db")
    with sqlite3.connect(file_name) as earlier:
        earlier.execute("PRAGMA page_size = 4096")
        earlier.execute("CREATE TABLE t (x)")
    database = SqliteDatabase(file_name)
    try:
        assert await database.fetch_all("PRAGMA page_size") == [(4096,)]
    finally:
        database.close()


async def test_writes_that_waited_for_a_unit_commit_with_it_each_failing_alone(
    database: SqliteDatabase, other_connection: sqlite3.Connection
) -> None:
    # One savepoint for the whole group after the unit's own writes: a work that fails
    # having changed nothing (a taken key) fails alone, one that changed a row is undone by
    # going back to it and running the others again.
    await insert(database, "taken")
    statements: list[str] = []
    connection = database._connection  # the real connection, to watch it
    assert connection is not None
    connection.set_trace_callback(statements.append)

    def insert_then_fail(connection: sqlite3.Connection) -> None:
        connection.execute('INSERT INTO "rows" VALUES (?)', ("half",))
        raise ValueError("the work changed its mind")

    def outside(coroutine: Any) -> asyncio.Task[Any]:
        return asyncio.get_running_loop().create_task(coroutine, context=contextvars.Context())

    async with database.transaction():
        await insert(database, "unit")
        waiting = [
            outside(insert(database, "before")),
            outside(database.write(insert_then_fail)),
            outside(insert(database, "taken")),
            outside(insert(database, "after")),
        ]
        await asyncio.sleep(0.01)  # they wait for the unit
    outcomes = await asyncio.gather(*waiting, return_exceptions=True)

    assert outcomes[0] == "before"
    assert isinstance(outcomes[1], ValueError)
    assert isinstance(outcomes[2], StoreError)
    assert outcomes[3] == "after"
    assert committed(other_connection) == {"taken", "unit", "before", "after"}
    assert statements.count("SAVEPOINT work") == 1
    assert statements.count("ROLLBACK TO work") == 1


async def test_a_read_and_a_unit_get_their_turn_while_commits_follow_each_other(
    database: SqliteDatabase,
) -> None:
    # Writes keep coming, so that every commit in the thread ends with the next group
    # waiting: a read (a query, a flow's progress) and a unit of work (a flow's run) that
    # wait for the commit under way must still get in, soon, and not when the writes stop.
    stop, under_way = asyncio.Event(), asyncio.Event()
    pending: set[asyncio.Future[str]] = set()

    async def stream() -> None:
        count = 0
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            # Writes wait for every commit, but never more than a group's worth: a slow
            # machine meets a steady stream, not a growing flood.
            writes = database._writes.get(loop)
            if writes is None or len(writes.waiting) < 50:
                for _ in range(sqlite_database.COMMIT_ON_LOOP_UP_TO + 1):
                    count += 1
                    write = asyncio.ensure_future(insert(database, f"row {count}"))
                    pending.add(write)
                    write.add_done_callback(pending.discard)
            await asyncio.sleep(0)
            if database._committing is not None:
                under_way.set()

    async def unit() -> None:
        async with database.transaction():
            await insert(database, "in a unit")

    streaming = asyncio.create_task(stream())
    try:
        await asyncio.wait_for(under_way.wait(), timeout=10)
        read = asyncio.ensure_future(database.fetch_all('SELECT count(*) FROM "rows"'))
        await asyncio.wait_for(unit(), timeout=10)
        assert (await asyncio.wait_for(read, timeout=10))[0][0] > 0
        # (Still streaming: they did not wait for the writes to stop.)
        assert not streaming.done()
    finally:
        stop.set()
        await streaming
        await asyncio.gather(*pending)
    assert "in a unit" in committed_rows(database.file_name)
