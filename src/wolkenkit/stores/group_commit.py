"""Group commit: concurrent writes to a store joined into one transaction.

A durable commit waits for the disk, which takes far longer than writing a few rows. When
several callers store events at the same time (command workers handling different
aggregates), the batches that arrive while a write is in flight wait for it and then go out
together in the next one: one transaction and one flush for all of them. Each caller still
gets its own outcome:

- A caller that finds no write in flight writes its batch at once, itself, so a lone writer
  waits for nothing and pays for no extra task.
- Batches queued meanwhile are written together, in arrival order, by a background task.
- Before it writes, that task gives the callers active lately (those of the previous write
  and those queued during it) a moment, at most as long as a write takes, to come back
  with their next batches. Without it, callers fall into cohorts that take turns: while one
  cohort's commit waits for the disk, another reads for its next command and just misses
  the next write.
- If a joint write fails because of a revision conflict, each of its batches is written again
  on its own, so only a conflicting caller gets ``RevisionAlreadyExists``. Any other failure
  goes to every caller of the joint write: their outcome was one and the same.

Each batch stays all or none, because a joint write is one transaction, and a caller returns
only once the transaction holding its batch has committed. A caller cancelled while its batch
waits takes the batch out of the queue, so it is never written. Once a joint write has begun,
cancelling one caller does not stop it (other callers' events are in it), so that batch may
be stored all the same, just as a write cancelled during its commit may be.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from wolkenkit.awaiting import answer
from wolkenkit.errors import RevisionAlreadyExists

BatchT = TypeVar("BatchT")

#: The share of a write's duration the next joint write waits, at most, for callers to join.
#: Up to a whole write's time, waiting for the others to share a commit costs less than
#: giving them a commit of their own.
PATIENCE = 1.0
#: How much each write's duration counts towards the running estimate.
_SMOOTHING = 0.2


@dataclass(slots=True)
class _Waiting(Generic[BatchT]):
    batch: BatchT
    size: int
    answer: asyncio.Future[None]


class GroupCommit(Generic[BatchT]):
    """Runs ``write(batches)`` for batches of concurrent callers, one write at a time.

    ``write`` must store all of the given batches in one transaction or none of them, and
    raise ``RevisionAlreadyExists`` when that fails on an existing (aggregate id, revision).
    A joint write holds at most ``limit`` rows (``size`` tells a batch's rows); a larger
    batch is written alone.
    """

    def __init__(
        self,
        write: Callable[[list[BatchT]], Awaitable[None]],
        size: Callable[[BatchT], int],
        limit: int,
    ) -> None:
        self._write = write
        self._size = size
        self._limit = limit
        self._queue: deque[_Waiting[BatchT]] = deque()
        self._writing = False
        self._drain_task: asyncio.Task[None] | None = None
        #: Callers active lately, those of the last write and those that queued meanwhile:
        #: as many are expected to join the next write.
        self._expected = 1
        #: Set while the next joint write waits for callers to join.
        self._gathering: asyncio.Future[None] | None = None
        #: A running estimate of how long a write takes, in seconds.
        self._write_seconds = 0.0

    async def write(self, batch: BatchT) -> None:
        """Store the batch, alone or together with others; returns once it is committed."""
        if not self._writing and self._expected == 1:
            self._writing = True
            try:
                await self._timed([batch])
            finally:
                self._hand_over()
            return
        waiting = _Waiting(batch, self._size(batch), asyncio.get_running_loop().create_future())
        self._queue.append(waiting)
        if not self._writing:
            self._writing = True
            self._drain_task = asyncio.ensure_future(self._drain())
        elif self._gathering is not None and len(self._queue) >= self._expected:
            _settle(self._gathering)
        # Cancelling this await cancels the answer, which takes the batch out of the queue
        # (see ``_next_group``) unless its write has begun.
        await waiting.answer

    def _hand_over(self) -> None:
        """After a lone write: let the background task write what queued up meanwhile."""
        self._expected = 1 + len(self._queue)
        if self._queue:
            self._drain_task = asyncio.ensure_future(self._drain())
        else:
            self._writing = False

    async def _drain(self) -> None:
        group: list[_Waiting[BatchT]] = []
        try:
            while True:
                await self._gather()
                group = self._next_group()
                if not group:
                    break
                await self._write_group(group)
                self._expected = len(group) + len(self._queue)
        finally:
            self._writing = False
            self._drain_task = None
            # Only if this task itself was cancelled (the loop is closing): nobody will
            # finish the write or write what is left, so no caller may wait for ever.
            for waiting in (*group, *self._queue):
                waiting.answer.cancel()
            self._queue.clear()

    async def _gather(self) -> None:
        """Wait until as many callers as were active lately are queued, or a write's time.
        A lone caller is not waited for: it writes at once when it comes back."""
        if self._expected == 1 or len(self._queue) >= self._expected:
            return
        loop = asyncio.get_running_loop()
        self._gathering = gathering = loop.create_future()
        timer = loop.call_later(self._write_seconds * PATIENCE, _settle, gathering)
        try:
            await gathering
        finally:
            timer.cancel()
            self._gathering = None

    async def _timed(self, batches: list[BatchT]) -> None:
        started = time.perf_counter()
        try:
            await self._write(batches)
        finally:
            seconds = time.perf_counter() - started
            if self._write_seconds == 0.0:
                self._write_seconds = seconds
            else:
                self._write_seconds += (seconds - self._write_seconds) * _SMOOTHING

    def _next_group(self) -> list[_Waiting[BatchT]]:
        group: list[_Waiting[BatchT]] = []
        rows = 0
        queue = self._queue
        while queue:
            waiting = queue[0]
            if waiting.answer.done():
                # Its caller was cancelled while waiting: the batch is not written.
                queue.popleft()
                continue
            if group and rows + waiting.size > self._limit:
                break
            queue.popleft()
            group.append(waiting)
            rows += waiting.size
        return group

    async def _write_group(self, group: list[_Waiting[BatchT]]) -> None:
        try:
            await self._timed([waiting.batch for waiting in group])
        except RevisionAlreadyExists as error:
            if len(group) == 1:
                _answer(group[0], error)
                return
            # The joint transaction stored nothing; find out whose batch conflicts.
            for waiting in group:
                if not waiting.answer.done():
                    await self._write_alone(waiting)
            return
        except Exception as error:
            for waiting in group:
                _answer(waiting, error)
            return
        for waiting in group:
            _answer(waiting, None)

    async def _write_alone(self, waiting: _Waiting[BatchT]) -> None:
        try:
            await self._write([waiting.batch])
        except Exception as error:
            _answer(waiting, error)
            return
        _answer(waiting, None)


def _settle(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


def _answer(waiting: _Waiting[BatchT], error: Exception | None) -> None:
    answer(waiting.answer, error)
