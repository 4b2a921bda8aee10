"""What observability costs in-process `send` with tracing off, counted in instructions: the
instructions one command executes, as valgrind counts them, on wolkenkit before it was
instrumented and now.

    .venv/bin/python benchmarks/tracing_instructions.py --before DIR [--commands 1000 9000]

``DIR`` holds the ``src`` of wolkenkit from before the instrumentation (see
``benchmarks/tracing.py``). On a machine that other work keeps busy, CPU-time rates swing by a
tenth from one run to the next, so ``benchmarks/tracing.py`` needs many rounds to tell a
percent apart; the instructions a run executes are the same in every run to a few in ten
thousand. They are not time (a cache miss or a mispredicted branch costs more than an
instruction), so read them beside the CPU-time rates, not instead of them.

The workloads are those of ``benchmarks/tracing.py`` (``domain`` and ``runtime``), without a
tracer. Each runs under ``valgrind --tool=cachegrind`` (valgrind must be installed) in a
process of its own, once for each of the two ``--commands`` counts, after a warm-up of 200
commands; the difference of the two runs' instructions, divided by the difference of the
counts, is one command's, start-up and warm-up cancelled out. Hash randomization is off, so
that both runs hash alike.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
from pathlib import Path

from rich.console import Console
from rich.table import Table
from tracing import domain_rate, runtime_rate
from valgrind import instructions_of

MODES = ("before", "off")
WORKLOADS = {"domain": domain_rate, "runtime": runtime_rate}
WARM_UP = 200
TARGET = 0.97


def worker(workload: str, count: int, app_directory: Path) -> None:
    """Runs under valgrind: the warm-up, then ``count`` commands."""
    from wolkenkit import load_application
    from wolkenkit.runtime.gc_tuning import tune_garbage_collector

    application = load_application(app_directory)
    tune_garbage_collector()
    run = WORKLOADS[workload]
    for commands in (WARM_UP, count):
        asyncio.run(run(application, commands, None, lambda: None))


def instructions(
    mode: str, workload: str, count: int, app_directory: Path, before: Path | None
) -> int:
    environment = {
        name: value for name, value in os.environ.items() if not name.startswith("OTEL_")
    }
    environment["PYTHONHASHSEED"] = "0"
    if mode == "before":
        assert before is not None
        environment["PYTHONPATH"] = str(before / "src")
    command = [sys.executable, __file__, "--worker", workload, "--count", str(count)]
    return instructions_of([*command, "--app", str(app_directory)], environment)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--commands", type=int, nargs=2, default=[1_000, 9_000])
    parser.add_argument("--before", type=Path)
    parser.add_argument("--worker", choices=WORKLOADS, help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--app", type=Path, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.worker:
        worker(arguments.worker, arguments.count, arguments.app)
        return

    if arguments.before is None:
        parser.error("--before DIR is required")
    from wolkenkit.scaffolds import create_project

    fewer, more = sorted(arguments.commands)
    per_command: dict[tuple[str, str], float] = {}
    with tempfile.TemporaryDirectory() as directory:
        app = create_project("chat", template="chat", directory=Path(directory) / "chat")
        for workload in WORKLOADS:
            for mode in MODES:
                counted = [
                    instructions(mode, workload, count, app, arguments.before)
                    for count in (fewer, more)
                ]
                per_command[mode, workload] = (counted[1] - counted[0]) / (more - fewer)

    table = Table(
        title=f"In-process send, chat sample, instructions per command ({fewer:,} and "
        f"{more:,} commands), tracing off"
    )
    for column in ("configuration", "workload", "instructions per command", "share of before"):
        table.add_column(
            column, justify="left" if column in ("configuration", "workload") else "right"
        )
    names = {"before": "before instrumentation", "off": "tracing off"}
    for mode in MODES:
        for workload in WORKLOADS:
            count = per_command[mode, workload]
            # As a rate's share: fewer instructions, a larger share.
            share = per_command["before", workload] / count
            target = f" (target ≥ {TARGET})" if mode == "off" else ""
            table.add_row(names[mode], workload, f"{count:,.0f}", f"{share:.3f}{target}")
    Console().print(table)


if __name__ == "__main__":
    main()
