"""One SQLite database file as the stores use it: a connection, transactions, and lock waits.

Every operation is a synchronous function of the connection that runs to completion on the
event loop in one go, so a transaction never stays open across an ``await`` (but for its
COMMIT, see below, and units of work). SQLite's own
busy handler is off (``busy_timeout = 0``) while serving: when another connection holds the
write lock, the attempt fails at once, is rolled back, and is retried after an asynchronous
sleep, so waiting for a lock never blocks the event loop. Only opening a file waits
synchronously, once, at start-up.

Group commit. A commit appends every page it changed to the WAL, whole, however little of it
changed: a command's handful of one-row writes (queue, events, progress) rewrote the same
few table and index pages again and again, ~120 KB per command. So writes are not run when
they are called but gathered, and run together in one transaction: a page that several of
them change is written once. They are gathered for as long as each turn of the event loop
brings more (see ``GATHER_UP_TO``): idle, a write commits one turn after it was called;
busy, one commit holds the writes of several turns. Each caller still gets its own outcome,
and every caller returns only after the COMMIT that holds its work. A work that raises fails
alone: it has changed nothing as a rule, and one that has is undone by beginning again
without it (rather than wrapping every work in a savepoint, two statements more each time,
for the rare failure).

The COMMIT itself runs on the loop: with ``synchronous=NORMAL`` it appends the pages to the
WAL without an fsync, some tens of µs for a group. What may take long runs in a thread of
the database's own (SQLite lets go of the GIL while it writes): every ~16 MB the checkpoint
that copies the WAL into the database file and fsyncs both (most of it from a connection of
the thread's own, while writes go on; see ``_checkpoint``), and the commit of a group or unit
of more than ``COMMIT_ON_LOOP_UP_TO`` writes (a rebuild's). Meanwhile the connection is the
thread's: writes that come wait and form the next group, reads and units wait for it to end
(and, if writes keep coming, go before the next group once they have waited
``TURN_PATIENCE_SECONDS``). (An in-memory database commits everything on the loop: there is
nothing to write.)

Units of work (``transaction``, see ``wolkenkit.stores.transactions``). A unit's writes must
answer at once (a handler reads what it just wrote, an update returns the row), and all of
them commit together with the flow's progress. So from its first write on, a unit holds the
connection's transaction: its own reads and writes run in it right away (a write that fails
has changed nothing, as every write checks before it changes and a failing statement undoes
itself, so it fails alone; one that changed rows and then failed takes the unit down), while
everybody else's wait until it ends. Its
commit is a group commit like any other, at the end of the event loop's turn, with the writes
that waited. Usually the unit ends in the same turn it began, and nobody notices; a unit that
awaits something slow holds the write lock meanwhile, as a long transaction does anywhere.
Units take turns: the next one begins once the one before has committed, so flows that run
side by side (``CONCURRENT_FLOWS`` above 1) commit a transaction each, where their writes
outside units would have shared one. A unit opened inside another one is a savepoint of it:
when its block raises, what it did is undone, and the outer unit goes on (a worker that
handles several items in one transaction drops a failing item's writes, not the others').
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import queue
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from contextlib import AbstractAsyncContextManager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from wolkenkit.awaiting import answer
from wolkenkit.errors import StoreError, StoreOptionsInvalid
from wolkenkit.stores import transactions
from wolkenkit.stores.transactions import SharedDatabase

T = TypeVar("T")

_logger = logging.getLogger(__name__)

MEMORY = ":memory:"
#: How long (seconds) an operation waits for another connection's write lock before failing.
BUSY_TIMEOUT = 10.0
#: The page size of a new database file. A commit appends every page it changed to the WAL,
#: whole: most of a command's pages are the last leaf of some table or index, changed by a
#: row or two, so half the page is half the bytes (the chat sample under ``wk dev``: ~22 %
#: fewer bytes per command than SQLite's default of 4096, at the same CPU per command;
#: ``benchmarks/disk_writes.py``). Smaller still costs CPU: at 1024 an event row no longer
#: fits a page well and the B-trees deepen. A file made earlier keeps its own size.
PAGE_SIZE = 2048
#: Bytes the WAL grows by before a commit checkpoints it.
CHECKPOINT_BYTES = 16_000_000
#: A group of at most this many writes (a unit of work's own included) commits on the event
#: loop: such a COMMIT only appends pages to the WAL (no fsync with ``synchronous=NORMAL``,
#: and no checkpoint: those run in the thread, see ``_checkpoint``), some tens of µs.
#: Handing it to the committing thread costs the loop more: the thread needs the GIL to
#: begin and to end each commit, and gets it from a busy loop only when the loop waits, in
#: a statement of its own or with nothing left to do, which it then does more often (the
#: chat sample under ``wk dev``: the loop idle 9 % of the time with commits of more than
#: four writes in the thread, 3 % with them on the loop, and ~4 % more commands processed
#: per second; ``benchmarks/disk_writes.py``). Larger groups (a rebuild's units) commit in
#: the thread, and the loop goes on meanwhile.
COMMIT_ON_LOOP_UP_TO = 64
#: Writes wait for their commit while each turn of the event loop brings more of them (up to
#: this many, for at most ``GATHER_SECONDS``): a command's handful of one-row writes changes
#: the same last pages of each table and index as the next command's, so the fewer commits
#: hold them, the fewer pages are written, and the less the loop spends committing. Idle, a
#: write commits one turn after it came; under load, once a turn has passed without one.
GATHER_UP_TO = 32
GATHER_SECONDS = 0.002
#: How long a reader, or a unit of work about to begin, waits at most for its turn while
#: commits of other writes follow each other (``_after_commit``).
TURN_PATIENCE_SECONDS = 0.02
#: The WAL's size is looked at after every this many commits on the loop (a ``stat`` costs
#: as much as the rest of a lone write's commit), and after every commit in the thread.
_MEASURE_EVERY = 16
_FIRST_RETRY_DELAY = 0.0005
_LONGEST_RETRY_DELAY = 0.01

Work = Callable[[sqlite3.Connection], T]


def quote(name: str) -> str:
    """An identifier for SQL: table names contain dashes, and may contain quotes."""
    return '"' + name.replace('"', '""') + '"'


def _is_busy(error: sqlite3.Error) -> bool:
    # Extended codes (BUSY_RECOVERY, BUSY_SNAPSHOT, ...) keep SQLITE_BUSY in the low byte.
    code = getattr(error, "sqlite_errorcode", None)
    return code is not None and code & 0xFF == sqlite3.SQLITE_BUSY


@dataclass(slots=True)
class _Write:
    work: Work[Any]
    answer: asyncio.Future[Any]


@dataclass(slots=True)
class _Writes:
    """The writes of one event loop that wait for their transaction."""

    waiting: list[_Write] = field(default_factory=list)
    #: Whether a commit of what waits is scheduled.
    scheduled: bool = False
    #: While another connection holds the write lock: when to give up, and the next wait.
    deadline: float | None = None
    delay: float = _FIRST_RETRY_DELAY
    #: How many groups were taken from ``waiting`` so far (a gathering that began before
    #: the last one was taken is over).
    taken: int = 0


@dataclass(eq=False)
class _Unit:
    """A unit of work on the database, from its block's start to its commit or rollback."""

    loop: asyncio.AbstractEventLoop
    ended: asyncio.Event = field(default_factory=asyncio.Event)
    #: It holds the connection's transaction (from its first write on).
    begun: bool = False
    #: Its block is over: it commits at the end of the turn, with the writes that wait.
    closing: bool = False
    #: What its block's end awaits: the outcome of its commit.
    committed: asyncio.Future[None] | None = None
    #: An error that ended its transaction early (SQLite rolls back on some I/O errors).
    lost: Exception | None = None
    #: What waits for its commit (``after_commit``), called once it has committed.
    after_commit: list[Callable[[], None]] = field(default_factory=list)
    #: How many units were opened inside it: each one's savepoint has a name of its own.
    nested: int = 0
    #: How many writes it ran: a unit of many commits in the thread, as a large group does.
    writes: int = 0

    def is_open(self) -> bool:
        return not self.closing and not self.ended.is_set()


