"""Instructions and time per unit of the workloads of ``commands.py`` and ``stores.py``, for
several source trees of wolkenkit side by side, in one run.

    .venv/bin/python benchmarks/instructions.py --tree before=DIR --tree after=DIR [--tree …]
        [--workloads send/memory,like/memory,send/sqlite,…] [--counts 1000 5000]
        [--rounds 5] [--timed-count 5000] [--jobs 2]

Each ``DIR`` holds a ``src`` folder of wolkenkit (for example
``git archive COMMIT src | tar -x -C DIR``); the first tree is the one the others are held
against; the script prints the ``wolkenkit`` each tree imports, and compiles every tree (and
the app) before counting, so that no run counts compiling. The workloads are written here and
in ``store_workloads`` against the API that trees since the pydantic fence (87f89b5^) share.
Workloads (a unit is a command, or an event for ``append`` and ``replay``):

- ``send/BACKEND``: ``send`` through the engine, each a new aggregate whose id is the
  command's (as ``stores.py`` and ``commands.py`` send it); lock, progress and publisher
  stores in memory, the event store on the backend;
- ``like/BACKEND``: ``like`` through the engine, every command to one hot aggregate whose
  history keeps growing (as ``commands.py``);
- ``append/BACKEND``: the event store alone, 100 events per transaction (as ``stores.py``);
- ``replay/BACKEND``: the event store replaying by position, decoded (as ``stores.py``);

with ``BACKEND`` ``memory`` or ``sqlite`` (a temporary file, durable commits on).

Instructions: each workload runs in a process of its own under ``valgrind --tool=cachegrind``
(valgrind must be installed), once for each of the two ``--counts``; the difference of the two
runs' instructions divided by the difference of the counts is one unit's, start-up cancelled.
Both runs prepare the same messages (for the larger count) and handle only their own count,
so preparing cancels too; ids are drawn from a seeded generator, so every run stores the same
keys (random ones make SQLite's count wander by a tenth). The count is then the same from run
to run to a few in ten thousand, whatever else the machine does; it is not time (a cache miss
costs more than an instruction), so the table shows both.

Time: ``--rounds`` rounds in which every tree runs every workload once (``--timed-count``
units, without valgrind, in a process of its own), the trees' order rotating from round to
round so that a machine that speeds up or slows down affects them alike; the table gives the
median over the rounds of the process's CPU µs per unit of the measured part alone (CPU,
not wall-clock time: on a shared machine the wall clock mostly measures the others; waiting
for the disk is not in it). ``--rounds 0`` skips timing, ``--jobs 0`` counting.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table
from valgrind import instructions_of

BACKENDS = ("memory", "sqlite")
KINDS = ("send", "like", "append", "replay")
WORKLOADS = tuple(f"{kind}/{backend}" for kind in KINDS for backend in BACKENDS)
#: Events per transaction of ``append``, as in ``store_workloads``.
APPEND_BATCH = 100
#: The ratio past which a row is marked: the issue's "within 5 % of before".
TOLERANCE = 1.05

#: Handles the first ``count`` of what was prepared; returns the measured seconds.
Measured = Callable[[int], Awaitable[float]]


@asynccontextmanager
async def event_store(backend: str, directory: Path) -> AsyncIterator[Any]:
    """The backend's domain event store, set up in ``directory``."""
    from wolkenkit.stores import factory

    if backend == "memory":
        from wolkenkit.stores.memory.domain_event_store import InMemoryDomainEventStore

        yield InMemoryDomainEventStore()
        return
    store = await factory.create_domain_event_store(f"sqlite:///{directory}/events.db")
    await store.setup()
    try:
        yield store
    finally:
        await store.destroy()


