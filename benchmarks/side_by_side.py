"""Two source trees of wolkenkit, each serving the chat sample at the same time, each on a
core of its own with its own client: which processes ``send`` commands faster.

    .venv/bin/python benchmarks/side_by_side.py --tree before=DIR --tree after=DIR
        [--stores sqlite|memory] [--commands N] [--connections C] [--rounds R]

Each ``DIR`` holds a ``src`` folder of wolkenkit (``git archive COMMIT src | tar -x -C DIR``);
``--tree NAME=.`` is this checkout. The stores are ``wk dev``'s (SQLite, the default) or
``--in-memory``'s for both trees.

Why: on a machine shared with other work, the rate of one runtime swings by a third between
runs a minute apart (see ``disk_writes.py``), so a change of 5 % does not show between runs
made one after the other. Run at the same time, both trees meet the same slow and fast
phases. Each round starts both runtimes (each made, configured and served by its own tree,
as ``disk_writes.py`` does), warms them up, then lets both clients send ``--commands``
commands at once; the rate is commands over the time until the flow's notification of the
last one came. The trees swap cores from round to round. The table gives each tree's median
processed/s and CPU per command, and the median of the second tree's rate over the first's,
taken within each round.

What it does not show: each runtime and its client share one core here, and SQLite's
committing thread (checkpoints, the largest commits) shares it too, so the rates are not
those of ``disk_writes.py`` (whose runtime and client have the machine's two cores); the
comparison of two trees is what it is for.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from disk_writes import (
    WARM_UP_COMMANDS,
    cpu_seconds,
    flow_notifications,
    prepare,
    runtime_serving,
    send,
    wait_listed,
)
from rich.console import Console
from rich.table import Table

#: Run in a process of its own for each tree: ``side_by_side.py --one STORES CORE N C``.
ONE = "--one"


async def _measure(pid: int, port: int, commands: int, connections: int) -> dict[str, float]:
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:
        await send(port, WARM_UP_COMMANDS, connections)
        await wait_listed(client, WARM_UP_COMMANDS)
        ready = asyncio.Event()
        processed = asyncio.create_task(flow_notifications(client, commands, ready))
        await ready.wait()
        # Say so, and wait for the word to go (once the other tree is ready too).
        print("ready", flush=True)
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)
        cpu_before = cpu_seconds(pid)
        started = time.perf_counter()
        await send(port, commands, connections)
        await asyncio.wait_for(processed, 300)
        elapsed = time.perf_counter() - started
        return {
            "processed/s": commands / elapsed,
            "CPU ms per command": (cpu_seconds(pid) - cpu_before) / commands * 1000,
        }


def one(stores: str, core: int, commands: int, connections: int) -> None:
    """Serve the app with the tree on ``PYTHONPATH`` (or this checkout), pinned to ``core``
    with this client, and print its outcome as JSON."""
    os.sched_setaffinity(0, {core})
    source = os.environ.get("SIDE_BY_SIDE_SOURCE")
    with tempfile.TemporaryDirectory() as directory:
        app, environment = prepare(
            Path(directory) / "app", stores == "memory", Path(source) if source else None
        )
        with runtime_serving(app, environment) as (pid, port):
            outcome = asyncio.run(_measure(pid, port, commands, connections))
    print(json.dumps(outcome))


def round_of(
    trees: list[tuple[str, Path]], stores: str, first_core: int, commands: int, connections: int
) -> dict[str, dict[str, float]]:
    """Both trees at once; the first on ``first_core``, the second on the other."""
    children = {}
    for index, (name, source) in enumerate(trees):
        environment = {**os.environ, "SIDE_BY_SIDE_SOURCE": str(source)}
        core = (first_core + index) % 2
        arguments = (ONE, stores, str(core), str(commands), str(connections))
        children[name] = subprocess.Popen(
            [sys.executable, __file__, *arguments],
            env=environment,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
    for child in children.values():
        assert child.stdout is not None
        if child.stdout.readline().strip() != "ready":
            raise RuntimeError("a runtime did not get ready")
    for child in children.values():
        assert child.stdin is not None
        child.stdin.write("go\n")
        child.stdin.flush()
    return {
        name: json.loads(child.communicate()[0].strip().splitlines()[-1])
        for name, child in children.items()
    }


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == ONE:
        _, _, stores, core, commands, connections = sys.argv
        one(stores, int(core), int(commands), int(connections))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tree", action="append", required=True, help="NAME=DIR, twice")
    parser.add_argument("--stores", choices=("sqlite", "memory"), default="sqlite")
    parser.add_argument("--commands", type=int, default=10_000)
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=6)
    arguments = parser.parse_args()
    if len(arguments.tree) != 2 or os.cpu_count() is None or (os.cpu_count() or 0) < 2:
        parser.error("two --tree NAME=DIR, and a machine of two cores or more")
    trees = []
    for tree in arguments.tree:
        name, _, directory = tree.partition("=")
        trees.append((name, Path(directory).resolve()))
    rounds: list[dict[str, dict[str, float]]] = []
    for number in range(arguments.rounds):
        outcome = round_of(
            trees, arguments.stores, number % 2, arguments.commands, arguments.connections
        )
        rounds.append(outcome)
        print(
            f"round {number + 1}: "
            + ", ".join(f"{name} {outcome[name]['processed/s']:,.0f}/s" for name, _ in trees),
            flush=True,
        )
    first = trees[0][0]
    table = Table(
        title=f"'send' under {arguments.stores} stores, {arguments.commands:,} commands on "
        f"{arguments.connections} connections, side by side, medians of {len(rounds)} rounds"
    )
    for column in ("tree", "processed/s", "CPU ms per command", f"processed/s over {first}'s"):
        table.add_column(column, justify="left" if column == "tree" else "right")
    for name, _ in trees:
        ratios = [
            one_round[name]["processed/s"] / one_round[first]["processed/s"] for one_round in rounds
        ]
        table.add_row(
            name,
            f"{statistics.median(r[name]['processed/s'] for r in rounds):,.0f}",
            f"{statistics.median(r[name]['CPU ms per command'] for r in rounds):.3f}",
            f"{statistics.median(ratios):.3f} ({min(ratios):.2f}-{max(ratios):.2f})",
        )
    Console(width=120).print(table)
    print(json.dumps({"rounds": rounds}))


if __name__ == "__main__":
    main()