class _Held(Exception):
    """A unit of work holds the connection's transaction, and the caller is not in it."""


class _TransactionLost(Exception):
    """A work's error ended the whole transaction (SQLite rolls back on some I/O errors):
    the works before it were undone too."""

    def __init__(self, index: int, error: Exception) -> None:
        super().__init__(str(error))
        self.index = index
        self.error = error


class SqliteDatabase(SharedDatabase):
    """A connection to one database file (or to a private in-memory database).

    ``write`` runs its work inside ``BEGIN IMMEDIATE``: the write lock is taken before the
    first read, so a read-modify-write cannot be overtaken by another connection or process.
    A threading lock lets threads share the connection; within one thread it is never
    contended. Writes are grouped per event loop.
    """

    def __init__(self, file_name: str, description: str = "SQLite store") -> None:
        """Open the file (creating it and its folder if needed); ``description`` names the
        store in the error raised when that fails."""
        self.file_name = file_name
        #: Set while the database is shared through ``open_shared``.
        self.shared_key: str | None = None
        self._lock = threading.Lock()
        self._connection: sqlite3.Connection | None = _connect(file_name, description)
        self._writes: dict[asyncio.AbstractEventLoop, _Writes] = {}
        #: The unit of work that holds the connection's transaction, if one does.
        self._unit: _Unit | None = None
        #: A file has a WAL: its large groups' commits and its checkpoints run in a thread of
        #: their own (an in-memory database commits everything on the loop).
        self._has_wal = file_name != MEMORY
        self._committer = _Committer()
        self._wal = file_name + "-wal"
        #: The WAL's size when last looked at (what it holds: see ``_connect``), the commits
        #: on the loop since, and the size past which the next checkpoint is due.
        self._wal_bytes = _size(self._wal) if self._has_wal else 0
        self._unmeasured_commits = 0
        self._checkpoint_due = CHECKPOINT_BYTES
        #: The connection of that thread's own that copies most of the WAL into the file
        #: while the loop's writes go on (``_copy_aside``), opened on first use; whether
        #: that copy is under way, or done with the rest of the checkpoint due.
        self._aside: sqlite3.Connection | None = None
        self._aside_lock = threading.Lock()
        self._closed = False
        self._copying_aside = False
        self._copied_aside = False
        #: The next commit starts the WAL over after a checkpoint: it fsyncs the WAL's new
        #: header and cuts the file back (~5 ms), so it runs in the thread too.
        self._starts_wal_over = False
        #: The commit under way in that thread, with the loop whose writes it holds.
        self._committing: tuple[asyncio.AbstractEventLoop, asyncio.Future[None]] | None = None
        #: Readers and units of work waiting for it to end (``_after_commit``), by loop,
        #: with when each began to wait (loop time).
        self._turns: dict[asyncio.AbstractEventLoop, list[tuple[float, asyncio.Future[None]]]] = {}

    nested_units_undo_alone = True

    @property
    def key(self) -> Hashable:
        # One connection, one transaction: stores share a unit of work only through the very
        # same database object (``open_shared`` gives one per file and process).
        return self

    @property
    def description(self) -> str:
        return f"the SQLite file {self.file_name}"

    def transaction(self) -> AbstractAsyncContextManager[None]:
        # A class rather than a generator: a flow opens one for every event it handles.
        return _Block(self)

    def close(self) -> None:
        # (Waits for a copy or a commit under way: each holds its lock.)
        with self._aside_lock:
            self._closed = True
            if self._aside is not None:
                self._aside.close()
                self._aside = None
        with self._lock:
            if self._connection is not None:
                self._connection.close()
                self._connection = None
        self._committer.stop()

    async def write(self, work: Work[T]) -> T:
        """Run ``work`` in a write transaction: committed if it returns, rolled back if it
        raises; returns (or raises) once that is done. The transaction may hold other
        callers' works too (see the module's description). ``work`` may run more than once,
        so it must change nothing but the database.

        Inside a unit of work, the work runs in the unit's transaction at once, and is
        committed with the unit."""
        loop = asyncio.get_running_loop()
        unit: _Unit | None = transactions.joined(self)
        if unit is not None and unit.loop is loop and unit.is_open():
            if not unit.begun:
                await self._begin(unit)
            return self._write_in(unit, work)
        writes = self._writes.get(loop)
        if writes is None:
            writes = self._writes[loop] = _Writes()
        answer: asyncio.Future[T] = loop.create_future()
        writes.waiting.append(_Write(work, answer))
        if not writes.scheduled:
            writes.scheduled = True
            # Run after the callbacks that are ready now, so that theirs join this one.
            loop.call_soon(self._gather, loop, writes, writes.taken, 1, loop.time())
        # A caller cancelled before its turn cancels the answer: its work is left out.
        return await answer

    def after_commit(self, callback: Callable[[], None]) -> bool:
        """Inside an open unit of work of this database: call ``callback`` once the unit has
        committed (never if it, or the savepoint the caller is in, is undone) and return
        ``True``. Anywhere else return ``False`` and do nothing: a ``write`` there has
        committed by the time it returns."""
        unit = self._open_unit()
        if unit is None:
            return False
        unit.after_commit.append(callback)
        return True

    def in_unit_of_work(self) -> bool:
        """Whether the caller is inside an open unit of work of this database (where its
        writes commit with the unit)."""
        return self._open_unit() is not None

    def _open_unit(self) -> _Unit | None:
        unit: _Unit | None = transactions.joined(self)
        if unit is None or unit.loop is not asyncio.get_running_loop() or not unit.is_open():
            return None
        return unit

    async def read(self, work: Work[T]) -> T:
        """Run ``work`` in a read transaction, which sees one consistent snapshot: never what
        a unit of work has written but not yet committed, unless the caller is in it."""
        loop = asyncio.get_running_loop()
        joined: _Unit | None = transactions.joined(self)
        while (holder := self._unit) is not None and holder.loop is loop:
            if holder is joined and holder.is_open():
                return self._read_in(holder, work)
            await holder.ended.wait()
        return await self._run(work, "BEGIN")

    async def fetch_all(self, sql: str, parameters: tuple[Any, ...] = ()) -> list[Any]:
        """The rows of one query."""
        return await self.read(lambda connection: connection.execute(sql, parameters).fetchall())

    def _gather(
        self,
        loop: asyncio.AbstractEventLoop,
        writes: _Writes,
        taken: int,
        counted: int,
        since: float,
    ) -> None:
        """Commit the writes that wait once a turn of the loop has brought no more of them
        (``counted`` waited a turn ago), or once ``GATHER_UP_TO`` wait, or the first has
        waited ``GATHER_SECONDS``: under load, one commit holds the writes of several turns."""
        if writes.taken != taken:
            # Committed meanwhile (a unit of work that closed took them along).
            return
        waiting = len(writes.waiting)
        if counted < waiting < GATHER_UP_TO and loop.time() - since < GATHER_SECONDS:
            loop.call_soon(self._gather, loop, writes, taken, waiting, since)
            return
        self._commit_waiting(loop, writes)

    def _commit_waiting(self, loop: asyncio.AbstractEventLoop, writes: _Writes) -> None:
        try:
            self._commit_group(loop, writes)
        finally:
            if loop in self._turns and self._committing_on(loop) is None:
                # No commit under way that would end with letting them in.
                self._let_in(loop)

    def _commit_group(self, loop: asyncio.AbstractEventLoop, writes: _Writes) -> None:
        writes.scheduled = False
        if self._committing_on(loop) is not None:
            # The writes join the next group, once the commit under way is done.
            return
        unit = self._unit
        # A unit whose block is over commits now, with what waited for it.
        closing = unit if unit is not None and unit.loop is loop and unit.closing else None
        group = [write for write in writes.waiting if not write.answer.done()]
        writes.waiting.clear()
        writes.taken += 1
        if not group and closing is None:
            self._forget(loop, writes)
            return
        failure: Exception | None = None
        to_commit = False
        try:
            outcomes, to_commit = self._run_group([write.work for write in group], closing)
        except _TransactionLost as lost:
            # Only its own caller gets the error; the others go again, in a new transaction.
            # A unit's writes were in the lost transaction: they are gone, and it fails.
            self._answer(group.pop(lost.index), _Failed(lost.error))
            if closing is not None:
                self._end(closing, lost.error)
            self._retry(loop, writes, group, 0.0)
            return
        except _Held:
            self._wait_for_lock(loop, writes, group)
            return
        except sqlite3.Error as error:
            if _is_busy(error) and closing is None:
                self._wait_for_lock(loop, writes, group)
                return
            failure = error
            outcomes = [_Failed(error)] * len(group)
        except Exception as error:
            failure = error
            outcomes = [_Failed(error)] * len(group)
        except BaseException:
            for write in group:
                write.answer.cancel()
            if closing is not None:
                self._end(closing, StoreError("The commit was interrupted."))
            raise
        else:
            writes.deadline = None
            writes.delay = _FIRST_RETRY_DELAY
        if not to_commit:
            self._settle(loop, group, outcomes, closing, failure)
            return
        written = len(group) + (closing.writes if closing is not None else 0)
        if self._has_wal and (written > COMMIT_ON_LOOP_UP_TO or self._starts_wal_over):
            self._in_thread(loop, self._commit_in_thread, group, outcomes, closing)
            return
        try:
            self._commit_now()
            if self._has_wal:
                self._unmeasured_commits += 1
                if self._unmeasured_commits >= _MEASURE_EVERY:
                    self._unmeasured_commits = 0
                    self._wal_bytes = _size(self._wal)
        except Exception as error:
            failure = error
            outcomes = [_Failed(error)] * len(group)
        except BaseException:
            for write in group:
                write.answer.cancel()
            if closing is not None:
                self._end(closing, StoreError("The commit was interrupted."))
            raise
        self._settle(loop, group, outcomes, closing, failure)
        if self._wal_bytes > self._checkpoint_due:
            self._checkpoint(loop)

    def _checkpoint(self, loop: asyncio.AbstractEventLoop) -> None:
        """Copy the WAL into the database file, in the committing thread, in two steps: most
        of it from a connection of the thread's own, while the loop's writes go on
        (``_copy_aside``), then the rest holding the connection (``_checkpoint_now``), so
        that the next write starts the WAL over. The writes wait only for the second step:
        the pages committed while the first was under way, and the fsyncs (the chat sample
        under ``wk dev``: its writes waited ~20 ms for each checkpoint in one step)."""
        if self._copying_aside or self._committing_on(loop) is not None:
            return
        if not self._copied_aside:
            self._copying_aside = True
            self._committer.run(
                self._copy_aside,
                loop,
                loop.create_future(),
                functools.partial(self._aside_done, loop),
            )
            return
        self._copied_aside = False
        # The connection is the thread's until it is done: writes wait and group.
        self._in_thread(loop, self._checkpoint_now, [], [], None)

    def _aside_done(self, loop: asyncio.AbstractEventLoop) -> None:
        self._copying_aside = False
        self._copied_aside = True
        self._checkpoint(loop)

    def _copy_aside(self) -> None:
        """Copy what the WAL holds into the database file from a connection of the
        committing thread's own (SQLite lets a checkpoint and a writer work side by side: the
        writer appends to the WAL meanwhile). A failure is left to the second step."""
        with self._aside_lock:
            if self._closed:
                return
            try:
                if self._aside is None:
                    self._aside = _connect(self.file_name, "SQLite checkpoint")
                self._aside.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            except (sqlite3.Error, StoreError) as error:
                _logger.debug("Checkpointing %s aside failed: %s", self.file_name, error)

    def _in_thread(
        self,
        loop: asyncio.AbstractEventLoop,
        work: Callable[[], None],
        group: list[_Write],
        outcomes: list[Any],
        closing: _Unit | None,
    ) -> None:
        """Run ``work`` (a commit, a checkpoint) in the committing thread; the group's writes
        are answered once it is done."""
        committing: asyncio.Future[None] = loop.create_future()
        self._committing = (loop, committing)
        on_commit = functools.partial(self._on_commit, loop, group, outcomes, closing, committing)
        self._committer.run(work, loop, committing, on_commit)

    def _commit_in_thread(self) -> None:
        self._commit_now()
        self._starts_wal_over = False
        # (A checkpoint this makes due begins once the loop has heard of the commit.)
        self._wal_bytes = _size(self._wal)

    def _checkpoint_now(self) -> None:
        """Copy the WAL into the database file (in the committing thread, holding the
        connection, so that nothing is appended meanwhile and the next write can start the
        WAL over). A checkpoint that other connections' readers kept from copying everything
        is tried again once the WAL has grown by an eighth of its limit more."""
        try:
            with self._lock:
                connection = self._connection
                if connection is None:
                    return
                [(_, logged, copied)] = connection.execute(
                    "PRAGMA wal_checkpoint(PASSIVE)"
                ).fetchall()
        except sqlite3.Error as error:
            _logger.warning("Checkpointing %s failed: %s", self.file_name, error)
            copied, logged = 0, 1
        if copied >= logged:
            # The next write starts the WAL over.
            self._starts_wal_over = True
            self._wal_bytes = 0
            self._checkpoint_due = CHECKPOINT_BYTES
        else:
            self._checkpoint_due = self._wal_bytes + CHECKPOINT_BYTES // 8

    def _committing_on(self, loop: asyncio.AbstractEventLoop) -> asyncio.Future[None] | None:
        """The commit under way for ``loop``'s writes, if one is."""
        committing = self._committing
        return committing[1] if committing is not None and committing[0] is loop else None

    async def _after_commit(self, loop: asyncio.AbstractEventLoop) -> None:
        """Once no commit of this loop's writes is under way (the connection is busy then).

        Under a steady stream of writes a commit follows a commit, each with what came while
        the one before was under way, and a reader (or a unit of work about to begin) woken
        only once the next commit is under way would wait as long as the stream lasts: a
        query, or a flow for the whole of a load. So whoever waits here is let in before the
        next commit once it has waited ``TURN_PATIENCE_SECONDS`` (see ``_on_commit``), and
        at once when no write waits. Not always at once: a flow that waits a little takes a
        longer run of events into one transaction."""
        while self._committing_on(loop) is not None:
            turn: asyncio.Future[None] = loop.create_future()
            self._turns.setdefault(loop, []).append((loop.time(), turn))
            await turn

    def _let_in(self, loop: asyncio.AbstractEventLoop) -> None:
        """Wake whoever waits for its turn on ``loop``, in the order they came (each before
        whatever is scheduled after this)."""
        for _, turn in self._turns.pop(loop, ()):
            if not turn.done():
                turn.set_result(None)

    def _commit_now(self) -> None:
        """COMMIT what the connection's transaction holds (in the committing thread, or on
        the loop for an in-memory database); roll back if that fails."""
        with self._lock:
            connection = self._connection
            if connection is None:
                raise StoreError(f"The SQLite database '{self.file_name}' is closed.")
            try:
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise

    def _on_commit(
        self,
        loop: asyncio.AbstractEventLoop,
        group: list[_Write],
        outcomes: list[Any],
        closing: _Unit | None,
        committing: asyncio.Future[None],
    ) -> None:
        """The commit in the thread is done: answer its writes, and commit the writes that
        came meanwhile."""
        if self._committing is not None and self._committing[1] is committing:
            # (Another loop's commit may have followed it already: that one stays.)
            self._committing = None
        failure: Exception | None = None
        if committing.cancelled():
            failure = StoreError("The commit was interrupted.")
        else:
            error = committing.exception()
            if error is not None:
                failure = error if isinstance(error, Exception) else StoreError(str(error))
        if failure is not None:
            outcomes = [_Failed(failure)] * len(group)
        self._settle(loop, group, outcomes, closing, failure)
        writes = self._writes.get(loop)
        waiting = writes is not None and bool(writes.waiting)
        turns = self._turns.get(loop)
        if turns and (not waiting or loop.time() - turns[0][0] >= TURN_PATIENCE_SECONDS):
            # Before the writes' commit scheduled below. (Those left waiting are let in by
            # the next commit that ends, or by ``_commit_waiting`` if it starts none.)
            self._let_in(loop)
        if writes is not None and waiting and not writes.scheduled:
            writes.scheduled = True
            loop.call_soon(self._commit_waiting, loop, writes)
        if self._wal_bytes > self._checkpoint_due:
            self._checkpoint(loop)

    def _settle(
        self,
        loop: asyncio.AbstractEventLoop,
        group: list[_Write],
        outcomes: list[Any],
        closing: _Unit | None,
        failure: Exception | None,
    ) -> None:
        if closing is not None:
            self._end(closing, failure)
        for write, outcome in zip(group, outcomes, strict=True):
            self._answer(write, outcome)
        writes = self._writes.get(loop)
        if writes is not None and not writes.waiting and not writes.scheduled:
            self._forget(loop, writes)

    def _forget(self, loop: asyncio.AbstractEventLoop, writes: _Writes) -> None:
        if self._writes.get(loop) is writes:
            del self._writes[loop]

    def _kick(self, loop: asyncio.AbstractEventLoop) -> None:
        """Commit what waits (and a closing unit) soon, whatever retry may be scheduled."""
        writes = self._writes.get(loop)
        if writes is None:
            writes = self._writes[loop] = _Writes()
        writes.scheduled = True
        loop.call_soon(self._commit_waiting, loop, writes)

    def _answer(self, write: _Write, outcome: Any) -> None:
        if write.answer.done():
            return
        if isinstance(outcome, _Failed):
            write.answer.set_exception(self._failure(outcome.error))
        else:
            write.answer.set_result(outcome)

    def _wait_for_lock(
        self, loop: asyncio.AbstractEventLoop, writes: _Writes, group: list[_Write]
    ) -> None:
        """Another connection holds the write lock: try again after a short sleep, with the
        writes that arrive meanwhile, or fail them all once it has been held too long."""
        now = time.monotonic()
        if writes.deadline is None:
            writes.deadline = now + BUSY_TIMEOUT
        elif now >= writes.deadline:
            writes.deadline = None
            writes.delay = _FIRST_RETRY_DELAY
            failure = StoreError(
                f"The SQLite database '{self.file_name}' stayed locked by another "
                f"connection (or a unit of work) for {BUSY_TIMEOUT:g} s."
            )
            for write in (*group, *writes.waiting):
                self._answer(write, _Failed(failure))
            writes.waiting.clear()
            self._forget(loop, writes)
            return
        # Jitter keeps competing processes from retrying in lockstep.
        delay = writes.delay * random.uniform(0.5, 1.5)
        writes.delay = min(writes.delay * 2, _LONGEST_RETRY_DELAY)
        self._retry(loop, writes, group, delay)

    def _retry(
        self,
        loop: asyncio.AbstractEventLoop,
        writes: _Writes,
        group: list[_Write],
        delay: float,
    ) -> None:
        writes.waiting[:0] = group
        if not writes.scheduled:
            writes.scheduled = True
            loop.call_later(delay, self._commit_waiting, loop, writes)

    def _run_group(self, works: list[Work[Any]], unit: _Unit | None) -> tuple[list[Any], bool]:
        """Run the works in one transaction (the closing ``unit``'s, if given, which commits
        with them): each one's result, or the exception it raised (and the changes it made
        undone), and whether the transaction is left open to be committed (it is rolled back
        if there is nothing to commit). Raises only what fails the whole transaction, and
        ``_Held`` while a unit other than ``unit`` holds it."""
        with self._lock:
            connection = self._connection
            if connection is None:
                raise StoreError(f"The SQLite database '{self.file_name}' is closed.")
            if self._unit is not unit:
                raise _Held()
            try:
                if unit is None:
                    connection.execute("BEGIN IMMEDIATE")
                    outcomes = _run_works(connection, works, _BEGIN_AGAIN)
                    if all(isinstance(outcome, _Failed) for outcome in outcomes):
                        connection.execute("ROLLBACK")
                        return outcomes, False
                    return outcomes, True
                if not works:
                    return [], True
                # The unit's writes are in the transaction already: going back to before the
                # group must leave them.
                connection.execute(_SAVEPOINT)
                outcomes = _run_works(connection, works, (_ROLLBACK_TO,))
                connection.execute(_RELEASE)
                return outcomes, True
            except BaseException:
                if unit is None and connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise

    # --- units of work ----------------------------------------------------------------------

    async def _begin(self, unit: _Unit) -> None:
        """Take the connection's transaction for ``unit`` (and SQLite's write lock with it),
        once no other unit holds it; waits as ``_run`` waits for a lock."""
        waiting = _LockWait(self.file_name)
        while True:
            holder = self._unit
            if holder is not None and holder.loop is unit.loop:
                await holder.ended.wait()
                continue
            if self._committing_on(unit.loop) is not None:
                await self._after_commit(unit.loop)
                continue
            if holder is None:
                try:
                    if self._take(unit):
                        return
                except sqlite3.Error as error:
                    if not _is_busy(error):
                        raise self._failure(error) from error
            await waiting.sleep()

    async def _open_savepoint(self, unit: _Unit) -> tuple[str, int]:
        """Begin a unit inside ``unit``, whose writes are undone alone when its block raises
        (``_close_savepoint``): its savepoint's name, and how many callbacks wait for the
        outer unit's commit so far. It takes the outer unit's transaction at once (a
        savepoint needs one)."""
        if not unit.begun:
            await self._begin(unit)
        unit.nested += 1
        name = f"unit{unit.nested}"
        with self._lock:
            self._in(unit).execute(f"SAVEPOINT {name}")
        return name, len(unit.after_commit)

    def _close_savepoint(self, unit: _Unit, name: str, waiting: int, failed: bool) -> None:
        """End the unit inside ``unit`` that ``_open_savepoint`` began: keep what it wrote,
        or undo it if its block ``failed``."""
        if failed:
            self._undo_savepoint(unit, name)
            # What the undone block wrote will never commit.
            del unit.after_commit[waiting:]
            return
        with self._lock:
            connection = self._in(unit)
            try:
                connection.execute(f"RELEASE {name}")
            except sqlite3.Error as error:
                # Gone with an inner unit of a task that outlived it: nothing is certain now.
                unit.lost = error
                raise self._failure(error) from error

    def _undo_savepoint(self, unit: _Unit, name: str) -> None:
        with self._lock:
            connection = self._connection
            if connection is None or unit.lost is not None:
                return
            if not connection.in_transaction:
                unit.lost = StoreError("The transaction ended inside a unit of work.")
                return
            try:
                connection.execute(f"ROLLBACK TO {name}")
                connection.execute(f"RELEASE {name}")
            except sqlite3.Error as error:
                unit.lost = error

    def _take(self, unit: _Unit) -> bool:
        with self._lock:
            connection = self._connection
            if connection is None:
                raise StoreError(f"The SQLite database '{self.file_name}' is closed.")
            if self._unit is not None:
                return False
            connection.execute("BEGIN IMMEDIATE")
            self._unit = unit
            unit.begun = True
            return True

    def _write_in(self, unit: _Unit, work: Work[T]) -> T:
        """Run ``work`` in the unit's transaction. A work that fails has changed nothing as a
        rule (it checks before it writes, and a failing statement undoes itself), so it
        fails alone without the savepoint that would cost two statements each time; one that
        did change rows before it failed cannot be undone alone, and takes the unit down."""
        unit.writes += 1
        with self._lock:
            connection = self._in(unit)
            changes = connection.total_changes
            try:
                return work(connection)
            except sqlite3.Error as error:
                self._undo(unit, connection, changes, error)
                raise self._failure(error) from error
            except Exception as error:
                self._undo(unit, connection, changes, error)
                raise

    @staticmethod
    def _undo(unit: _Unit, connection: sqlite3.Connection, changes: int, error: Exception) -> None:
        """After a failed work of the unit: if its error ended the whole transaction, or it
        had changed rows, the unit is lost (it rolls back at its end and raises)."""
        if not connection.in_transaction or connection.total_changes != changes:
            unit.lost = error

    def _read_in(self, unit: _Unit, work: Work[T]) -> T:
        with self._lock:
            connection = self._in(unit)
            try:
                return work(connection)
            except sqlite3.Error as error:
                raise self._failure(error) from error

    def _in(self, unit: _Unit) -> sqlite3.Connection:
        connection = self._connection
        if connection is None:
            raise StoreError(f"The SQLite database '{self.file_name}' is closed.")
        if unit.lost is not None:
            raise StoreError(
                f"The SQLite database '{self.file_name}' lost the unit of work's transaction: "
                f"{unit.lost}."
            )
        return connection

    async def _commit(self, unit: _Unit) -> None:
        """End the unit's block: commit it at the end of this turn, with the writes that wait
        meanwhile, and return once that is done."""
        if not unit.begun:
            # Nothing written, nothing to commit: what waits for the commit goes on now.
            unit.ended.set()
            self._call_after_commit(unit)
            return
        if unit.lost is not None:
            self._roll_back(unit)
            raise self._failure(unit.lost)
        unit.closing = True
        committed = unit.committed = unit.loop.create_future()
        self._kick(unit.loop)
        # Cancelling the caller does not stop the commit: it is under way with other writes.
        await asyncio.shield(committed)

    def _roll_back(self, unit: _Unit) -> None:
        """Undo what the unit wrote; the writes that waited for it go on."""
        if unit.begun and not unit.ended.is_set():
            with self._lock:
                connection = self._connection
                if connection is not None and connection.in_transaction:
                    # Failing here leaves nothing to undo: the transaction is gone already.
                    with suppress(sqlite3.Error):
                        connection.execute("ROLLBACK")
            self._kick(unit.loop)
        self._end(unit, None)

    def _end(self, unit: _Unit, failure: Exception | None) -> None:
        if self._unit is unit:
            self._unit = None
        unit.ended.set()
        committed = unit.committed
        if committed is not None and not committed.done():
            if failure is None:
                committed.set_result(None)
                self._call_after_commit(unit)
            else:
                committed.set_exception(self._failure(failure))

    @staticmethod
    def _call_after_commit(unit: _Unit) -> None:
        callbacks, unit.after_commit = unit.after_commit, []
        for callback in callbacks:
            try:
                callback()
            except Exception:
                _logger.exception("A callback after a commit failed.")

    def _failure(self, error: Exception) -> Exception:
        if isinstance(error, sqlite3.Error):
            failure = StoreError(f"The SQLite database '{self.file_name}' failed: {error}.")
            failure.__cause__ = error
            return failure
        return error

    async def _run(self, work: Work[T], begin: str) -> T:
        loop = asyncio.get_running_loop()
        waiting = _LockWait(self.file_name)
        while True:
            # The committing thread holds the connection meanwhile.
            await self._after_commit(loop)
            try:
                return self._attempt(work, begin)
            except _Held:
                pass  # by a unit of work of another event loop: wait as for a lock
            except sqlite3.Error as error:
                if not _is_busy(error):
                    raise StoreError(
                        f"The SQLite database '{self.file_name}' failed: {error}."
                    ) from error
            await waiting.sleep()

    def _attempt(self, work: Work[T], begin: str) -> T:
        with self._lock:
            connection = self._connection
            if connection is None:
                raise StoreError(f"The SQLite database '{self.file_name}' is closed.")
            if self._unit is not None:
                raise _Held()
            connection.execute(begin)
            try:
                result = work(connection)
                connection.execute("COMMIT")
            except BaseException:
                if connection.in_transaction:
                    connection.execute("ROLLBACK")
                raise
            return result


