"""The baselines of ``stores.py``: each database's own driver, and the ``eventsourcing`` library.

Raw inserts write rows shaped and indexed like our events table (ids, revision, timestamp,
the event's JSON; the key on aggregate id and revision, indexes on the causation and
correlation ids, the timestamp and a unique position) into a table of their own, with one
client: one row per transaction, and 100 rows per transaction in one statement. Positions
come from the database's own counter (a sequence, AUTO_INCREMENT, the rowid), which is not
gap-safe; that, and reading before writing, is what our stores add. Durability is each
server's as configured, the same our stores get; SQLite uses the settings of our SQLite
stores (WAL, ``synchronous=NORMAL``).

``eventsourcing`` (PyPI, with the C build of psycopg; the ``bench`` extra) runs the
same aggregate workload on the same PostgreSQL: a message created by a ``Sent`` event and
liked by ``Liked`` events, saved by an ``Application`` with its aggregate cache on (as our
engine's is). It is synchronous, so its concurrent clients are threads.
"""

from __future__ import annotations

import functools
import random
import sqlite3
import threading
import time
from collections.abc import Awaitable, Callable
from typing import Any
from uuid import UUID

import asyncmy
import asyncpg
from store_workloads import LIKED_AGGREGATES, Rate, run_clients

from wolkenkit.messages import new_id
from wolkenkit.testing.builders import build_domain_event
from wolkenkit.testing.contracts._messages import build_aggregate_identifier

#: Rows per transaction of the batched raw insert.
RAW_BATCH = 100

Row = tuple[str, int, str, str, int, str]
#: Inserts rows in one transaction.
InsertRows = Callable[[list[Row]], Awaitable[None]]

_EVENT_JSON = build_domain_event(
    build_aggregate_identifier(), "sent", {"text": "Hello, world!"}
).model_dump_json()


def _rows(count: int) -> list[Row]:
    return [(new_id(), 1, new_id(), new_id(), 0, _EVENT_JSON) for _ in range(count)]


async def raw_one(insert: InsertRows, seconds: float) -> Rate:
    """Rows per second, inserted one per transaction."""

    async def one() -> int:
        await insert(_rows(1))
        return 1

    return await run_clients(1, seconds, one)


async def raw_batches(insert: InsertRows, seconds: float) -> Rate:
    """Rows per second, inserted ``RAW_BATCH`` per transaction."""

    async def batch() -> int:
        await insert(_rows(RAW_BATCH))
        return RAW_BATCH

    return await run_clients(1, seconds, batch)


_COLUMNS = "aggregate_id, revision, causation_id, correlation_id, timestamp, domain_event"


async def postgres_inserter(connection: asyncpg.Connection, schema: str) -> InsertRows:
    table = f'"{schema}".raw_events'
    await connection.execute(
        f"CREATE TABLE {table} (position bigserial UNIQUE, aggregate_id uuid, revision integer,"
        " causation_id uuid, correlation_id uuid, timestamp bigint, domain_event json,"
        " PRIMARY KEY (aggregate_id, revision))"
    )
    for column in ("causation_id", "correlation_id", "timestamp"):
        await connection.execute(f"CREATE INDEX ON {table} ({column})")
    one = f"INSERT INTO {table} ({_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6)"
    many = (
        f"INSERT INTO {table} ({_COLUMNS}) SELECT * FROM unnest($1::uuid[], $2::integer[],"
        " $3::uuid[], $4::uuid[], $5::bigint[], $6::json[])"
    )

    async def insert(rows: list[Row]) -> None:
        if len(rows) == 1:
            await connection.execute(one, *rows[0])
        else:
            await connection.execute(many, *zip(*rows, strict=True))

    return insert


async def mariadb_inserter(connection: asyncmy.Connection) -> InsertRows:
    async with connection.cursor() as cursor:
        await cursor.execute(
            "CREATE TABLE raw_events (position BIGINT AUTO_INCREMENT UNIQUE,"
            " aggregate_id BINARY(16), revision INT UNSIGNED, causation_id BINARY(16),"
            " correlation_id BINARY(16), timestamp BIGINT, domain_event JSON,"
            " PRIMARY KEY (aggregate_id, revision), KEY (causation_id), KEY (correlation_id),"
            " KEY (timestamp)) ENGINE=InnoDB"
        )
    values = "(%s, %s, %s, %s, %s, %s)"

    async def insert(rows: list[Row]) -> None:
        arguments = [
            value
            for aggregate_id, revision, causation_id, correlation_id, timestamp, text in rows
            for value in (
                bytes.fromhex(aggregate_id.replace("-", "")),
                revision,
                bytes.fromhex(causation_id.replace("-", "")),
                bytes.fromhex(correlation_id.replace("-", "")),
                timestamp,
                text,
            )
        ]
        sql = f"INSERT INTO raw_events ({_COLUMNS}) VALUES " + ", ".join([values] * len(rows))
        async with connection.cursor() as cursor:
            await cursor.execute(sql, arguments)

    return insert


