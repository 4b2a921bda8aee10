"""A priority queue that one process owns: scheduled in memory, kept on disk as a journal.

When a single process is the queue's only user (the single-process runtime's command queue),
locks, renewals and the choice of the next queue need not be shared, so they live in memory
(``InMemoryPriorityQueueStore``). What must survive a crash is only which items were accepted
and not yet done: each item is appended to a journal before ``enqueue`` returns, and taken out
of it once acknowledged or removed. At the start, what the journal holds is queued again, in
the order it was accepted. Another process may still put items where a shared queue of the
same name keeps them (a ``wk replay`` beside the runtime: the commands its flows issue, the
events it replays, a rebuild's barriers): the queue looks there once a second, busy or not,
and takes them over.

An item its owner can queue again after a crash by itself needs no journal entry: an event
that a command has just stored, which the runtime's flow recovery finds in the event store
(``enqueue_recoverable``; ``wolkenkit.runtime.flow_recovery``). Where the journal's database
takes part in units of work, so does the queue: an item acknowledged inside a unit leaves the
journal, or counts as settled, only once the unit has committed.

Taking items out of the journal is not awaited: the removals of many items are written
together, soon after. If the process dies before, those items are queued again at the next
start and handed out once more, as an expired lock would hand them out again; the runtime's
command handling recognises a command it handled already.

Most items need no journal entry at all. Through ``enqueue_and_wake`` an item is queued at
once, and its caller (the HTTP request that sent a command) waits until it is safe: acknowledged
(the runtime acknowledges a command once what handling it wrote is committed), or, if that takes
longer than ``JOURNAL_AFTER_SECONDS``, written to the journal. A command handled within a few
milliseconds so costs no journal entry, written and then deleted; one that waits longer (behind
others for its aggregate, or for a slow handler) is journaled as before, only a little later.
Either way, nothing the caller was told is accepted can be lost.
"""

from __future__ import annotations

import asyncio
import logging
import time
from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from pydantic import BaseModel

from wolkenkit.awaiting import answer
from wolkenkit.records import frozen_record
from wolkenkit.stores.memory.priority_queue_store import InMemoryPriorityQueueStore
from wolkenkit.stores.priority_queue_store import (
    DEFAULT_EXPIRATION_TIME,
    DoesIdentifierMatchItem,
    IdentifierT,
    ItemT,
    LockedItem,
)
from wolkenkit.stores.transactions import SharedDatabase

logger = logging.getLogger(__name__)

#: How often the queue looks for items other processes queued (``QueueJournal.take_over``).
TAKE_OVER_INTERVAL_SECONDS = 1.0
#: How long an item queued by ``enqueue_and_wake`` may wait for its acknowledgement before it
#: is journaled (and its caller answered). Under load a command is handled within a few
#: milliseconds (chat sample, 16 clients: half within 8 ms, 99 % within 27 ms); a command
#: that waits longer still answers soon.
JOURNAL_AFTER_SECONDS = 0.05


@frozen_record
class JournalEntry:
    """An accepted item as the journal keeps it: its place, queue, priority and JSON."""

    position: int
    discriminator: str
    priority: int
    item: str


class QueueJournal(ABC):
    """The durable part of a ``JournaledPriorityQueueStore``: the items accepted and not yet
    done, in the order they were accepted. Only one process may use a journal at a time;
    ``setup`` fails with a clear error when another one does."""

    @abstractmethod
    async def setup(self) -> None: ...

    @abstractmethod
    async def destroy(self) -> None:
        """Release the journal (and its ownership); what was removed is written first."""

    @abstractmethod
    async def entries(self) -> list[JournalEntry]:
        """What the journal holds, in the order it was appended."""

    @abstractmethod
    async def take_over(self) -> list[JournalEntry]:
        """Move into the journal what other processes queued where a queue of the same name
        that is not journaled keeps its items (a ``wk replay`` beside the runtime, whose flows
        issue commands); the entries added, in order."""

    @abstractmethod
    async def append(
        self, item: BaseModel, discriminator: str, priority: int, then: Callable[[int], None]
    ) -> None:
        """Write the item and call ``then`` with its position once the write is durable: before
        returning, or, when the caller is inside a unit of work of the journal's database, once
        that unit commits (never, if it rolls back)."""

    @abstractmethod
    def remove(self, position: int) -> None:
        """Take the entry out, soon; not awaited (see the module's description). Inside a
        unit of work of the journal's database, only once the unit has committed."""

    @property
    @abstractmethod
    def shared_database(self) -> SharedDatabase:
        """The database the journal keeps its entries in."""

    @abstractmethod
    def after_commit(self, callback: Callable[[], None]) -> bool:
        """Inside an open unit of work of the journal's database: call ``callback`` once it
        has committed (never if it is undone) and return ``True``; elsewhere ``False``."""

    @abstractmethod
    def in_unit_of_work(self) -> bool:
        """Whether the caller is inside an open unit of work of the journal's database."""