class _Block:
    """The block of ``SqliteDatabase.transaction``: a unit of work of its own, a savepoint of
    the unit the caller is in (on the same loop, still open), or nothing but that unit."""

    __slots__ = ("_database", "_joining", "_savepoint", "_unit")

    def __init__(self, database: SqliteDatabase) -> None:
        self._database = database
        #: The unit this block opened, with what ``transactions.join`` gave.
        self._unit: _Unit | None = None
        self._joining: transactions.Joining | None = None
        #: The unit the block is a savepoint of, the savepoint's name, and how many callbacks
        #: waited for that unit's commit when it began.
        self._savepoint: tuple[_Unit, str, int] | None = None

    async def __aenter__(self) -> None:
        database = self._database
        loop = asyncio.get_running_loop()
        outer: _Unit | None = transactions.joined(database)
        if outer is None:
            unit = self._unit = _Unit(loop)
            self._joining = transactions.join(database, unit)
        elif outer.loop is loop and outer.is_open():
            self._savepoint = (outer, *await database._open_savepoint(outer))

    async def __aexit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: Any
    ) -> None:
        database = self._database
        if self._savepoint is not None:
            database._close_savepoint(*self._savepoint, failed=kind is not None)
            return
        unit, joining = self._unit, self._joining
        if unit is None or joining is None:
            return
        try:
            if kind is not None:
                database._roll_back(unit)
                return
            await database._commit(unit)
        finally:
            transactions.leave(joining)


