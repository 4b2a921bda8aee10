"""Group commit: concurrent writes to a store joined into one transaction.

A durable commit waits for the disk, which takes far longer than writing a few rows. When
several callers store events at the same time (command workers handling different
aggregates), the batches that arrive while a write is in flight wait for it and then go out
together in the next one: one transaction and one flush for all of them. Each caller still
gets its own outcome:

- A caller that finds no write in flight writes its batch at once, itself, so a lone writer
  waits for nothing and pays for no extra task.
- Batches queued meanwhile are written together, in arrival order, by a background task.
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
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from wolkenkit.errors import RevisionAlreadyExists

BatchT = TypeVar("BatchT")


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

    async def write(self, batch: BatchT) -> None:
        """Store the batch, alone or together with others; returns once it is committed."""
        if not self._writing:
            self._writing = True
            try:
                await self._write([batch])
            finally:
                self._hand_over()
            return
        waiting = _Waiting(batch, self._size(batch), asyncio.get_running_loop().create_future())
        self._queue.append(waiting)
        # Cancelling this await cancels the answer, which takes the batch out of the queue
        # (see ``_next_group``) unless its write has begun.
        await waiting.answer

    def _hand_over(self) -> None:
        """After a write: let the background task write what queued up meanwhile."""
        if self._queue:
            self._drain_task = asyncio.ensure_future(self._drain())
        else:
            self._writing = False

    async def _drain(self) -> None:
        group: list[_Waiting[BatchT]] = []
        try:
            while group := self._next_group():
                await self._write_group(group)
        finally:
            self._writing = False
            self._drain_task = None
            # Only if this task itself was cancelled (the loop is closing): nobody will
            # finish the write or write what is left, so no caller may wait for ever.
            for waiting in (*group, *self._queue):
                waiting.answer.cancel()
            self._queue.clear()

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
            await self._write([waiting.batch for waiting in group])
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


def _answer(waiting: _Waiting[BatchT], error: Exception | None) -> None:
    if waiting.answer.done():
        return
    if error is None:
        waiting.answer.set_result(None)
    else:
        waiting.answer.set_exception(error)