@dataclass(slots=True, eq=False)
class _Held:
    """An item queued before its journal entry (``enqueue_and_wake``)."""

    discriminator: str
    priority: int
    #: Settled once the item is safe: acknowledged or removed, or journaled.
    safe: asyncio.Future[None]
    #: When it was queued (event loop time).
    since: float
    #: Its journal entry is being written.
    journaling: bool = False


class JournaledPriorityQueueStore(InMemoryPriorityQueueStore[ItemT, IdentifierT]):
    """The in-memory queue, with every accepted item in a journal until it is done."""

    def __init__(
        self,
        journal: QueueJournal,
        item_model: type[ItemT],
        does_identifier_match_item: DoesIdentifierMatchItem[ItemT, IdentifierT],
        expiration_time: int = DEFAULT_EXPIRATION_TIME,
    ) -> None:
        super().__init__(does_identifier_match_item, expiration_time)
        self._journal = journal
        self._item_model = item_model
        #: The journal position of each queued item, by the item's identity: the queue hands
        #: out the very objects it was given.
        self._positions: dict[int, int] = {}
        self._next_take_over = 0.0
        #: Recoverable items acknowledged inside units of work that have not committed yet.
        self._unsettled = 0
        #: Items queued before their journal entry, oldest first, by identity, with the item.
        self._held: dict[int, tuple[ItemT, _Held]] = {}
        #: What journals the held items that waited too long, when one is scheduled.
        self._journaling_late: asyncio.TimerHandle | None = None
        self._late_writes: set[asyncio.Task[None]] = set()

    @property
    def shared_database(self) -> SharedDatabase:
        return self._journal.shared_database

    async def setup(self) -> None:
        await self._journal.setup()
        self._queue_entries(await self._journal.entries())
        if self._positions:
            logger.info("Queued again the %d items that were waiting.", len(self._positions))

    async def lock_next(self) -> LockedItem[ItemT] | None:
        if time.monotonic() >= self._next_take_over:
            # Now and then, busy or not, see whether another process queued something (a
            # rebuild waits for its barriers to come up).
            self._next_take_over = time.monotonic() + TAKE_OVER_INTERVAL_SECONDS
            entries = await self._journal.take_over()
            # Inside a unit of work (a flow worker's run) they move when it commits.
            if entries and not self._journal.after_commit(partial(self._queue_entries, entries)):
                self._queue_entries(entries)
        return await super().lock_next()

    def enqueue_recoverable(self, item: ItemT, discriminator: str, priority: int) -> None:
        """Queue an item without a journal entry: one whose owner queues it again after a
        crash by itself (see the module's description)."""
        self._enqueue(item, discriminator, priority)

    def is_settled(self) -> bool:
        """Whether no item is queued, in hand, or acknowledged in a unit of work that has
        not committed yet."""
        return self._unsettled == 0 and all(not queue.items for queue in self._queues.values())

    async def destroy(self) -> None:
        # Whoever waits for a held item is answered: it is journaled, to be queued again.
        if self._journaling_late is not None:
            self._journaling_late.cancel()
            self._journaling_late = None
        self._journal_held(everything=True)
        if self._late_writes:
            await asyncio.wait(set(self._late_writes))
        await self._journal.destroy()
        self._positions.clear()
        await super().destroy()

    async def enqueue(self, item: ItemT, discriminator: str, priority: int) -> None:
        item = self._own_copy(item)
        await self._journal.append(
            item,
            discriminator,
            priority,
            lambda position: self._queue(item, discriminator, priority, position),
        )

    async def enqueue_and_wake(
        self, item: ItemT, discriminator: str, priority: int, wake: Callable[[], None]
    ) -> None:
        if self._journal.in_unit_of_work():
            # Its entry commits with the unit (a flow's command, with the flow's progress),
            # and only then is the item queued: a worker woken now would find nothing.
            await self.enqueue(item, discriminator, priority)
            if not self._journal.after_commit(wake):
                wake()
            return
        item = self._own_copy(item)
        loop = asyncio.get_running_loop()
        held = _Held(discriminator, priority, loop.create_future(), loop.time())
        self._held[id(item)] = (item, held)
        self._enqueue(item, discriminator, priority)
        if self._journaling_late is None:
            self._journaling_late = loop.call_later(JOURNAL_AFTER_SECONDS, self._journal_late)
        wake()
        await held.safe

    async def acknowledge(self, discriminator: str, token: str) -> None:
        self._forget(self._acknowledge(discriminator, token))

    async def remove(self, discriminator: str, item_identifier: IdentifierT) -> None:
        self._forget(self._remove(discriminator, item_identifier))

    def _queue_entries(self, entries: list[JournalEntry]) -> None:
        for entry in entries:
            item = self._item_model.model_validate_json(entry.item)
            self._queue(item, entry.discriminator, entry.priority, entry.position)

    def _queue(self, item: ItemT, discriminator: str, priority: int, position: int) -> None:
        self._positions[id(item)] = position
        self._enqueue(item, discriminator, priority)

    def _own_copy(self, item: ItemT) -> ItemT:
        """The item, or a copy if it is queued already: each queued item needs an identity
        of its own to find its entry."""
        if id(item) in self._positions or id(item) in self._held:
            return item.model_copy()
        return item

    def _journal_late(self) -> None:
        self._journaling_late = None
        self._journal_held(everything=False)

    def _journal_held(self, *, everything: bool) -> None:
        """Start journaling the held items that waited ``JOURNAL_AFTER_SECONDS`` (or all of
        them), and look again when the next one will have."""
        loop = asyncio.get_running_loop()
        now = loop.time()
        for item, held in self._held.values():
            if held.journaling:
                continue
            if not everything and now - held.since < JOURNAL_AFTER_SECONDS:
                # The rest came later still.
                self._journaling_late = loop.call_later(
                    held.since + JOURNAL_AFTER_SECONDS - now, self._journal_late
                )
                return
            held.journaling = True
            write = loop.create_task(self._journal_one(item, held))
            self._late_writes.add(write)
            write.add_done_callback(self._late_writes.discard)

    async def _journal_one(self, item: ItemT, held: _Held) -> None:
        try:
            await self._journal.append(
                item, held.discriminator, held.priority, partial(self._journaled, item, held)
            )
        except Exception as error:
            # Its caller gets the error; the item stays queued, and may well be handled.
            logger.exception("Journaling a queued item failed.")
            if self._held.pop(id(item), None) is not None:
                answer(held.safe, error)

    def _journaled(self, item: ItemT, held: _Held, position: int) -> None:
        entry = self._held.get(id(item))
        if entry is None or entry[1] is not held:
            # Acknowledged or removed while its entry was written: done, so out it goes.
            self._journal.remove(position)
        else:
            del self._held[id(item)]
            self._positions[id(item)] = position
        answer(held.safe)

    def _forget(self, item: ItemT) -> None:
        position = self._positions.pop(id(item), None)
        if position is not None:
            self._journal.remove(position)
            return
        if id(item) in self._held:
            if not self._journal.after_commit(partial(self._release, item)):
                self._release(item)
        elif self._journal.after_commit(self._settle):
            # Until its unit commits, the flows' recovery must not count it as handled.
            self._unsettled += 1

    def _release(self, item: ItemT) -> None:
        """A held item is done: its caller may go on (an entry being written for it is
        removed once it is, see ``_journaled``)."""
        entry = self._held.get(id(item))
        if entry is None or entry[0] is not item:
            return
        del self._held[id(item)]
        answer(entry[1].safe)

    def _settle(self) -> None:
        self._unsettled -= 1