class _Committer:
    """The thread a database's large commits and its checkpoints run in, started on first use.

    Leaner than an executor: a commit under load is handed over every few commands, and the
    hand-over (futures chained across threads) cost the loop more than the commit's own
    Python. A daemon: a commit cut off by the interpreter's end has answered nobody yet, and
    SQLite's log keeps the file consistent."""

    def __init__(self) -> None:
        self._jobs: queue.SimpleQueue[_Job | None] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start = threading.Lock()

    def run(
        self,
        work: Callable[[], None],
        loop: asyncio.AbstractEventLoop,
        done: asyncio.Future[None],
        then: Callable[[], None],
    ) -> None:
        """Run ``work`` in the thread; then, on ``loop``, settle ``done`` with its outcome
        and call ``then``."""
        if self._thread is None:
            with self._start:
                if self._thread is None:
                    self._thread = threading.Thread(
                        target=self._serve, name="wolkenkit-sqlite-commit", daemon=True
                    )
                    self._thread.start()
        self._jobs.put(_Job(work, loop, done, then))

    def stop(self) -> None:
        """End the thread once the jobs handed over so far are done."""
        if self._thread is not None:
            self._jobs.put(None)

    def _serve(self) -> None:
        while (job := self._jobs.get()) is not None:
            error: BaseException | None = None
            try:
                job.work()
            except BaseException as failure:
                # Handed to the loop, as an executor would.
                error = failure
            # A closed loop (RuntimeError) has nobody waiting any more.
            with suppress(RuntimeError):
                job.loop.call_soon_threadsafe(_settle_job, job, error)


