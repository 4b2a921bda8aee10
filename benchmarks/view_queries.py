"""Reading a view table: the whole of it page by page, and the first page, in memory and in
SQLite, against the in-memory store of another source tree in the same run.

    .venv/bin/python benchmarks/view_queries.py [--rows N] [--page-size P]
        [--baseline-source DIR]

Fills a table shaped like the chat's messages table (text key, an indexed timestamp) with N
rows, then, newest first as the chat's view reads them, measures the time to read every row
page by page (following the cursors, P rows a page, as ``Rows.find`` does), the first page
alone, a page in the middle (from a cursor), an insert followed by the first page (as a view
under a flow's writes is read), and a ``get`` by key. Each store
runs in a process of its own; ``--baseline-source DIR`` (a tree whose ``src/`` holds the
package, e.g. from ``git archive COMMIT src | tar -x -C DIR``) adds that tree's in-memory
store as the first row.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table

#: Run by each measured process, with the code of the tree on its PYTHONPATH.
MEASURE = """
import asyncio, json, sys, time
from wolkenkit.stores.view_store import Column, Order, Query, TableDefinition

backend, rows, page_size, directory = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
TABLE = TableDefinition(
    "messages", key=Column("id", "text"), indexes=(Column("timestamp", "integer"),)
)
ORDER = (Order("timestamp", descending=True),)


async def store():
    if backend == "memory":
        from wolkenkit.stores.memory.view_store import InMemoryViewStore

        return InMemoryViewStore()
    from wolkenkit.stores.factory import create_view_store

    return await create_view_store({"type": "Sqlite", "fileName": directory + "/views.db"})


async def timed(work, times=1):
    started = time.perf_counter()
    for _ in range(times):
        await work()
    return (time.perf_counter() - started) / times * 1000


async def main():
    views = await store()
    await views.setup([TABLE])
    for number in range(rows):
        await views.insert(
            "messages",
            {"id": f"m{number:08d}", "timestamp": 1_765_000_000_000 + (number * 7919) % rows,
             "text": f"Message {number}", "likes": 0},
        )
    cursors = []

    async def everything():
        cursors.clear()
        after = None
        while True:
            page = await views.find("messages", Query(order=ORDER, limit=page_size, after=after))
            if page.cursor is None:
                return
            cursors.append(page.cursor)
            after = page.cursor

    async def first():
        await views.find("messages", Query(order=ORDER, limit=page_size))

    middle = None

    async def from_middle():
        await views.find("messages", Query(order=ORDER, limit=page_size, after=middle))

    changes = iter(range(rows, rows + 1000))

    async def first_after_a_change():
        number = next(changes)
        await views.insert(
            "messages",
            {"id": f"m{number:08d}", "timestamp": 1_765_000_000_000 + number % rows,
             "text": f"Message {number}", "likes": 0},
        )
        await first()

    async def get():
        await views.get("messages", f"m{rows // 2:08d}")

    figures = {"all pages": await timed(everything)}
    middle = cursors[len(cursors) // 2] if cursors else None
    figures["first page"] = await timed(first, 5)
    figures["a middle page"] = await timed(from_middle, 5)
    figures["an insert, then the first page"] = await timed(first_after_a_change, 5)
    figures["get by key"] = await timed(get, 100)
    print(json.dumps(figures))
    await views.destroy()


asyncio.run(main())
"""


def measure(backend: str, rows: int, page_size: int, source: Path | None) -> dict[str, float]:
    environment = dict(os.environ)
    if source is not None:
        environment["PYTHONPATH"] = str(source / "src")
    with tempfile.TemporaryDirectory() as directory:
        result = subprocess.run(
            [sys.executable, "-c", MEASURE, backend, str(rows), str(page_size), directory],
            env=environment,
            capture_output=True,
            text=True,
            check=True,
        )
    figures: dict[str, float] = json.loads(result.stdout)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=20_000)
    parser.add_argument("--page-size", type=int, default=500)
    parser.add_argument("--baseline-source", type=Path, default=None)
    arguments = parser.parse_args()
    runs: list[tuple[str, str, Path | None]] = [
        ("in memory", "memory", None),
        ("SQLite", "sqlite", None),
    ]
    if arguments.baseline_source is not None:
        runs.insert(0, ("in memory (baseline)", "memory", arguments.baseline_source.resolve()))
    table = Table(
        title=f"A table of {arguments.rows:,} rows, pages of {arguments.page_size}, "
        "newest first: ms"
    )
    table.add_column("store")
    rows = [
        (label, measure(backend, arguments.rows, arguments.page_size, source))
        for label, backend, source in runs
    ]
    for column in rows[0][1]:
        table.add_column(column, justify="right")
    for label, figures in rows:
        table.add_row(label, *(f"{value:,.2f}" for value in figures.values()))
    Console(width=120).print(table)


if __name__ == "__main__":
    main()
