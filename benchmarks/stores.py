"""Domain event stores side by side: in memory, SQLite, PostgreSQL and MariaDB, in one run.

    .venv/bin/python benchmarks/stores.py [--backends memory,sqlite,postgres,mariadb]
        [--seconds 3] [--rounds 1] [--postgres URL] [--mariadb URL]

Rows, per backend (see ``store_workloads`` and ``store_baselines``):
- the chat sample's ``send`` through the engine (decide + append, a new aggregate each, as
  the APIs send it: the aggregate gets the command's id, so there is nothing to load) with 1
  and with 4 concurrent clients, and with 1 client to aggregate ids chosen by the client
  (load + decide + append: the engine reads before it decides);
- ``like`` over 100 aggregates with 4 clients, on new streams and on streams of 500 events
  (in turns, twice the time), to show whether it slows as the streams grow;
- appending 100 events per transaction, one client (events/s);
- replaying everything stored by position, decoded (events/s);
- the raw driver inserting one row per commit and 100 rows per commit, one client;
- on PostgreSQL, the ``eventsourcing`` library on the same workload (needs the ``bench``
  extra; skipped with a note without it).

The engine runs with in-memory lock, progress and publisher stores (only the event store
varies) and with the garbage-collector settings the runtime applies. The rows that the
targets compare (``send`` and the baselines it is held against) take turns in short
slices, so that a disk or processor that speeds up or slows down meanwhile (the machine is
shared) affects them alike; ``--rounds`` repeats everything and reports medians.

Each PostgreSQL run uses a schema of its own and each MariaDB run a database of its own,
dropped at the end; SQLite writes to a temporary directory. Durable commits stay on.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote, urlsplit

import asyncmy
import asyncpg
from rich.console import Console
from rich.table import Table
from store_baselines import (
    EventsourcingChat,
    InsertRows,
    mariadb_inserter,
    postgres_inserter,
    raw_batches,
    raw_one,
    sqlite_inserter,
)
from store_workloads import (
    LONG_HISTORY,
    Rate,
    Run,
    appends,
    interleaved,
    liked_aggregates,
    likes,
    make_domain,
    replay,
    sends,
)

from wolkenkit import load_application
from wolkenkit.application.application import Application
from wolkenkit.messages import new_id
from wolkenkit.runtime.gc_tuning import tune_garbage_collector
from wolkenkit.scaffolds import create_project
from wolkenkit.stores import factory
from wolkenkit.stores.domain_event_store import DomainEventStore
from wolkenkit.stores.memory.domain_event_store import InMemoryDomainEventStore

BACKENDS = {
    "memory": "in memory",
    "sqlite": "SQLite",
    "postgres": "PostgreSQL",
    "mariadb": "MariaDB",
}
#: Slices in which the compared rows take turns (see ``interleaved``).
TURNS = 6
ROWS = {
    "send 1": "send, 1 client (commands/s)",
    "send 1 given": "  the same, aggregate ids chosen by the client",
    "send 4": "send, 4 clients (commands/s)",
    "like 4": "like over 100 aggregates, 4 clients (commands/s)",
    "like 4 long": f"  the same over {LONG_HISTORY}-event streams (commands/s)",
    "append": "append, 100 events per transaction (events/s)",
    "replay": "replay by position, decoded (events/s)",
    "raw 1": "raw driver: 1 row per commit (rows/s)",
    "raw 100": "raw driver: 100 rows per commit (rows/s)",
    "es send 1": "eventsourcing: send, 1 client (commands/s)",
    "es send 4": "eventsourcing: send, 4 clients (commands/s)",
    "es like 4": "eventsourcing: like over 100 aggregates, 4 clients",
}

#: The issue's targets on PostgreSQL: the least each figure must be, and how it is shown.
TARGETS = {
    "send, 1 client / raw 1-row commits": (0.8, "{:.2f}"),
    "send, 4 clients / eventsourcing's": (2.0, "{:.2f}"),
    "like/s over 100 aggregates, 4 clients": (1_000, "{:,.0f}"),
    "like: long streams / short streams": (0.9, "{:.2f}"),
    "append events/s, 100 per transaction": (25_000, "{:,.0f}"),
    "replay events/s": (100_000, "{:,.0f}"),
}


@dataclass
class Results:
    rates: dict[str, Rate] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass
class Backend:
    store: DomainEventStore
    insert: InsertRows | None = None
    #: PostgreSQL only: connection parameters and schema for ``eventsourcing``.
    postgres: dict[str, str] | None = None
    schema: str = ""


def _server(url: str) -> dict[str, str]:
    parts = urlsplit(url)
    return {
        "host": parts.hostname or "127.0.0.1",
        "port": str(parts.port or (5432 if parts.scheme.startswith("postgres") else 3306)),
        "user": unquote(parts.username or ""),
        "password": unquote(parts.password or ""),
        "database": parts.path.lstrip("/"),
    }


@asynccontextmanager
async def opened(name: str, arguments: argparse.Namespace) -> AsyncIterator[Backend]:
    """The backend's store, set up in a place of its own that is removed afterwards."""
    if name == "memory":
        yield Backend(InMemoryDomainEventStore())
        return
    opener = {"sqlite": _sqlite, "postgres": _postgres, "mariadb": _mariadb}[name]
    async with opener(arguments) as backend:
        await backend.store.setup()
        try:
            yield backend
        finally:
            await backend.store.destroy()