@dataclass(slots=True)
class _Job:
    work: Callable[[], None]
    loop: asyncio.AbstractEventLoop
    done: asyncio.Future[None]
    then: Callable[[], None]


def _settle_job(job: _Job, error: BaseException | None) -> None:
    answer(job.done, error)
    job.then()


class _LockWait:
    """Sleeps between attempts to get another connection's write lock: longer each time,
    for ``BUSY_TIMEOUT`` in all, then ``StoreError``."""

    def __init__(self, file_name: str) -> None:
        self._file_name = file_name
        self._deadline: float | None = None
        self._delay = _FIRST_RETRY_DELAY

    async def sleep(self) -> None:
        now = time.monotonic()
        if self._deadline is None:
            self._deadline = now + BUSY_TIMEOUT
        elif now >= self._deadline:
            raise StoreError(
                f"The SQLite database '{self._file_name}' stayed locked by another "
                f"connection for {BUSY_TIMEOUT:g} s."
            )
        # Jitter keeps competing processes from retrying in lockstep.
        await asyncio.sleep(self._delay * random.uniform(0.5, 1.5))
        self._delay = min(self._delay * 2, _LONGEST_RETRY_DELAY)


@dataclass(slots=True)
class _Failed:
    error: Exception


_SAVEPOINT = "SAVEPOINT work"
_RELEASE = "RELEASE work"
_ROLLBACK_TO = "ROLLBACK TO work"
_BEGIN_AGAIN = ("ROLLBACK", "BEGIN IMMEDIATE")


