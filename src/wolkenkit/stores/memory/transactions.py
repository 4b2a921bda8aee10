"""Units of work in memory: an undo log.

In-memory stores of a process count as one database. Inside a unit of work they change their
data at once, as outside, and note how to undo each change; a unit whose block raises undoes
them, newest first. Their operations never await, so nothing interleaves with one of them;
between them, other callers do see what an open unit changed (there is no crash to survive in
memory, only a failing block to take back).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Hashable, MutableMapping
from contextlib import asynccontextmanager
from typing import TypeVar

from wolkenkit.stores.transactions import SharedDatabase, joined, joining

_KEY = "InMemory"

Undo = Callable[[], None]
KeyT = TypeVar("KeyT")
ValueT = TypeVar("ValueT")


class _UndoLog:
    def __init__(self) -> None:
        self.entries: list[Undo] = []
        #: A task started inside the unit may outlive it; what it changes later stays.
        self.open = True


class InMemoryDatabase(SharedDatabase):
    """The process's memory, as the database of its in-memory stores."""

    @property
    def key(self) -> Hashable:
        return _KEY

    @property
    def description(self) -> str:
        return "the process's memory"

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[None]:
        if joined(_KEY) is not None:
            yield
            return
        log = _UndoLog()
        with joining(_KEY, log):
            try:
                yield
            except BaseException:
                log.open = False
                for undo in reversed(log.entries):
                    undo()
                raise
            finally:
                log.open = False


PROCESS_MEMORY = InMemoryDatabase()


def remember(undo: Undo) -> None:
    """Inside a unit of work, note how to take back the change about to be made."""
    log: _UndoLog | None = joined(_KEY)
    if log is not None and log.open:
        log.entries.append(undo)


def put(mapping: MutableMapping[KeyT, ValueT], key: KeyT, value: ValueT | None) -> None:
    """Set ``mapping[key]`` to ``value`` (``None``: remove it), undoably."""
    previous = mapping.get(key)

    def undo() -> None:
        if previous is None:
            mapping.pop(key, None)
        else:
            mapping[key] = previous

    remember(undo)
    if value is None:
        mapping.pop(key, None)
    else:
        mapping[key] = value
