"""What observability costs in-process `send`: tracing off, tracing on (sampling every trace),
and, as the baseline, the same workloads on wolkenkit before it was instrumented.

    .venv/bin/python benchmarks/tracing.py [--commands 5000] [--rounds 3] [--before DIR]

``DIR`` is a checkout of wolkenkit from before the instrumentation, for example
``git worktree add /tmp/wk-before 417737e``; without it the baseline row is left out.
Each configuration runs in a process of its own (``before`` imports ``DIR/src``), the three
taking turns for ``--rounds`` rounds; the table shows each one's median round. Rates are
commands per second of the process's CPU time (its threads', the span exporter's included):
on a machine that other work keeps busy, wall-clock rates swing by half from one run to the
next, CPU time much less. Wall-clock rates are shown beside them. Workloads, the
chat sample on in-memory stores, after the runtime's garbage-collector tuning:

- ``domain``: ``Domain.handle_command`` for ``send`` on new aggregates, as
  ``benchmarks/commands.py`` measures it: with tracing, its decide and store spans.
- ``runtime``: the single-process runtime's ``submit_command`` for every ``send``, until the
  view has passed the news of each on (the command queue, the aggregate, the flow's queue and
  the flow, both notifications): with tracing, seven spans per command, and the metrics.

Tracing on exports OTLP over HTTP to a receiver in another process that reads and drops each
request; the batch queue is large enough that no span is dropped, and the spans still queued
when the commands are done are exported inside the measured time.
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
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table

MODES = ("before", "off", "on")
TARGETS = {"off": 0.97, "on": 0.8}

RECEIVER = """
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *arguments):
        pass

server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
"""


#: A workload's measure: commands per CPU second, and per wall-clock second.
Rates = tuple[float, float]


def worker(mode: str, count: int, app_directory: Path) -> dict[str, Rates]:
    """Runs in the configuration's own process: the rates of both workloads."""
    from wolkenkit import load_application
    from wolkenkit.runtime.gc_tuning import tune_garbage_collector

    tracer: Any = None
    provider: Any = None
    if mode == "on":
        from wolkenkit.observability.tracing import tracer_provider_from_environment

        provider = tracer_provider_from_environment(os.environ, "benchmark")
        assert provider is not None, "tracing is not configured"
        tracer = provider.get_tracer("wolkenkit")

    def flush() -> None:
        if provider is not None:
            provider.force_flush()

    application = load_application(app_directory)
    tune_garbage_collector()
    return {
        "domain": asyncio.run(domain_rate(application, count, tracer, flush)),
        "runtime": asyncio.run(runtime_rate(application, count, tracer, flush)),
    }


class Clock:
    """CPU time and wall-clock time from its start."""

    def __init__(self) -> None:
        self._cpu, self._wall = time.process_time(), time.perf_counter()

    def rates(self, count: int) -> Rates:
        cpu, wall = time.process_time() - self._cpu, time.perf_counter() - self._wall
        return count / cpu, count / wall


async def domain_rate(
    application: Any, count: int, tracer: Any, flush: Callable[[], None]
) -> Rates:
    from wolkenkit.domain.domain import Domain
    from wolkenkit.stores.memory.consumer_progress_store import InMemoryConsumerProgressStore
    from wolkenkit.stores.memory.domain_event_store import InMemoryDomainEventStore
    from wolkenkit.stores.memory.lock_store import InMemoryLockStore
    from wolkenkit.testing import build_command
    from wolkenkit.testing.sandbox import RecordingPublisher

    extra: dict[str, Any] = {} if tracer is None else {"tracer": tracer}
    try:
        from wolkenkit.testing.sandbox import in_memory_tables
    except ImportError:  # a checkout from before the domain took its tables from outside
        pass
    else:
        extra["tables"] = in_memory_tables(application)
    domain = Domain(
        application,
        domain_event_store=InMemoryDomainEventStore(),
        lock_store=InMemoryLockStore(),
        consumer_progress_store=InMemoryConsumerProgressStore(),
        publisher=RecordingPublisher(),
        **extra,
    )
    commands = [build_command(_new_message(), "send", {"text": "Hello"}) for _ in range(count)]
    clock = Clock()
    for command in commands:
        await domain.handle_command(command)
    flush()
    return clock.rates(count)