def _run_works(
    connection: sqlite3.Connection, works: list[Work[Any]], back: tuple[str, ...]
) -> list[Any]:
    """Each work's result, or ``_Failed`` with what it raised, all run in the transaction as
    it is; ``back`` are the statements that go back to how it was before the first work.

    A work that fails has changed nothing as a rule (it checks before it writes, and a failing
    statement undoes itself): it fails alone, and the others go on. One that did change rows
    is undone by going back and running the others again without it: failing is rare, and a
    savepoint around every work would cost two statements each time (works may run more
    than once; only the last run's results count)."""
    outcomes: list[Any] = [None] * len(works)
    remaining = list(range(len(works)))
    while True:
        for position, index in enumerate(remaining):
            changes = connection.total_changes
            try:
                outcomes[index] = works[index](connection)
            except Exception as error:
                _check_failure(connection, error, index)
                outcomes[index] = _Failed(error)
                if connection.total_changes == changes:
                    continue
                for statement in back:
                    connection.execute(statement)
                del remaining[position]
                break
        else:
            return outcomes


def _check_failure(connection: sqlite3.Connection, error: Exception, index: int) -> None:
    """Raise what fails more than the work ``index``: a busy database (the whole group waits
    and goes again), or an error that ended the transaction."""
    if isinstance(error, sqlite3.Error) and _is_busy(error):
        raise error
    if not connection.in_transaction:
        raise _TransactionLost(index, error) from error


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except FileNotFoundError:
        return 0