async def prepared(kind: str, store: Any, application: Any, most: int) -> Measured:
    """Everything ``kind`` needs for ``most`` units, made before anything is measured."""
    from store_workloads import Commands, event_batches, make_domain

    # CPU time of the whole process (SQLite's committing thread included): on a shared
    # machine the wall clock mostly measures what else runs.
    clock = time.process_time
    domain = make_domain(application, store)
    commands = Commands()

    async def handled(items: list[Any]) -> float:
        started = clock()
        for command in items:
            outcome = await domain.handle_command(command)
            if not outcome.stored:
                raise RuntimeError(f"Command was not stored: {outcome.domain_events}")
        return clock() - started

    if kind == "send":
        sends = [commands.send() for _ in range(most)]
        return lambda count: handled(sends[:count])
    if kind == "like":
        hot = commands.send()
        await domain.handle_command(hot)
        likes = [commands.like(hot.aggregate_identifier) for _ in range(most)]
        return lambda count: handled(likes[:count])
    batches = event_batches(-(-most // APPEND_BATCH))
    if kind == "append":

        async def append(count: int) -> float:
            started = clock()
            for batch in batches[: count // APPEND_BATCH]:
                await store.store_domain_events(batch)
            return clock() - started

        return append
    for batch in batches:
        await store.store_domain_events(batch)

    async def replay(count: int) -> float:
        started = clock()
        read = 0
        async for _ in store.get_replay_by_position():
            read += 1
            if read == count:
                break
        return clock() - started

    return replay


async def work(workload: str, count: int, most: int, app_directory: Path) -> float:
    from wolkenkit import load_application
    from wolkenkit.runtime.gc_tuning import tune_garbage_collector

    kind, backend = workload.split("/")
    application = load_application(app_directory)
    # As the runtime does at start-up, and as the benchmarks do.
    tune_garbage_collector()
    with tempfile.TemporaryDirectory() as directory:
        async with event_store(backend, Path(directory)) as store:
            measured = await prepared(kind, store, application, most)
            return await measured(count)


def worker_command(workload: str, count: int, most: int, app_directory: Path) -> list[str]:
    return [
        sys.executable, __file__, "--worker", workload, "--count", str(count),
        "--most", str(most), "--app", str(app_directory),
    ]  # fmt: skip


MAKE_APP = """
import sys
from pathlib import Path
from wolkenkit.scaffolds import create_project
create_project("chat", template="chat", directory=Path(sys.argv[1]))
"""


def environment(tree: Path) -> dict[str, str]:
    variables = {name: value for name, value in os.environ.items() if not name.startswith("OTEL_")}
    # Both runs of a pair hash alike, so their start-ups cost the same.
    variables["PYTHONHASHSEED"] = "0"
    variables["PYTHONPATH"] = str(tree / "src")
    return variables


def instructions(tree: Path, workload: str, count: int, most: int, app: Path) -> int:
    return instructions_of(worker_command(workload, count, most, app), environment(tree))


def microseconds_per_unit(tree: Path, workload: str, count: int, app: Path) -> float:
    printed = subprocess.run(
        worker_command(workload, count, count, app),
        env=environment(tree),
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    return float(printed.split()[-1])


@dataclass
class Row:
    instructions: dict[str, float]
    microseconds: dict[str, float]


def ratio(value: float, first: float) -> str:
    share = value / first
    return f"{share:.3f}" + (" !" if share > TOLERANCE else "")


def report(trees: dict[str, Path], rows: dict[str, Row], title: str) -> Table:
    names = list(trees)
    first = names[0]
    table = Table(title=title)
    table.add_column("workload")
    table.add_column("backend")
    for name in names:
        table.add_column(f"{name} instr.", justify="right")
    for name in names[1:]:
        table.add_column(f"{name}/{first} instr.", justify="right")
    for name in names:
        table.add_column(f"{name} CPU µs", justify="right")
    for name in names[1:]:
        table.add_column(f"{name}/{first} time", justify="right")
    for workload, row in rows.items():
        kind, backend = workload.split("/")
        cells = [f"{row.instructions[name]:,.0f}" for name in names]
        cells += [ratio(row.instructions[name], row.instructions[first]) for name in names[1:]]
        cells += [f"{row.microseconds[name]:.2f}" for name in names]
        cells += [ratio(row.microseconds[name], row.microseconds[first]) for name in names[1:]]
        table.add_row(kind, backend, *cells)
    return table


def parse_tree(text: str) -> tuple[str, Path]:
    name, separator, directory = text.partition("=")
    if not separator or not name:
        raise argparse.ArgumentTypeError(f"expected NAME=DIR, got {text!r}")
    path = Path(directory).resolve()
    if not (path / "src" / "wolkenkit").is_dir():
        raise argparse.ArgumentTypeError(f"{path} has no src/wolkenkit")
    return name, path


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--tree", type=parse_tree, action="append", default=[])
    parser.add_argument("--workloads", default=",".join(WORKLOADS))
    parser.add_argument("--counts", type=int, nargs=2, default=[1_000, 5_000])
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds (0: none)")
    parser.add_argument("--timed-count", type=int, default=5_000, help="units per timed run")
    parser.add_argument("--jobs", type=int, default=2, help="valgrind runs at once (0: none)")
    parser.add_argument("--worker", choices=WORKLOADS, help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--most", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--app", type=Path, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.worker:
        # Ids come from ``os.urandom``; random keys split SQLite's B-tree pages at other
        # places in every run, which moves its instruction count by a tenth or more. Seeded,
        # every run (and every tree) stores the same ids.
        os.urandom = random.Random(0).randbytes
        elapsed = asyncio.run(
            work(arguments.worker, arguments.count, arguments.most, arguments.app)
        )
        print(f"{elapsed / arguments.count * 1e6:.3f}")
        return

    trees: dict[str, Path] = dict(arguments.tree)
    if len(trees) < 2:
        parser.error("give at least two --tree NAME=DIR")
    workloads = [workload for workload in arguments.workloads.split(",") if workload]
    unknown = set(workloads) - set(WORKLOADS)
    if unknown:
        parser.error(f"unknown workloads: {', '.join(sorted(unknown))}")
    fewer, more = sorted(arguments.counts)
    # Wide enough for a row per workload with every tree's columns, also into a file or pipe.
    console = Console(width=max(120, 40 + 36 * len(trees)))
    # Every tree imports its own wolkenkit: say which, so a wrong path cannot pass unseen.
    for name, tree in trees.items():
        found = subprocess.run(
            [sys.executable, "-c", "import wolkenkit; print(wolkenkit.__file__)"],
            env=environment(tree), check=True, capture_output=True, text=True,
        ).stdout.strip()  # fmt: skip
        console.print(f"{name}: {found}")
        if not found.startswith(str(tree)):
            parser.error(f"{name} imports {found}, not its own tree")

        # A module compiled in one run of a pair and loaded from its cache in the other
        # would count its compiling as the workload's.
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(tree / "src")], check=True)
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", str(Path(__file__).parent)], check=True
    )

    rows = {workload: Row({}, {}) for workload in workloads}
    with tempfile.TemporaryDirectory() as directory:
        # Made by the first tree: later trees load the apps of earlier ones, not always
        # the other way round (the chat sample declares events by their classes since 13).
        app = Path(directory) / "chat"
        subprocess.run(
            [sys.executable, "-c", MAKE_APP, str(app)],
            env=environment(next(iter(trees.values()))),
            check=True,
        )
        subprocess.run([sys.executable, "-m", "compileall", "-q", str(app)], check=True)
        # Counts do not depend on what else runs, so valgrind's runs may share the cores.
        with ThreadPoolExecutor(max(1, arguments.jobs)) as pool:
            counting = {
                (workload, name, n): pool.submit(instructions, tree, workload, n, more, app)
                for workload in workloads
                for name, tree in trees.items()
                for n in (fewer, more)
                if arguments.jobs > 0
            }
            for workload in workloads if counting else []:
                for name in trees:
                    counted = [counting[workload, name, n].result() for n in (fewer, more)]
                    per_unit = (counted[1] - counted[0]) / (more - fewer)
                    rows[workload].instructions[name] = per_unit
                    console.print(f"{workload} {name}: {per_unit:,.0f} instructions per unit")
        timed: dict[tuple[str, str], list[float]] = {}
        names = list(trees)
        for round in range(arguments.rounds):
            order = names[round % len(names) :] + names[: round % len(names)]
            for workload in workloads:
                for name in order:
                    taken = microseconds_per_unit(trees[name], workload, arguments.timed_count, app)
                    timed.setdefault((workload, name), []).append(taken)
            console.print(f"timed round {round + 1} of {arguments.rounds}")
    for (workload, name), values in timed.items():
        rows[workload].microseconds[name] = statistics.median(values)
    for row in rows.values():
        for name in trees:
            row.instructions.setdefault(name, float("nan"))
            row.microseconds.setdefault(name, float("nan"))
    console.print(
        report(
            trees,
            rows,
            f"Per unit (a command; an event for append and replay): instructions from "
            f"{fewer:,} and {more:,} units; CPU µs as the median of {arguments.rounds} "
            f"interleaved rounds of {arguments.timed_count:,}; ! past {TOLERANCE:.2f}",
        )
    )


if __name__ == "__main__":
    main()