def _scratch() -> str:
    return f"wk_bench_{new_id().replace('-', '')[:16]}"


@asynccontextmanager
async def _sqlite(arguments: argparse.Namespace) -> AsyncIterator[Backend]:
    with tempfile.TemporaryDirectory() as directory:
        store = await factory.create_domain_event_store(f"sqlite:///{directory}/events.db")
        yield Backend(store, sqlite_inserter(f"{directory}/raw.db"))


@asynccontextmanager
async def _postgres(arguments: argparse.Namespace) -> AsyncIterator[Backend]:
    server, schema = _server(arguments.postgres), _scratch()
    connection = await asyncpg.connect(
        host=server["host"], port=int(server["port"]), user=server["user"],
        password=server["password"] or None, database=server["database"],
    )  # fmt: skip
    try:
        await connection.execute(f'CREATE SCHEMA "{schema}"')
        store = await factory.create_domain_event_store(
            {**factory.options_from_url(arguments.postgres), "schema": schema}
        )
        yield Backend(store, await postgres_inserter(connection, schema), server, schema)
    finally:
        await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await connection.close()


@asynccontextmanager
async def _mariadb(arguments: argparse.Namespace) -> AsyncIterator[Backend]:
    server, database = _server(arguments.mariadb), _scratch()
    connection = await asyncmy.connect(
        host=server["host"], port=int(server["port"]), user=server["user"],
        password=server["password"], autocommit=True,
    )  # fmt: skip
    try:
        async with connection.cursor() as cursor:
            await cursor.execute(f"CREATE DATABASE `{database}`")
            await cursor.execute(f"USE `{database}`")
        store = await factory.create_domain_event_store(
            {**factory.options_from_url(arguments.mariadb), "database": database}
        )
        yield Backend(store, await mariadb_inserter(connection))
    finally:
        async with connection.cursor() as cursor:
            await cursor.execute(f"DROP DATABASE IF EXISTS `{database}`")
        await connection.ensure_closed()


async def measure(name: str, application: Application, arguments: argparse.Namespace) -> Results:
    seconds: float = arguments.seconds
    results = Results()
    rates = results.rates
    async with opened(name, arguments) as backend:
        store, insert = backend.store, backend.insert
        domain = make_domain(application, store)
        eventsourcing = None
        if backend.postgres is not None:
            chat = await asyncio.to_thread(EventsourcingChat.open, backend.postgres, backend.schema)
            if isinstance(chat, str):
                results.notes.append(chat)
            else:
                eventsourcing = chat
        try:
            # The rows that the targets compare are measured in alternating slices.
            runs: dict[str, Run] = {
                "send 1": lambda seconds: sends(domain, 1, seconds),
                "send 1 given": lambda seconds: sends(domain, 1, seconds, given_ids=True),
                "send 4": lambda seconds: sends(domain, 4, seconds),
            }
            if insert is not None:
                runs["raw 1"] = lambda seconds: raw_one(insert, seconds)
            if eventsourcing is not None:
                chat = eventsourcing
                runs["es send 1"] = lambda seconds: asyncio.to_thread(chat.sends, 1, seconds)
                runs["es send 4"] = lambda seconds: asyncio.to_thread(chat.sends, 4, seconds)
            rates.update(await interleaved(runs, seconds, TURNS))
            # Short and long streams take turns, so that only the streams' length differs.
            short = await liked_aggregates(domain, store, 1)
            long = await liked_aggregates(domain, store, LONG_HISTORY)
            runs = {
                "like 4": lambda seconds: likes(domain, short, 4, seconds),
                "like 4 long": lambda seconds: likes(domain, long, 4, seconds),
            }
            rates.update(await interleaved(runs, 2 * seconds, TURNS))
            if eventsourcing is not None:
                rates["es like 4"] = await asyncio.to_thread(eventsourcing.likes, 4, seconds)
            # Enough prepared batches for 60,000 events/s; a faster store finishes early.
            rates["append"] = await appends(store, seconds, int(seconds * 600))
            if insert is not None:
                rates["raw 100"] = await raw_batches(insert, seconds)
            rates["replay"] = await replay(store)
        finally:
            if eventsourcing is not None:
                eventsourcing.close()
    return results