def _connect(file_name: str, description: str) -> sqlite3.Connection:
    try:
        if file_name != MEMORY:
            Path(file_name).parent.mkdir(parents=True, exist_ok=True)
        connection = sqlite3.connect(
            file_name,
            isolation_level=None,  # we issue BEGIN and COMMIT ourselves
            check_same_thread=False,  # guarded by SqliteDatabase._lock instead
            timeout=BUSY_TIMEOUT,  # at start-up only; see below
            cached_statements=256,
        )
    except (OSError, sqlite3.Error) as error:
        raise StoreOptionsInvalid(f"The {description} cannot open {file_name}: {error}.") from None
    try:
        # Before the first table (and WAL mode) makes the file; ignored by an existing one.
        connection.execute(f"PRAGMA page_size = {PAGE_SIZE}")
        # WAL lets readers and the one writer proceed side by side, across processes. With
        # synchronous=NORMAL a commit is written to the WAL but not fsynced: a crashed or
        # killed process loses nothing it committed; only a power cut or OS crash may take
        # the last commits (never consistency). FULL would fsync every commit, which costs
        # milliseconds per command on real disks.
        connection.execute("PRAGMA journal_mode = WAL").fetchall()
        connection.execute("PRAGMA synchronous = NORMAL")
        # A checkpoint copies each page the WAL holds into the file once, however often it
        # was committed since the last one: every 16 MB of WAL (SQLite's default is 4 MB)
        # rewrites the same hot pages a quarter as often (~10 % of the chat's bytes per
        # command). The database runs them itself, in the committing thread, off the loop
        # (``_checkpoint_now``), never inside a COMMIT. When the WAL starts over after one,
        # its file is cut back: the file's size is what the WAL holds.
        connection.execute("PRAGMA wal_autocheckpoint = 0")
        connection.execute("PRAGMA journal_size_limit = 0")
        connection.execute("PRAGMA busy_timeout = 0")
    except sqlite3.Error as error:
        connection.close()
        raise StoreOptionsInvalid(f"The {description} cannot open {file_name}: {error}.") from None
    return connection


