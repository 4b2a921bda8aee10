"""The PostgreSQL domain event store.

The global, gap-safe order
--------------------------
A sequence cannot give positions that are safe to follow: sequence values are handed out when
rows are inserted, not when they commit, so a slow transaction can commit position 5 after a
reader has already seen 6 and moved on. Locking writers into one line would fix that at the
cost of all concurrency. Instead an event's position is built from the id of the transaction
that wrote it::

    position = pg_current_xact_id() * 2**20 + index of the event in its batch

A reader returns only events whose transaction id lies below ``pg_snapshot_xmin`` of its
snapshot, the oldest transaction still running anywhere in the cluster. Every transaction below
that horizon has finished, so its events are either visible or will never exist; every
transaction that commits later is still running, or has not even started, and so has an id at
or above the horizon, hence larger positions than anything returned. A reader that continues
after the last position it saw therefore sees every committed event exactly once, in position
order, while writers never wait for each other. Within an aggregate positions follow revisions:
a writer gets its transaction id only when it inserts, after it has read the previous revision.

The price: events become readable only once every older transaction of the cluster (also of
other tables and databases) has ended, so a long-running transaction holds readers back. The
layout leaves 43 bits for transaction ids (epochs below 2048) and allows 2**20 events per
batch. Positions are only comparable within one cluster's transaction history: ``setup()``
refuses a table whose positions lie ahead of the server's transaction ids, which happens after
a logical restore into a fresh cluster.

Round trips
-----------
Writes go through a group commit (``wolkenkit.stores.group_commit``): the batches that arrive
while an insert is in flight share the next insert, so its events share one transaction id and
are numbered on through the joint batch. ``get_replay_for_command`` is one statement: a command
costs the engine one read and its share of one commit.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable, Sequence
from contextlib import aclosing
from typing import Any, TypeAlias

import asyncpg
from pydantic import Field
from pydantic_core import to_json

from wolkenkit._pydantic import validated_json
from wolkenkit.errors import ParameterInvalid, RevisionAlreadyExists, StoreError
from wolkenkit.messages import AggregateIdentifier, DomainEvent, Snapshot
from wolkenkit.stores import table_names
from wolkenkit.stores.domain_event_store import (
    MAX_REVISION,
    CommandReplay,
    DomainEventStore,
    PositionedDomainEvent,
    check_domain_events,
    check_from_timestamp,
    check_position_range,
    check_revision_range,
    event_json,
    with_version,
)
from wolkenkit.stores.group_commit import GroupCommit
from wolkenkit.stores.postgres.connection import (
    DriverErrors,
    Names,
    PostgresOptions,
    set_up,
)
from wolkenkit.stores.postgres.pool import ConnectionPool
from wolkenkit.stores.table_names import NonEmptyName

STORE = "PostgreSQL domain event store"
#: Bits of a position that number the events of one batch.
BATCH_BITS = 20
_XMAX = "SELECT pg_snapshot_xmax(pg_current_snapshot())::text::bigint"
_XMIN = "SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint"
_READABLE_POLL_SECONDS = 0.01
MAX_BATCH_SIZE = 2**BATCH_BITS
#: Rows a streaming read fetches per round trip.
PREFETCH = 1_000
#: Stands in for "no limit" when a paged read counts down what is left to read.
_UNLIMITED = 2**63
#: Sorts before every aggregate id, so the first page of a replay starts at the beginning.
_NIL_UUID = "00000000-0000-0000-0000-000000000000"
#: Events that concurrent callers' batches add up to at most in one joint insert.
JOINT_BATCH_SIZE = 5_000

#: An event's columns as the insert takes them.
Row = tuple[str, int, str, str, int, str, int]
#: A chunk of rows on its way from the server.
Fetch = Awaitable[list[asyncpg.Record]]


DomainEventTableNames: TypeAlias = table_names.DomainEventTableNames[NonEmptyName, NonEmptyName]


class DomainEventStoreOptions(PostgresOptions):
    table_names: DomainEventTableNames = Field(default_factory=DomainEventTableNames)


def _decode(text: str, version: int) -> DomainEvent:
    # pydantic-core parses and builds in one pass, faster than json.loads plus trusted models.
    # Its validator is called directly: ``model_validate_json`` merely forwards to it, which
    # adds a sixth to the cost. (Skipping the checks of ids and names would save nothing.)
    return with_version(validated_json(DomainEvent, text), version)


async def _prefetched(
    first: Fetch, following: Callable[[list[asyncpg.Record]], Fetch | None]
) -> AsyncGenerator[list[asyncpg.Record]]:
    """The chunks of ``first`` and of what ``following`` asks for after each chunk (``None``
    after the last). The next chunk is requested before the current one is handed out, so the
    server produces it while the caller decodes. Close it before the connection is reused."""
    pending = asyncio.ensure_future(first)
    try:
        while True:
            rows = await pending
            request = following(rows)
            if request is not None:
                pending = asyncio.ensure_future(request)
                # A task starts only when the event loop gets its turn, and the caller's loop
                # over the chunk never hands it one: without this, the request would leave
                # only once the chunk is done.
                await asyncio.sleep(0)
            if rows:
                yield rows
            if request is None:
                return
    finally:
        # A caller that stops early leaves a fetch running; the connection must finish it
        # before anything else, whatever its outcome.
        if not pending.done():
            await asyncio.wait([pending])
        if not pending.cancelled():
            pending.exception()


class PostgresDomainEventStore(DomainEventStore):
    """Events as JSON beside indexed columns, with positions from transaction ids."""

    reads_fresh_events = True

    def __init__(self, pool: ConnectionPool, options: DomainEventStoreOptions) -> None:
        self._pool = pool
        self._errors = DriverErrors(STORE)
        names = Names(options.schema_name)
        self._names = names
        table_names = options.table_names
        self._events_name = table_names.domain_events
        self._snapshots_name = table_names.snapshots
        events = self._events = names.table(table_names.domain_events)
        snapshots = self._snapshots = names.table(table_names.snapshots)
        self._insert = (
            f"INSERT INTO {events} (position, aggregate_id, revision, causation_id,"
            " correlation_id, timestamp, domain_event, version)"
            f" SELECT (transaction.id << {BATCH_BITS}) + batch.index - 1, batch.aggregate_id,"
            " batch.revision, batch.causation_id, batch.correlation_id, batch.timestamp,"
            " batch.domain_event, batch.version"
            " FROM (SELECT pg_current_xact_id()::text::bigint AS id) AS transaction,"
            " unnest($1::uuid[], $2::integer[], $3::uuid[], $4::uuid[], $5::bigint[],"
            " $6::json[], $7::integer[]) WITH ORDINALITY AS batch(aggregate_id, revision,"
            " causation_id, correlation_id, timestamp, domain_event, version, index)"
        )
        # The same for a single event, whose scalar parameters cost the driver less to encode
        # than one-element arrays: a lone command's write.
        self._insert_one = (
            f"INSERT INTO {events} (position, aggregate_id, revision, causation_id,"
            " correlation_id, timestamp, domain_event, version)"
            f" VALUES (pg_current_xact_id()::text::bigint << {BATCH_BITS}, $1, $2, $3, $4, $5,"
            " $6, $7)"
        )
        self._last = (
            f"SELECT domain_event, version FROM {events} WHERE aggregate_id = $1"
            " ORDER BY revision DESC LIMIT 1"
        )
        self._by_causation_id = (
            f"SELECT domain_event, version FROM {events} WHERE causation_id = $1 ORDER BY position"
        )
        self._has_causation_id = f"SELECT EXISTS (SELECT FROM {events} WHERE causation_id = $1)"
        self._by_correlation_id = (
            f"SELECT domain_event, version FROM {events} WHERE correlation_id = $1"
            " ORDER BY position"
        )
        # The streamed reads go in keyset pages (see ``_pages``): each takes the key of the
        # last row seen and a page size as its last parameters.
        self._replay = (
            f"SELECT aggregate_id, revision, domain_event, version FROM {events}"
            " WHERE timestamp >= $1"
            " AND (aggregate_id, revision) > ($2, $3) ORDER BY aggregate_id, revision LIMIT $4"
        )
        self._replay_for_aggregate = (
            f"SELECT domain_event, version FROM {events} WHERE aggregate_id = $1"
            " AND revision BETWEEN $2 AND $3 ORDER BY revision"
        )
        # A command's reads in one statement, so they see one snapshot of the tables. Without
        # a revision to start from, the latest snapshot is read and the events after it. The
        # events come as two arrays from one scan: their JSON and their versions.
        handled = f"EXISTS (SELECT FROM {events} WHERE causation_id = $2)"

        def history(after: str) -> str:
            return (
                " FROM (SELECT array_agg(domain_event ORDER BY revision) AS texts,"
                " array_agg(version ORDER BY revision) AS versions"
                f" FROM {events} WHERE aggregate_id = $1 AND revision {after}) AS history"
            )

        self._replay_for_command = (
            f"SELECT {handled}, NULL::integer, NULL::json, NULL::text, history.texts,"
            f" history.versions{history('>= $3')}"
        )
        self._replay_for_command_from_snapshot = (
            f"WITH snapshot AS (SELECT revision, state, state_model FROM {snapshots}"
            f" WHERE aggregate_id = $1 ORDER BY revision DESC LIMIT 1) SELECT {handled},"
            " (SELECT revision FROM snapshot), (SELECT state FROM snapshot),"
            " (SELECT state_model FROM snapshot), history.texts, history.versions"
            + history("> coalesce((SELECT revision FROM snapshot), 0)")
        )
        # The horizon is evaluated once, against the snapshot the rows are read with.
        self._by_position = (
            f"SELECT position, domain_event, version FROM {events} WHERE position > $1 AND"
            " position <"
            f" ((SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint) << {BATCH_BITS})"
            " ORDER BY position LIMIT $2"
        )
        self._get_snapshot = (
            f"SELECT revision, state, state_model FROM {snapshots} WHERE aggregate_id = $1"
            " ORDER BY revision DESC LIMIT 1"
        )
        # A snapshot of a revision that has one stays out, unless it was taken under
        # another state model: then it takes the old one's place.
        self._store_snapshot = (
            f"INSERT INTO {snapshots} AS kept (aggregate_id, revision, state, state_model)"
            " VALUES ($1, $2, $3, $4) ON CONFLICT (aggregate_id, revision) DO UPDATE"
            " SET state = excluded.state, state_model = excluded.state_model"
            " WHERE kept.state_model <> excluded.state_model"
        )
        self._count = f"SELECT count(*) FROM {events}"
        self._identifiers = (
            f"SELECT position, domain_event -> 'aggregateIdentifier' FROM {events}"
            " WHERE revision = 1 AND position > $1 ORDER BY position LIMIT $2"
        )
        self._identifiers_by_name = (
            f"SELECT position, domain_event -> 'aggregateIdentifier' FROM {events}"
            " WHERE revision = 1"
            " AND domain_event #>> '{aggregateIdentifier,context,name}' = $1"
            " AND domain_event #>> '{aggregateIdentifier,aggregate,name}' = $2"
            " AND position > $3 ORDER BY position LIMIT $4"
        )
        self._group_commit = GroupCommit(self._insert_batches, len, JOINT_BATCH_SIZE)

    async def setup(self) -> None:
        events, snapshots = self._events, self._snapshots
        index = Names.index
        # JSON is stored as ``json``, not ``jsonb``: nothing queries inside it on a hot path,
        # and plain text costs the server no conversion on the way in or out.
        await set_up(
            self._pool,
            self._names,
            [
                f"CREATE TABLE IF NOT EXISTS {events} ("
                " position bigint NOT NULL,"
                " aggregate_id uuid NOT NULL,"
                " revision integer NOT NULL,"
                " causation_id uuid NOT NULL,"
                " correlation_id uuid NOT NULL,"
                " timestamp bigint NOT NULL,"
                " domain_event json NOT NULL,"
                " version integer NOT NULL DEFAULT 1,"
                " PRIMARY KEY (aggregate_id, revision))",
                f"CREATE UNIQUE INDEX IF NOT EXISTS {index(self._events_name, 'position')}"
                f" ON {events} (position)",
                f"CREATE INDEX IF NOT EXISTS {index(self._events_name, 'causation_id')}"
                f" ON {events} (causation_id)",
                f"CREATE INDEX IF NOT EXISTS {index(self._events_name, 'correlation_id')}"
                f" ON {events} (correlation_id)",
                f"CREATE INDEX IF NOT EXISTS {index(self._events_name, 'timestamp')}"
                f" ON {events} (timestamp)",
                f"CREATE INDEX IF NOT EXISTS {index(self._events_name, 'first_events')}"
                f" ON {events} (position) WHERE revision = 1",
                f"CREATE TABLE IF NOT EXISTS {snapshots} ("
                " aggregate_id uuid NOT NULL,"
                " revision integer NOT NULL,"
                " state json NOT NULL,"
                " state_model text NOT NULL DEFAULT '',"
                " PRIMARY KEY (aggregate_id, revision))",
            ],
            STORE,
            self._add_missing_columns,
        )
        await self._check_positions()

    async def _add_missing_columns(self, connection: asyncpg.Connection) -> None:
        """Tables from before versions and state models get their columns: their events are
        at version 1, their snapshots of no known model. Looked up first, since even an
        ``ADD COLUMN IF NOT EXISTS`` that changes nothing locks out every reader meanwhile."""
        for table, column, definition in (
            (self._events, "version", "integer NOT NULL DEFAULT 1"),
            (self._snapshots, "state_model", "text NOT NULL DEFAULT ''"),
        ):
            exists = await connection.fetchval(
                "SELECT EXISTS (SELECT FROM pg_attribute WHERE attrelid = $1::regclass"
                " AND attname = $2 AND NOT attisdropped)",
                table,
                column,
            )
            if not exists:
                await connection.execute(f"ALTER TABLE {table} ADD COLUMN {column} {definition}")

    async def _check_positions(self) -> None:
        with self._errors:
            ahead = await self._pool.fetchval(
                f"SELECT max(position) >> {BATCH_BITS}"
                " >= pg_snapshot_xmax(pg_current_snapshot())::text::bigint"
                f" FROM {self._events}"
            )
        if ahead:
            raise StoreError(
                f"The {STORE} holds positions ahead of the server's transaction ids"
                " (was it restored into another cluster?), so new events would sort before"
                " old ones. Advance the cluster's transaction id epoch with pg_resetwal -e."
            )

    async def destroy(self) -> None:
        await self._pool.close()

    async def get_last_domain_event(
        self, aggregate_identifier: AggregateIdentifier
    ) -> DomainEvent | None:
        with self._errors:
            row = await self._pool.fetchrow(self._last, aggregate_identifier.aggregate.id)
        return None if row is None else _decode(row[0], row[1])

    async def get_domain_events_by_causation_id(
        self, causation_id: str
    ) -> AsyncIterator[DomainEvent]:
        for domain_event in await self._fetch_events(self._by_causation_id, causation_id):
            yield domain_event

    async def has_domain_events_with_causation_id(self, causation_id: str) -> bool:
        with self._errors:
            found: bool = await self._pool.fetchval(self._has_causation_id, causation_id)
        return found

    async def get_domain_events_by_correlation_id(
        self, correlation_id: str
    ) -> AsyncIterator[DomainEvent]:
        for domain_event in await self._fetch_events(self._by_correlation_id, correlation_id):
            yield domain_event

    async def get_replay(self, from_timestamp: int = 0) -> AsyncIterator[DomainEvent]:
        check_from_timestamp(from_timestamp)
        pages = self._pages(self._replay, (from_timestamp,), (_NIL_UUID, 0), _aggregate_key)
        async for rows in pages:
            for row in rows:
                yield _decode(row[2], row[3])

    async def get_replay_for_aggregate(
        self, aggregate_id: str, from_revision: int = 1, to_revision: int = MAX_REVISION
    ) -> AsyncIterator[DomainEvent]:
        check_revision_range(from_revision, to_revision)
        # One aggregate's events are few enough to fetch in one round trip, which keeps
        # loading an aggregate for a command cheap.
        events = await self._fetch_events(
            self._replay_for_aggregate, aggregate_id, from_revision, to_revision
        )
        for domain_event in events:
            yield domain_event

    async def get_replay_for_command(
        self,
        aggregate_identifier: AggregateIdentifier,
        causation_id: str,
        from_revision: int | None = None,
    ) -> CommandReplay:
        aggregate_id = aggregate_identifier.aggregate.id
        with self._errors:
            if from_revision is None:
                rows = await self._pool.fetch(
                    self._replay_for_command_from_snapshot, aggregate_id, causation_id
                )
            else:
                check_revision_range(from_revision, MAX_REVISION)
                rows = await self._pool.fetch(
                    self._replay_for_command, aggregate_id, causation_id, from_revision
                )
        # An aggregate without GROUP BY gives exactly one row; its arrays are NULL for none.
        handled, snapshot_revision, state, state_model, texts, versions = rows[0]
        snapshot = None
        if snapshot_revision is not None:
            snapshot = Snapshot.trusted(
                aggregate_identifier=aggregate_identifier,
                revision=snapshot_revision,
                state=json.loads(state),
                state_model=state_model,
            )
        domain_events = (
            []
            if texts is None
            else [_decode(*event) for event in zip(texts, versions, strict=True)]
        )
        return CommandReplay(handled, snapshot, domain_events)

    async def get_replay_by_position(
        self, after_position: int = 0, limit: int | None = None
    ) -> AsyncIterator[PositionedDomainEvent]:
        check_position_range(after_position, limit)
        pages = self._pages(self._by_position, (), (after_position,), _position_key, limit)
        async for rows in pages:
            # Decoded one at a time: a whole chunk of live events would keep the garbage
            # collector busy, at half the speed. Positional arguments: keywords make the frozen
            # dataclass's __init__ half as dear again.
            for row in rows:
                yield PositionedDomainEvent(row[0], _decode(row[1], row[2]))

    async def count_domain_events(self) -> int:
        with self._errors:
            count: int = await self._pool.fetchval(self._count)
        return count

    async def wait_until_readable(self) -> None:
        # Every transaction that has committed has an id below the current snapshot's xmax;
        # once the oldest one still running is at or past it, all of them are below the
        # horizon that readers follow.
        with self._errors:
            horizon = await self._pool.fetchval(_XMAX)
            while True:
                if await self._pool.fetchval(_XMIN) >= horizon:
                    return
                await asyncio.sleep(_READABLE_POLL_SECONDS)

    async def store_domain_events(self, domain_events: Sequence[DomainEvent]) -> None:
        check_domain_events(domain_events)
        if len(domain_events) > MAX_BATCH_SIZE:
            raise ParameterInvalid(f"At most {MAX_BATCH_SIZE} domain events fit in one batch.")
        rows: list[Row] = [
            (
                domain_event.aggregate_identifier.aggregate.id,
                domain_event.metadata.revision,
                domain_event.metadata.causation_id,
                domain_event.metadata.correlation_id,
                domain_event.metadata.timestamp,
                event_json(domain_event),
                domain_event.version,
            )
            for domain_event in domain_events
        ]
        await self._group_commit.write(rows)

    async def _insert_batches(self, batches: list[list[Row]]) -> None:
        rows = batches[0] if len(batches) == 1 else [row for batch in batches for row in batch]
        with self._errors:
            try:
                # One statement, so the batches are stored all or nothing.
                if len(rows) == 1:
                    await self._pool.execute(self._insert_one, *rows[0])
                else:
                    await self._pool.execute(self._insert, *zip(*rows, strict=True))
            except asyncpg.UniqueViolationError:
                raise RevisionAlreadyExists("Aggregate id and revision already exist.") from None

    async def get_snapshot(self, aggregate_identifier: AggregateIdentifier) -> Snapshot | None:
        with self._errors:
            row = await self._pool.fetchrow(self._get_snapshot, aggregate_identifier.aggregate.id)
        if row is None:
            return None
        return Snapshot(
            aggregate_identifier=aggregate_identifier,
            revision=row[0],
            state=json.loads(row[1]),
            state_model=row[2],
        )

    async def store_snapshot(self, snapshot: Snapshot) -> None:
        with self._errors:
            await self._pool.execute(
                self._store_snapshot,
                snapshot.aggregate_identifier.aggregate.id,
                snapshot.revision,
                to_json(snapshot.state).decode(),
                snapshot.state_model,
            )

    async def get_aggregate_identifiers(self) -> AsyncIterator[AggregateIdentifier]:
        async for rows in self._pages(self._identifiers, (), (0,), _position_key):
            for row in rows:
                yield AggregateIdentifier.model_validate_json(row[1])

    async def get_aggregate_identifiers_by_name(
        self, context_name: str, aggregate_name: str
    ) -> AsyncIterator[AggregateIdentifier]:
        names = (context_name, aggregate_name)
        async for rows in self._pages(self._identifiers_by_name, names, (0,), _position_key):
            for row in rows:
                yield AggregateIdentifier.model_validate_json(row[1])

    async def _fetch_events(self, query: str, *arguments: Any) -> list[DomainEvent]:
        with self._errors:
            rows = await self._pool.fetch(query, *arguments)
        return [_decode(row[0], row[1]) for row in rows]

    async def _pages(
        self,
        query: str,
        arguments: tuple[Any, ...],
        first_key: tuple[Any, ...],
        key_of: Callable[[asyncpg.Record], tuple[Any, ...]],
        limit: int | None = None,
    ) -> AsyncIterator[list[asyncpg.Record]]:
        """The rows of ``query`` in pages, each continuing after the key of the last row seen
        (``first_key`` stands before every row), so a long read never sits in memory whole.

        Not through a cursor: a portal is planned for its whole result, which on a table
        without fresh statistics is a sort of everything before the first row (a quarter of
        a second per 200,000 events), while a page's ``LIMIT`` always gets the index scan. The
        pages share one snapshot (repeatable read), so together they return exactly what one
        query would (and a replay by position evaluates one horizon for all of them).
        ``query`` takes ``arguments``, then the key, then the page size.
        """
        with self._errors:
            async with (
                self._pool.acquire() as connection,
                connection.transaction(isolation="repeatable_read", readonly=True),
            ):
                left = _UNLIMITED if limit is None else limit

                def page(key: tuple[Any, ...]) -> Fetch:
                    return connection.fetch(query, *arguments, *key, min(PREFETCH, left))

                def following(rows: list[asyncpg.Record]) -> Fetch | None:
                    nonlocal left
                    # A page shorter than asked for is the last one.
                    full = len(rows) == min(PREFETCH, left)
                    left -= len(rows)
                    return page(key_of(rows[-1])) if full and left else None

                # Closed here, so its last fetch has ended before the transaction does.
                async with aclosing(_prefetched(page(first_key), following)) as chunks:
                    async for rows in chunks:
                        yield rows


def _position_key(row: asyncpg.Record) -> tuple[Any, ...]:
    return (row[0],)


def _aggregate_key(row: asyncpg.Record) -> tuple[Any, ...]:
    return (row[0], row[1])