async def runtime_rate(
    application: Any, count: int, tracer: Any, flush: Callable[[], None]
) -> Rates:
    from wolkenkit.runtime.composition import Runtime
    from wolkenkit.runtime.settings import RuntimeSettings
    from wolkenkit.testing import build_command

    settings = RuntimeSettings.model_validate({"CONCURRENT_COMMANDS": 16})
    extra = {} if tracer is None else {"tracer": tracer}
    runtime = await Runtime.create(settings, application, **extra)
    done = asyncio.Event()
    news = 0
    publish = runtime.notifications.publish

    def counting(notification: Any) -> None:
        nonlocal news
        if notification.name == "viewMessagesUpdated":
            news += 1
            if news == count:
                done.set()
        publish(notification)

    runtime.notifications.publish = counting  # type: ignore[method-assign,assignment]
    commands = [build_command(_new_message(), "send", {"text": "Hello"}) for _ in range(count)]
    await runtime.start()
    try:
        clock = Clock()
        for command in commands:
            await runtime.submit_command(command)
        await asyncio.wait_for(done.wait(), 600)
        flush()
        return clock.rates(count)
    finally:
        await runtime.stop()


def _new_message() -> Any:
    from wolkenkit.messages import AggregateIdentifier, new_id

    return AggregateIdentifier.of("communication", "message", new_id())


def run_mode(
    mode: str, count: int, app_directory: Path, before: Path | None, endpoint: str
) -> dict[str, Rates]:
    environment = {**os.environ}
    for name in [name for name in environment if name.startswith("OTEL_")]:
        del environment[name]
    if mode == "before":
        assert before is not None
        environment["PYTHONPATH"] = os.pathsep.join(
            [str(before / "src"), str(Path(__file__).parent)]
        )
    if mode == "on":
        environment.update(
            OTEL_EXPORTER_OTLP_ENDPOINT=endpoint,
            OTEL_TRACES_SAMPLER="always_on",
            OTEL_BSP_MAX_QUEUE_SIZE="10000000",
        )
    output = subprocess.run(
        [
            sys.executable,
            __file__,
            "--worker",
            mode,
            "--commands",
            str(count),
            "--app",
            str(app_directory),
        ],
        env=environment,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    rates = json.loads(output.strip().splitlines()[-1])
    return {workload: (cpu, wall) for workload, (cpu, wall) in rates.items()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--commands", type=int, default=5_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--before", type=Path, default=None)
    parser.add_argument("--worker", choices=MODES, help=argparse.SUPPRESS)
    parser.add_argument("--app", type=Path, help=argparse.SUPPRESS)
    arguments = parser.parse_args()
    if arguments.worker:
        print(json.dumps(worker(arguments.worker, arguments.commands, arguments.app)))
        return

    from wolkenkit.scaffolds import create_project

    modes = [mode for mode in MODES if mode != "before" or arguments.before is not None]
    rounds: dict[str, dict[str, list[Rates]]] = {mode: {} for mode in modes}
    receiver = subprocess.Popen([sys.executable, "-c", RECEIVER], stdout=subprocess.PIPE, text=True)
    try:
        assert receiver.stdout is not None
        endpoint = f"http://127.0.0.1:{receiver.stdout.readline().strip()}"
        with tempfile.TemporaryDirectory() as directory:
            app = create_project("chat", template="chat", directory=Path(directory) / "chat")
            for _ in range(arguments.rounds):
                for mode in modes:
                    rates = run_mode(mode, arguments.commands, app, arguments.before, endpoint)
                    for workload, rate in rates.items():
                        rounds[mode].setdefault(workload, []).append(rate)
    finally:
        receiver.terminate()
        receiver.wait()

    # The median round by CPU rate: one lucky quiet moment does not make the row.
    best = {
        mode: {workload: statistics.median_low(rates) for workload, rates in workloads.items()}
        for mode, workloads in rounds.items()
    }
    baseline = "before" if "before" in best else "off"
    table = Table(
        title=f"In-process send, chat sample, {arguments.commands:,} commands, "
        f"median of {arguments.rounds} rounds"
    )
    columns = (
        "configuration",
        "workload",
        "commands per CPU s",
        f"share of {baseline}",
        "target",
        "commands/s (wall)",
    )
    for column in columns:
        table.add_column(
            column, justify="left" if column in ("configuration", "workload") else "right"
        )
    names = {
        "before": "before instrumentation",
        "off": "tracing off",
        "on": "tracing on, all sampled",
    }
    for mode in modes:
        for workload in ("domain", "runtime"):
            cpu_rate, wall_rate = best[mode][workload]
            share = cpu_rate / best[baseline][workload][0]
            target = TARGETS.get(mode) if baseline == "before" or mode == "on" else None
            if mode == "on" and baseline == "before":
                # The measure: tracing on against tracing off.
                share_off = cpu_rate / best["off"][workload][0]
                target_text = f"≥ {TARGETS['on']} of off: {share_off:.2f}"
            else:
                target_text = f"≥ {target}" if target is not None else ""
            table.add_row(
                names[mode],
                workload,
                f"{cpu_rate:,.0f}",
                f"{share:.2f}",
                target_text,
                f"{wall_rate:,.0f}",
            )
    Console().print(table)


if __name__ == "__main__":
    main()