def sqlite_inserter(file_name: str) -> InsertRows:
    connection = sqlite3.connect(file_name, isolation_level=None)
    connection.execute("PRAGMA journal_mode = WAL").fetchall()
    connection.execute("PRAGMA synchronous = NORMAL")
    connection.execute(f"CREATE TABLE raw_events (position INTEGER PRIMARY KEY, {_COLUMNS})")
    connection.execute("CREATE UNIQUE INDEX raw_key ON raw_events (aggregate_id, revision)")
    for column in ("causation_id", "correlation_id"):
        connection.execute(f"CREATE INDEX raw_{column} ON raw_events ({column})")
    sql = f"INSERT INTO raw_events ({_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?)"

    async def insert(rows: list[Row]) -> None:
        connection.execute("BEGIN")
        connection.executemany(sql, rows)
        connection.execute("COMMIT")

    return insert


@functools.cache
def _chat_application() -> Any:
    """The chat sample as an ``eventsourcing`` application class (made once: the library
    registers each aggregate class under its name), or ``None`` without the library."""
    try:
        from eventsourcing.application import Application
        from eventsourcing.domain import Aggregate, event
        from eventsourcing.persistence import IntegrityError
    except ImportError:
        return None

    class Message(Aggregate):  # type: ignore[misc, unused-ignore]
        @event("Sent")
        def __init__(self, text: str) -> None:
            self.text = text
            self.likes = 0

        @event("Liked")
        def like(self) -> None:
            self.likes += 1

    class Chat(Application[UUID]):  # type: ignore[misc, unused-ignore]
        def send(self, text: str) -> UUID:
            message: Any = Message(text)
            self.save(message)
            message_id: UUID = message.id
            return message_id

        def like(self, message_id: UUID) -> None:
            # Two clients may like one message at once; like our engine, try again.
            while True:
                message: Any = self.repository.get(message_id)
                message.like()
                try:
                    self.save(message)
                    return
                except IntegrityError:
                    continue

    return Chat


class EventsourcingChat:
    """The chat sample on ``eventsourcing``, in the given PostgreSQL schema."""

    def __init__(self, application: Any, postgres: dict[str, str], schema: str) -> None:
        self._chat = application(
            env={
                "PERSISTENCE_MODULE": "eventsourcing.postgres",
                "POSTGRES_DBNAME": postgres["database"],
                "POSTGRES_HOST": postgres["host"],
                "POSTGRES_PORT": postgres["port"],
                "POSTGRES_USER": postgres["user"],
                "POSTGRES_PASSWORD": postgres["password"],
                "POSTGRES_SCHEMA": schema,
                "POSTGRES_POOL_SIZE": "5",
                "CREATE_TABLE": "y",
                "AGGREGATE_CACHE_MAXSIZE": "10000",
            }
        )
        self._liked = [self._chat.send("Hot") for _ in range(LIKED_AGGREGATES)]
        self._choose = random.Random(LIKED_AGGREGATES).choice
        self._lock = threading.Lock()

    @staticmethod
    def open(postgres: dict[str, str], schema: str) -> EventsourcingChat | str:
        """The application, or why it cannot run."""
        application = _chat_application()
        if application is None:
            return "eventsourcing is not installed (the `bench` extra): no rows for it"
        return EventsourcingChat(application, postgres, schema)

    def sends(self, clients: int, seconds: float) -> Rate:
        """``send`` commands from ``clients`` threads, a new aggregate each."""
        return _threads(clients, seconds, lambda: self._chat.send("Hello, world!"))

    def likes(self, clients: int, seconds: float) -> Rate:
        """``like`` commands from ``clients`` threads, each for one of 100 aggregates."""

        def like() -> None:
            with self._lock:
                message_id = self._choose(self._liked)
            self._chat.like(message_id)

        return _threads(clients, seconds, like)

    def close(self) -> None:
        self._chat.close()


def _threads(clients: int, seconds: float, operation: Callable[[], object]) -> Rate:
    counts = [0] * clients
    deadline = time.perf_counter() + seconds

    def client(index: int) -> None:
        while time.perf_counter() < deadline:
            operation()
            counts[index] += 1

    started = time.perf_counter()
    threads = [threading.Thread(target=client, args=(index,)) for index in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Rate(sum(counts), time.perf_counter() - started)