class _Shared:
    __slots__ = ("database", "users")

    def __init__(self, database: SqliteDatabase) -> None:
        self.database = database
        self.users = 0


_registry: dict[str, _Shared] = {}
_registry_lock = threading.Lock()


def open_shared(file_name: str, description: str) -> SqliteDatabase:
    """The process's database for ``file_name``, opened on first use.

    Stores of one file share a connection: switching connections after another one wrote
    discards SQLite's page cache, which costs more per command than the statements
    themselves. ``:memory:`` is one database for the whole process this way.
    """
    key = file_name if file_name == MEMORY else os.path.realpath(file_name)
    with _registry_lock:
        shared = _registry.get(key)
        if shared is None:
            shared = _registry[key] = _Shared(SqliteDatabase(file_name, description))
            shared.database.shared_key = key
        shared.users += 1
        return shared.database


def release(database: SqliteDatabase) -> None:
    """Give back a database: one from ``open_shared`` closes with its last user, any other
    one at once (a store owns a database it was given)."""
    key = database.shared_key
    if key is not None:
        with _registry_lock:
            shared = _registry.get(key)
            if shared is not None and shared.database is database:
                shared.users -= 1
                if shared.users > 0:
                    return
                del _registry[key]
    database.close()


def add_column(table: str, column: str, definition: str) -> Work[None]:
    """A step of a schema that adds a column to a table created before the column existed
    (SQLite has no ``ADD COLUMN IF NOT EXISTS``); ``table`` is quoted already."""

    def add(connection: sqlite3.Connection) -> None:
        columns = {row[1] for row in connection.execute(f"PRAGMA table_info({table})")}
        if column not in columns:
            connection.execute(f"ALTER TABLE {table} ADD COLUMN {quote(column)} {definition}")

    return add


class SqliteTables:
    """What every SQLite store shares: its database and the schema that ``setup`` creates:
    statements, or steps that look before they change (``add_column``)."""

    def __init__(self, database: SqliteDatabase, schema: Sequence[str | Work[None]]) -> None:
        self._db = database
        self._schema = schema
        self._destroyed = False

    @property
    def shared_database(self) -> SharedDatabase:
        """The file: stores of one file take part in one unit of work (they share its
        connection, so all of them do, also those that are no party to it)."""
        return self._db

    async def setup(self) -> None:
        """Create the tables and indexes; idempotent."""

        def create(connection: sqlite3.Connection) -> None:
            for step in self._schema:
                if isinstance(step, str):
                    connection.execute(step)
                else:
                    step(connection)

        await self._db.write(create)

    async def destroy(self) -> None:
        """Give the database back; the last store of a shared one closes it."""
        if not self._destroyed:
            self._destroyed = True
            release(self._db)
