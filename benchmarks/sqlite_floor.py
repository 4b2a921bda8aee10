"""What SQLite alone costs per command of the chat sample under ``wk dev``, beside what the
whole runtime costs per command with ``--in-memory``: the floor under the SQLite runtime's
processed share.

    .venv/bin/python benchmarks/sqlite_floor.py [--commands N] [--runtime-commands M]

The runtime writes, for each ``send``: the command into its journal and out again (the
deletion batched), the event, and in the flow's run the progress read, a savepoint around the
handler, the view row and the progress upsert. This script runs those statements, with the
stores' SQL and rows of the same shape, on the schema the runtime itself made (it serves the
app once, briefly, as ``disk_writes.py`` does), in a tight loop without asyncio or any of the
stores' Python: the commands' writes in one transaction per group of G commands, the flow's
in another, as the group commit groups them under load. N commands, as many as the
runtime's run unless told (the cost grows with the tables: at 2,000 the statements take about
half as long). It prints CPU µs per command for several G, the statements apart from the
COMMIT (the runtime runs COMMITs of up to 64 writes on the event loop, so both take the
loop's time, and larger ones in a thread of their own); the COMMIT column includes SQLite's
automatic checkpoints, which the runtime runs in that thread, mostly beside the writes.

In the same run it measures the runtime itself (``disk_writes.py``'s way, M commands on 16
connections): CPU per command with ``--in-memory`` and with ``wk dev``'s SQLite. A processed
share of 0.8 allows the SQLite runtime's event loop a quarter of the in-memory runtime's CPU
per command more; the table gives that budget beside the floor.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sqlite3
import tempfile
import time
import uuid
from pathlib import Path

from disk_writes import prepare, run
from rich.console import Console
from rich.table import Table

GROUPS = (8, 16, 64)


def item_json() -> str:
    """A queued command about the size of the runtime's (token, user and claims included)."""
    return json.dumps(
        {
            "aggregateIdentifier": {
                "context": {"name": "communication"},
                "aggregate": {"name": "message", "id": str(uuid.uuid4())},
            },
            "name": "send",
            "data": {"text": "Message 1234"},
            "id": str(uuid.uuid4()),
            "metadata": {
                "causationId": str(uuid.uuid4()),
                "correlationId": str(uuid.uuid4()),
                "timestamp": 1_765_000_000_000,
                "client": {"token": "t" * 200, "user": {"id": "anonymous-1"}, "ip": "127.0.0.1"},
                "initiator": {"user": {"id": "anonymous-1", "claims": {"sub": "anonymous-1"}}},
            },
        }
    )


def floor(database: Path, commands: int, group: int) -> tuple[float, float]:
    """CPU µs per command: the statements, and the COMMITs."""
    connection = sqlite3.connect(database, isolation_level=None)
    connection.execute("PRAGMA journal_mode=WAL")
    connection.execute("PRAGMA synchronous=NORMAL")
    item = item_json()
    ids = [str(uuid.uuid4()) for _ in range(commands)]
    others = [(str(uuid.uuid4()), str(uuid.uuid4())) for _ in range(commands)]
    done: list[tuple[int]] = []
    committing = 0.0
    started = time.process_time()
    for first in range(0, commands, group):
        batch = range(first, min(first + group, commands))
        connection.execute("BEGIN IMMEDIATE")
        for index in batch:
            position = connection.execute(
                'INSERT INTO "items-command-journal" ("discriminator", "priority", "item") '
                "VALUES (?, ?, ?)",
                (ids[index], 0, item),
            ).lastrowid
            assert position is not None
            done.append((position,))
            connection.executemany(
                'INSERT INTO "domain-events" ("aggregateId", "revision", "causationId", '
                '"correlationId", "timestamp", "domainEvent", "version") '
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(ids[index], 1, *others[index], 1_765_000_000_000, item, 1)],
            )
        connection.executemany('DELETE FROM "items-command-journal" WHERE "position" = ?', done)
        done = []
        before = time.process_time()
        connection.execute("COMMIT")
        committing += time.process_time() - before
        connection.execute("BEGIN IMMEDIATE")
        for index in batch:
            connection.execute(
                'SELECT "revision", "isReplayingFrom", "isReplayingTo" FROM "progress-flow" '
                'WHERE "consumerId" = ? AND "aggregateId" = ?',
                ("messages", ids[index]),
            ).fetchall()
            connection.execute("SAVEPOINT unit1")
            row = {"id": ids[index], "timestamp": 1_765_000_000_000, "text": "Hi", "likes": 0}
            connection.execute(
                'INSERT INTO "view_messages" ("id", "timestamp", "_row") VALUES (?, ?, ?)',
                (ids[index], 1_765_000_000_000, json.dumps(row)),
            )
            connection.execute(
                'INSERT INTO "progress-flow" ("consumerId", "aggregateId", "revision") '
                'VALUES (?, ?, ?) ON CONFLICT ("consumerId", "aggregateId") DO UPDATE SET '
                '"revision" = excluded."revision" WHERE "revision" < excluded."revision"',
                ("messages", ids[index], 1),
            )
            connection.execute("RELEASE unit1")
        before = time.process_time()
        connection.execute("COMMIT")
        committing += time.process_time() - before
    total = time.process_time() - started
    connection.close()
    return (total - committing) / commands * 1e6, committing / commands * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runtime-commands", type=int, default=10_000)
    parser.add_argument("--commands", type=int, default=None)
    arguments = parser.parse_args()
    commands = arguments.commands or arguments.runtime_commands
    with tempfile.TemporaryDirectory() as directory:
        runtime_cpu: dict[str, float] = {}
        for name, in_memory in (("--in-memory", True), ("wk dev (SQLite)", False)):
            app, environment = prepare(Path(directory) / name.strip("-"), in_memory, None)
            outcome = run(app, environment, arguments.runtime_commands, 16)
            runtime_cpu[name] = outcome.cpu_seconds / arguments.runtime_commands * 1e6
            schema = app / ".wolkenkit" / "wolkenkit.db"
        budget = runtime_cpu["--in-memory"] * (1 / 0.8 - 1)
        table = Table(title="CPU µs per 'send' command")
        for column in ("what", "statements", "COMMIT", "all"):
            table.add_column(column, justify="left" if column == "what" else "right")
        for name, cpu in runtime_cpu.items():
            table.add_row(f"the runtime, {name}", "", "", f"{cpu:,.0f}")
        table.add_row(
            "the SQLite runtime's allowance over --in-memory at a share of 0.8",
            "",
            "",
            f"{budget:,.0f}",
        )
        for group in GROUPS:
            copy = Path(directory) / f"floor-{group}.db"
            shutil.copy(schema, copy)
            statements, committing = floor(copy, commands, group)
            table.add_row(
                f"SQLite alone, {group} commands per transaction",
                f"{statements:,.0f}",
                f"{committing:,.0f}",
                f"{statements + committing:,.0f}",
            )
    Console(width=120).print(table)


if __name__ == "__main__":
    main()