def cell(rounds: list[Results], row: str) -> str:
    """The median over the rounds."""
    values = [results.rates[row].per_second for results in rounds if row in results.rates]
    return f"{statistics.median(values):,.0f}" if values else "—"


def figures(results: Results) -> dict[str, float | None]:
    """The figures the issue sets targets for, from one round on PostgreSQL."""
    rates = results.rates

    def per_second(key: str) -> float | None:
        return rates[key].per_second if key in rates else None

    def ratio(top: str, bottom: str) -> float | None:
        over, under = per_second(top), per_second(bottom)
        return None if over is None or under is None else over / under

    return {
        "send, 1 client / raw 1-row commits": ratio("send 1", "raw 1"),
        "send, 4 clients / eventsourcing's": ratio("send 4", "es send 4"),
        "like/s over 100 aggregates, 4 clients": per_second("like 4"),
        "like: long streams / short streams": ratio("like 4 long", "like 4"),
        "append events/s, 100 per transaction": per_second("append"),
        "replay events/s": per_second("replay"),
    }


def summary(rounds: list[Results]) -> Table:
    """The issue's targets on PostgreSQL: the median over the rounds, and their range."""
    table = Table(title=f"Against the targets (PostgreSQL, {len(rounds)} rounds)")
    for column in ("figure", "median", "range", "target", "holds"):
        table.add_column(column)
    per_round = [figures(results) for results in rounds]
    for name, (target, form) in TARGETS.items():
        values = [value for found in per_round if (value := found[name]) is not None]
        if not values:
            table.add_row(name, "—", "—", f"≥ {form.format(target)}", "—")
            continue
        median = statistics.median(values)
        table.add_row(
            name,
            form.format(median),
            f"{form.format(min(values))} to {form.format(max(values))}",
            f"≥ {form.format(target)}",
            "yes" if median >= target else "no",
        )
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--seconds", type=float, default=3.0, help="per measurement")
    parser.add_argument("--rounds", type=int, default=1, help="medians over several runs")
    parser.add_argument("--postgres", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--mariadb", default="mariadb://root@127.0.0.1:3306/mysql")
    arguments = parser.parse_args()
    names = [name for name in arguments.backends.split(",") if name]
    unknown = set(names) - set(BACKENDS)
    if unknown:
        parser.error(f"unknown backends: {', '.join(sorted(unknown))}")

    console = Console()
    # As the runtime does at start-up: with Python's defaults, the collector's full passes
    # over a growing heap would make later commands slower than earlier ones.
    tune_garbage_collector()
    results: dict[str, list[Results]] = {name: [] for name in names}
    with tempfile.TemporaryDirectory() as directory:
        application = load_application(
            create_project("chat", template="chat", directory=Path(directory) / "chat")
        )
        # Backends take turns round by round, so a noisy minute does not hit one alone.
        for round in range(1, arguments.rounds + 1):
            for name in names:
                console.print(f"round {round}: measuring {BACKENDS[name]} …")
                results[name].append(asyncio.run(measure(name, application, arguments)))

    table = Table(
        title=f"Domain event stores, chat sample, {arguments.seconds:g} s per row, "
        f"median of {arguments.rounds} round(s)"
    )
    table.add_column("workload")
    for name in names:
        table.add_column(BACKENDS[name], justify="right")
    for row, label in ROWS.items():
        table.add_row(label, *(cell(results[name], row) for name in names))
    console.print(table)
    for name in names:
        for note in sorted({note for round in results[name] for note in round.notes}):
            console.print(f"{BACKENDS[name]}: {note}")
    if "postgres" in results:
        console.print(summary(results["postgres"]))


if __name__ == "__main__":
    main()
