"""SQLite backends: events, locks, progress, queues and views in one file, ``wk dev``'s default.

Options are ``{"type": "Sqlite", "fileName": "<path>", "tableNames": {...}}`` (or the URL
``sqlite:///path``). Stores of one file within a process share one connection; several
processes may open the same file.

How the driver is called. The stdlib ``sqlite3`` module is synchronous, and we call it
directly on the event loop: an operation is one short transaction that never awaits inside,
so it is atomic within the process and holds no lock across an ``await``. The exception is a
unit of work (a flow's table writes with its progress, ``database``), which holds the write
lock from its first write until its end. Measured through
these stores (2-core VM): a read ~6-8 µs, appending one event with its commit ~40 µs. The hop
to a thread and back that aiosqlite or an executor thread adds to every call measured
85-130 µs alone, several times the statements themselves, on a path every command takes.
What may take long is kept off the loop: waiting for another process's write lock is not
left to SQLite's busy handler but retried after an asynchronous sleep (``database``), streams
read in pages, yielding to other tasks between them, and a group's COMMIT (with the
checkpoint that fsyncs every ~16 MB written) runs in a thread: one hop per commit, not per
call.

Durability. WAL mode with ``synchronous=NORMAL``: a commit reaches the WAL file before it is
acknowledged, so a killed or crashed process loses nothing it committed, and an interrupted
transaction is discarded whole on the next open. A power cut or OS crash may lose the last
commits (never consistency); ``FULL`` would fsync every commit and cost milliseconds per
command, too much for a development default.

Concurrency. Every read-modify-write runs in ``BEGIN IMMEDIATE``, which takes SQLite's one
write lock up front, across connections and processes: the priority queue never hands a
discriminator to two workers and the lock store is atomic. The global order of events is the
rowid, assigned under that lock (see ``domain_event_store``).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel

from wolkenkit.stores.journaled_queue import JournaledPriorityQueueStore
from wolkenkit.stores.options import parse_options
from wolkenkit.stores.priority_queue_store import DoesIdentifierMatchItem
from wolkenkit.stores.sqlite.consumer_progress_store import SqliteConsumerProgressStore
from wolkenkit.stores.sqlite.database import MEMORY, SqliteDatabase, open_shared
from wolkenkit.stores.sqlite.domain_event_store import SqliteDomainEventStore
from wolkenkit.stores.sqlite.lock_store import SqliteLockStore
from wolkenkit.stores.sqlite.options import (
    ConsumerProgressStoreOptions,
    DomainEventStoreOptions,
    LockStoreOptions,
    PriorityQueueStoreOptions,
    SqliteOptions,
    ViewStoreOptions,
)
from wolkenkit.stores.sqlite.priority_queue_store import SqlitePriorityQueueStore
from wolkenkit.stores.sqlite.queue_journal import SqliteQueueJournal, is_owned
from wolkenkit.stores.sqlite.view_store import SqliteViewStore

__all__ = [
    "SqliteConsumerProgressStore",
    "SqliteDatabase",
    "SqliteDomainEventStore",
    "SqliteLockStore",
    "SqlitePriorityQueueStore",
    "SqliteViewStore",
    "create_consumer_progress_store",
    "create_domain_event_store",
    "create_journaled_priority_queue_store",
    "create_lock_store",
    "create_priority_queue_store",
    "create_view_store",
    "is_priority_queue_owned",
]

ItemT = TypeVar("ItemT", bound=BaseModel)
IdentifierT = TypeVar("IdentifierT")
OptionsT = TypeVar("OptionsT", bound=SqliteOptions)


def _open(
    model: type[OptionsT], options: Mapping[str, Any], kind: str
) -> tuple[OptionsT, SqliteDatabase]:
    """The validated options and the process's database of their file."""
    store = f"SQLite {kind}"
    parsed = parse_options(model, options, store)
    return parsed, open_shared(parsed.file_name, store)


async def create_domain_event_store(options: Mapping[str, Any]) -> SqliteDomainEventStore:
    parsed, database = _open(DomainEventStoreOptions, options, "domain event store")
    return SqliteDomainEventStore(database, parsed.table_names)


async def create_lock_store(options: Mapping[str, Any]) -> SqliteLockStore:
    parsed, database = _open(LockStoreOptions, options, "lock store")
    return SqliteLockStore(database, parsed.table_names)


async def create_consumer_progress_store(
    options: Mapping[str, Any],
) -> SqliteConsumerProgressStore:
    parsed, database = _open(ConsumerProgressStoreOptions, options, "consumer progress store")
    return SqliteConsumerProgressStore(database, parsed.table_names)


async def create_priority_queue_store(
    options: Mapping[str, Any],
    item_model: type[ItemT],
    does_identifier_match_item: DoesIdentifierMatchItem[ItemT, IdentifierT],
    expiration_time: int,
) -> SqlitePriorityQueueStore[ItemT, IdentifierT]:
    parsed, database = _open(PriorityQueueStoreOptions, options, "priority queue store")
    return SqlitePriorityQueueStore(
        database, parsed.table_names, item_model, does_identifier_match_item, expiration_time
    )


async def create_journaled_priority_queue_store(
    options: Mapping[str, Any],
    item_model: type[ItemT],
    does_identifier_match_item: DoesIdentifierMatchItem[ItemT, IdentifierT],
    expiration_time: int,
) -> JournaledPriorityQueueStore[ItemT, IdentifierT]:
    """The queue for a process that is its only user: see ``queue_journal``."""
    parsed, database = _open(PriorityQueueStoreOptions, options, "priority queue store")
    return JournaledPriorityQueueStore(
        SqliteQueueJournal(database, parsed.table_names),
        item_model,
        does_identifier_match_item,
        expiration_time,
    )


def is_priority_queue_owned(options: Mapping[str, Any]) -> bool:
    """Whether a running process owns the queue's journal (``queue_journal``)."""
    parsed = parse_options(PriorityQueueStoreOptions, options, "SQLite priority queue store")
    return parsed.file_name != MEMORY and is_owned(parsed.file_name, parsed.table_names)


async def create_view_store(options: Mapping[str, Any]) -> SqliteViewStore:
    parsed, database = _open(ViewStoreOptions, options, "view store")
    return SqliteViewStore(database, parsed.table_prefix)
