"""Where the chat sample's disk writes go under ``wk dev``: the pages its commits put into
SQLite's write-ahead log, by table and index.

    .venv/bin/python benchmarks/wal_frames.py [--commands N] [--connections C]
        [--baseline-source DIR]

Runs the runtime as ``benchmarks/disk_writes.py`` does (``wk dev``'s stores, one SQLite file),
warms up, and then holds a read transaction on the file from a connection of its own while N
``send`` commands go through. A reader keeps SQLite from starting the log over, so every page
that the commands commit stays in it, one frame each (a page and a 24-byte header), and each
commit ends with a frame that says so. Read afterwards, the frames tell:

- commits and frames per command, and frames per commit;
- frames per table or index (by ``dbstat``, at the end: a page freed and used again is
  counted under its last owner; pages on the free list as ``(free list)``);
- distinct pages: what a checkpoint would copy into the database file if it ran only at the
  end (every page once, however often it was committed).

It measures what is written, not how fast: the checkpoints that the reader holds back would
otherwise copy pages into the database file (``disk_writes.py`` counts those bytes too). With
``--baseline-source DIR`` (see ``disk_writes.py``) the same is measured with that code first,
side by side.
"""

from __future__ import annotations

import argparse
import asyncio
import sqlite3
import struct
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx
from disk_writes import WARM_UP_COMMANDS, prepare, runtime_serving, send, wait_listed
from rich.console import Console
from rich.table import Table

WAL_HEADER = 32
FRAME_HEADER = 24


@dataclass(frozen=True)
class Frame:
    page: int
    #: Whether the frame ends a commit.
    commits: bool


def frames(wal: Path) -> list[Frame]:
    """The log's valid frames, in order: those with the salt of its header (frames of an
    earlier round of the log, which a restart left behind, carry another)."""
    data = wal.read_bytes()
    if len(data) < WAL_HEADER:
        return []
    page_size = struct.unpack(">I", data[8:12])[0]
    salts = data[16:24]
    found: list[Frame] = []
    offset = WAL_HEADER
    while offset + FRAME_HEADER + page_size <= len(data):
        page, size_after_commit = struct.unpack(">II", data[offset : offset + 8])
        if data[offset + 8 : offset + 16] != salts:
            break
        found.append(Frame(page, size_after_commit != 0))
        offset += FRAME_HEADER + page_size
    return found


def owners(database: Path) -> dict[int, str]:
    """Each page's table or index (its name), and the free list's pages."""
    with sqlite3.connect(database) as connection:
        owned = {page: name for name, page in connection.execute("SELECT name, pageno FROM dbstat")}
        trunk = connection.execute("PRAGMA freelist_count").fetchone()[0]
        if trunk:
            # The free list is not in dbstat: whatever is left over belongs to it.
            (count,) = connection.execute("PRAGMA page_count").fetchone()
            for page in range(1, count + 1):
                owned.setdefault(page, "(free list)")
    return owned


async def drive(port: int, database: Path, commands: int, connections: int) -> list[Frame]:
    limits = httpx.Limits(max_connections=connections + 2)
    async with httpx.AsyncClient(
        base_url=f"http://127.0.0.1:{port}", timeout=60, limits=limits
    ) as client:
        await send(port, WARM_UP_COMMANDS, connections)
        await wait_listed(client, WARM_UP_COMMANDS)
        await asyncio.sleep(1)
        with sqlite3.connect(database, isolation_level=None) as reader:
            reader.execute("BEGIN")
            reader.execute("SELECT count(*) FROM sqlite_master").fetchall()
            wal = Path(f"{database}-wal")
            before = len(frames(wal))
            await send(port, commands, connections)
            await wait_listed(client, WARM_UP_COMMANDS + commands)
            # Acknowledging the last flow items and progress follow the view's update.
            await asyncio.sleep(1)
            found = frames(wal)[before:]
            reader.execute("COMMIT")
        return found


@dataclass(frozen=True)
class Analysis:
    """What one run's frames say, per command."""

    commands: int
    found: list[Frame]
    owned: dict[int, str]
    page_size: int

    def owner(self, page: int) -> str:
        return self.owned.get(page, "(beyond the file)")

    def by_owner(self) -> Counter[str]:
        return Counter(self.owner(frame.page) for frame in self.found)

    def touching(self) -> Counter[str]:
        """How many commits wrote a page of each table or index."""
        touching: Counter[str] = Counter()
        in_commit: set[str] = set()
        for frame in self.found:
            in_commit.add(self.owner(frame.page))
            if frame.commits:
                touching.update(in_commit)
                in_commit = set()
        return touching


def analyse(directory: Path, source: Path | None, commands: int, connections: int) -> Analysis:
    app, environment = prepare(directory, in_memory=False, source=source)
    database = app / ".wolkenkit" / "wolkenkit.db"
    with runtime_serving(app, environment) as (_, port):
        found = asyncio.run(drive(port, database, commands, connections))
    with sqlite3.connect(database) as connection:
        [(page_size,)] = connection.execute("PRAGMA page_size").fetchall()
    return Analysis(commands, found, owners(database), page_size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=1_000)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--baseline-source", type=Path, default=None)
    arguments = parser.parse_args()
    commands = arguments.commands
    sources: list[tuple[str, Path | None]] = [("this checkout", None)]
    if arguments.baseline_source is not None:
        sources.insert(0, ("baseline", arguments.baseline_source.resolve()))
    analyses: dict[str, Analysis] = {}
    with tempfile.TemporaryDirectory() as directory:
        for name, source in sources:
            place = Path(directory) / f"{len(analyses)}"
            analyses[name] = analyse(place, source, commands, arguments.connections)
    summary = Table(title=f"WAL frames of {commands:,} 'send' commands, per command")
    columns = (
        "code",
        "page size",
        "commits",
        "frames",
        "bytes",
        "frames per commit",
        "distinct pages",
    )
    for column in columns:
        summary.add_column(column, justify="left" if column == "code" else "right")
    for name, analysis in analyses.items():
        found = analysis.found
        commits = sum(frame.commits for frame in found)
        summary.add_row(
            name,
            f"{analysis.page_size:,}",
            f"{commits / commands:.2f}",
            f"{len(found) / commands:.2f}",
            f"{len(found) * (analysis.page_size + FRAME_HEADER) / commands:,.0f}",
            f"{len(found) / max(commits, 1):.2f}",
            f"{len({frame.page for frame in found}) / commands:.3f}",
        )
    owners_table = Table(
        title="Frames per command by table or index (commits writing to it, per command)"
    )
    owners_table.add_column("table or index")
    for name in analyses:
        owners_table.add_column(name, justify="right")
    counted = {name: analysis.by_owner() for name, analysis in analyses.items()}
    touching = {name: analysis.touching() for name, analysis in analyses.items()}
    total: Counter[str] = sum(counted.values(), Counter())
    for owner, _ in total.most_common():
        owners_table.add_row(
            owner,
            *(
                f"{counted[name][owner] / commands:.2f} ({touching[name][owner] / commands:.2f})"
                for name in analyses
            ),
        )
    console = Console(width=160)
    console.print(summary)
    console.print(owners_table)


if __name__ == "__main__":
    main()
