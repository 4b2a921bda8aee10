"""Writing events to MariaDB/MySQL, with positions in the order of commits.

The global order, and why a reader can never skip an event
-----------------------------------------------------------
InnoDB hands out AUTO_INCREMENT values when a row is inserted, not when its transaction
commits, so a reader following them could see position 8 of a fast writer before a slow writer
commits position 7, and skip 7 for good. Positions here are therefore assigned at the very end
of each transaction, in one script sent as a single round trip::

    INSERT the events (positions still temporary, unique negative numbers)  -- concurrently
    UPDATE the counter row SET last = last + n                              -- row lock
    UPDATE the events SET their final positions (last - n + 1 ... last)
    COMMIT                                                                  -- lock released

The counter row's lock is held from the moment positions are taken until the commit, so
transactions take positions in exactly the order in which they commit. InnoDB makes a commit
visible to new reads before it releases the committing transaction's locks (its commit in
memory leaves the set of active transactions first, then releases the locks, and flushes the
log only afterwards), so whenever a read sees a transaction's events, it sees every
transaction that took lower positions before it. A rolled-back transaction rolls the counter
back too, so positions have no gaps. Readers need no locks at all: a plain ``SELECT ... WHERE
position > ?`` continues safely from the last position seen.

Writers run concurrently for everything but the short final step: building rows, inserting,
checking the (aggregate id, revision) key and waiting for conflicting writers all happen
before the counter is touched, and the final step runs on the server without waiting for the
client. The temporary positions let the final UPDATE find the batch's rows by exact values of
the unique position index, which locks only those rows (READ COMMITTED, no gaps), so the step
never waits for another writer while it holds the counter.

Concurrent callers share transactions
-------------------------------------
Writes go through a group commit (``wolkenkit.stores.group_commit``): the batches of
concurrent callers that arrive while a script is in flight are inserted together by the next
script, and so share its transaction, its one step of the counter and its flush to disk.
"""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from typing import Any

from asyncmy.errors import MySQLError

from wolkenkit.errors import RevisionAlreadyExists, StoreError
from wolkenkit.messages import DomainEvent, DomainEventWithState
from wolkenkit.stores.domain_event_store import event_json
from wolkenkit.stores.group_commit import GroupCommit
from wolkenkit.stores.mariadb.database import Database, duplicate_key, error_number, uuid_bytes

_DEADLOCK = 1213
_ATTEMPTS = 3
# Temporary positions of a batch are -(base + 1) ... -(base + n); bases are random, so two
# batches in flight practically never collide (and retry if they do).
_MAX_BASE = 2**62
_COLUMNS = "`aggregateId`, `revision`, `causationId`, `correlationId`, `timestamp`"
#: Events that concurrent callers' batches add up to at most in one joint insert.
_JOINT_BATCH_SIZE = 5_000

#: An event's indexed columns, its JSON and its version.
Row = tuple[bytes, int, bytes, bytes, int, str, int]


class _Collision(StoreError):
    """The batch must be tried again: a deadlock, or a clash of temporary positions."""


class MariaDbEventWriter:
    """Stores batches of events into the events table, numbering them with the counter."""

    def __init__(self, database: Database, events: str, positions: str) -> None:
        self._database = database
        self._insert = (
            f"INSERT INTO {events} ({_COLUMNS}, `position`, `domainEvent`, `version`) VALUES "
        )
        self._take_positions = (
            f"UPDATE {positions} SET `last` = LAST_INSERT_ID(`last` + %s) WHERE `id` = 1"
        )
        # LAST_INSERT_ID() is now the batch's last position; -position - base is 1 ... n.
        self._set_positions = (
            f"UPDATE {events} FORCE INDEX (`position`) "
            "SET `position` = CAST(LAST_INSERT_ID() AS SIGNED) - %s - `position` "
            "WHERE `position` IN "
        )
        self._group_commit = GroupCommit(self._write_batches, len, _JOINT_BATCH_SIZE)

    async def write(self, domain_events: Sequence[DomainEvent]) -> None:
        """Store all or none of the events; ``RevisionAlreadyExists`` on a conflict."""
        await self._group_commit.write([_row(domain_event) for domain_event in domain_events])

    async def _write_batches(self, batches: list[list[Row]]) -> None:
        rows = batches[0] if len(batches) == 1 else [row for batch in batches for row in batch]
        for attempt in range(1, _ATTEMPTS + 1):
            try:
                await self._attempt(rows)
                return
            except _Collision:
                if attempt == _ATTEMPTS:
                    raise
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _attempt(self, rows: list[Row]) -> None:
        count = len(rows)
        base = secrets.randbelow(_MAX_BASE - count) + 1
        values = ", ".join(["(%s, %s, %s, %s, %s, %s, %s, %s)"] * count)
        arguments: list[Any] = []
        for index, row in enumerate(rows, start=1):
            arguments.extend((*row[:5], -(base + index), *row[5:]))
        temporary = ", ".join(str(-(base + index)) for index in range(1, count + 1))
        async with self._database.session() as session:
            try:
                await session.script(
                    ("START TRANSACTION", ()),
                    (self._insert + values, arguments),
                    (self._take_positions, (count,)),
                    (f"{self._set_positions}({temporary})", (count + base,)),
                    ("COMMIT", ()),
                )
            except MySQLError as error:
                key = duplicate_key(error)
                if key == "PRIMARY":
                    raise RevisionAlreadyExists(
                        "Aggregate id and revision already exist."
                    ) from None
                if key is not None or error_number(error) == _DEADLOCK:
                    raise _Collision(str(error)) from error
                raise


def _row(domain_event: DomainEvent) -> Row:
    """The indexed columns, the JSON and the version of one event (without any state it
    carries)."""
    if isinstance(domain_event, DomainEventWithState):
        domain_event = domain_event.without_state()
    metadata = domain_event.metadata
    return (
        uuid_bytes(domain_event.aggregate_identifier.aggregate.id),
        metadata.revision,
        uuid_bytes(metadata.causation_id),
        uuid_bytes(metadata.correlation_id),
        metadata.timestamp,
        event_json(domain_event),
        domain_event.version,
    )
