"""``wk dev``: run an application locally and restart it whenever its code changes.

The runtime runs in a child process, so each restart starts from a clean interpreter. Each
child is started ahead of time (``wolkenkit.runtime.standby``): it imports the framework while
the previous one serves (the first one while ``wk`` parses its command line) and is told what
to run when its turn comes. A child that cannot start (a load error, a port in use) is
reported in one line and the watcher waits for the next change instead of giving up; a child
that ends on its own (it crashed, or was killed) is reported and restarted, unless it keeps
ending soon after it started: then the watcher waits for the next change. Its ports are
checked before each start: a port in use at the start is an error, as another app may be
answering there.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import json
import os
import signal
import socket
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from watchfiles import Change, DefaultFilter, awatch

from wolkenkit import errors
from wolkenkit.runtime.settings import RuntimeSettings
from wolkenkit.runtime.standby import Standby, take_early
from wolkenkit.stores import factory
from wolkenkit.stores.sqlite.moving import move_tables

READY_TIMEOUT_SECONDS = 30.0
#: Where ``wk dev`` keeps an app's data, inside the app's directory.
DATA_DIRECTORY = ".wolkenkit"
STOP_TIMEOUT_SECONDS = 10.0
#: A child that ends this soon after it was ready crashed "quickly"; after this many quick
#: crashes in a row, ``wk dev`` stops restarting it until the next change (a crash loop would
#: only burn CPU and scroll the first report away).
QUICK_CRASH_SECONDS = 10.0
QUICK_CRASHES_TOLERATED = 3


@dataclass(frozen=True)
class DevelopmentOptions:
    application_directory: Path
    port: int = 3000
    health_port: int = 3001
    #: Loopback unless asked: a development server is for this machine only.
    host: str = "127.0.0.1"
    identity_provider_issuer: str | None = None
    identity_provider_certificate: Path | None = None
    in_memory: bool = False
    environment: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))


#: The SQLite file of ``wk dev``'s stores, in the data directory.
DATABASE_FILE = "wolkenkit.db"
#: Where earlier versions kept the view tables, apart from the flows' progress.
EARLIER_VIEWS_FILE = "views.db"


def embedded_store_environment(data_directory: Path) -> dict[str, str]:
    """Store options that keep everything under ``data_directory``: one SQLite file for the
    events, locks, progress, both queues and the view tables, and a directory for files.
    With the tables beside the flows' progress, a flow's table writes commit with its
    progress (exactly once), and a command's writes take fewer commits."""
    data_directory.mkdir(parents=True, exist_ok=True)
    database = str(data_directory / DATABASE_FILE)

    def sqlite(**extra: object) -> str:
        return json.dumps({"type": "Sqlite", "fileName": database, **extra})

    def queue(kind: str) -> str:
        return sqlite(
            expirationTime=30_000,
            tableNames={"items": f"items-{kind}", "priorityQueue": f"priority-queue-{kind}"},
        )

    return {
        "DOMAIN_EVENT_STORE_OPTIONS": sqlite(),
        "LOCK_STORE_OPTIONS": sqlite(),
        "CONSUMER_PROGRESS_STORE_OPTIONS": sqlite(tableNames={"progress": "progress-flow"}),
        "PRIORITY_QUEUE_STORE_FOR_COMMANDS_OPTIONS": queue("command"),
        "PRIORITY_QUEUE_STORE_FOR_DOMAIN_EVENTS_OPTIONS": queue("domain-event"),
        "VIEW_STORE_OPTIONS": sqlite(),
        "FILE_STORE_OPTIONS": json.dumps(
            {"type": "FileSystem", "directory": str(data_directory / "files")}
        ),
        # For whatever the app's infrastructure keeps on disk itself, beside the stores.
        "WOLKENKIT_DATA_DIRECTORY": str(data_directory),
    }


def move_earlier_view_tables(data_directory: Path) -> str | None:
    """Move the view tables of an earlier version's ``views.db`` into the stores' file (see
    ``embedded_store_environment``); what was done, in one line, or ``None`` if nothing was
    there. Their rows were written before that file held the flows' progress too; from now
    on, flows write them exactly once."""
    earlier = data_directory / EARLIER_VIEWS_FILE
    if not earlier.is_file():
        return None
    moved = move_tables(earlier, data_directory / DATABASE_FILE)
    return (
        f"Moved the view tables of {earlier} ({', '.join(moved) or 'none'}) into "
        f"{DATABASE_FILE}, beside the flows' progress."
    )


def runtime_environment(options: DevelopmentOptions) -> dict[str, str]:
    """The child's environment: ``wk dev``'s defaults, overridden by the user's variables."""
    directory = options.application_directory.resolve()
    defaults: dict[str, str] = {
        "APPLICATION_DIRECTORY": str(directory),
        "PORT_OR_SOCKET": str(options.port),
        "HEALTH_PORT_OR_SOCKET": str(options.health_port),
        "BIND_HOST": options.host,
        "CONCURRENT_COMMANDS": "100",
        "CONCURRENT_FLOWS": "1",
        "ENABLE_OPEN_API_DOCUMENTATION": "true",
        "GRAPHQL_API": json.dumps({"enableIntegratedClient": True}),
        "HTTP_API": "true",
        "HEARTBEAT_INTERVAL": "90000",
        # Read by a person in a terminal, not by a log collector.
        "LOG_FORMAT": "readable",
        "SNAPSHOT_STRATEGY": json.dumps(
            {"name": "revision", "configuration": {"revisionLimit": 100}}
        ),
    }
    if not options.in_memory:
        defaults.update(embedded_store_environment(directory / DATA_DIRECTORY))
    if options.identity_provider_issuer and options.identity_provider_certificate:
        defaults["IDENTITY_PROVIDERS"] = json.dumps(
            [
                {
                    "issuer": options.identity_provider_issuer,
                    "certificate": str(options.identity_provider_certificate.resolve()),
                }
            ]
        )
    environment = {**defaults, **options.environment}
    # Our own settings win over inherited ones: they are what the flags said.
    environment["APPLICATION_DIRECTORY"] = defaults["APPLICATION_DIRECTORY"]
    environment["PORT_OR_SOCKET"] = defaults["PORT_OR_SOCKET"]
    environment["HEALTH_PORT_OR_SOCKET"] = defaults["HEALTH_PORT_OR_SOCKET"]
    environment["BIND_HOST"] = defaults["BIND_HOST"]
    return environment


class _SourceFilter(DefaultFilter):
    """Python sources and anything else under ``server/``, without caches and the data we
    write ourselves (``.wolkenkit/``)."""

    def __call__(self, change: Change, path: str) -> bool:
        return super().__call__(change, path) and f"{os.sep}.wolkenkit" not in path


Report = Callable[[str], None]


class DevelopmentServer:
    def __init__(self, options: DevelopmentOptions, report: Report) -> None:
        self._options = options
        self._report = report
        #: The child serving the application, once it does.
        self._child: Standby | None = None
        #: The next child, waiting with the framework imported.
        self._standby = take_early()
        #: When the serving child was last ready (``time.monotonic()``).
        self._ready_at = 0.0

    async def run(self) -> None:
        """Serve, restarting on every change, until cancelled (Ctrl+C).

        Ports in use at the start are an error (:class:`~wolkenkit.errors.CliError`); later,
        they and anything else that keeps the application from starting are reported, and the
        next change is waited for.
        """
        server_directory = self._options.application_directory / "server"
        if not server_directory.is_dir():
            self._discard_standby()
            raise errors.DirectoryNotFound(f"Directory '{server_directory}' not found.")
        changes: asyncio.Queue[set[tuple[Change, str]]] = asyncio.Queue()

        async def watch() -> None:
            async for batch in awatch(
                server_directory, watch_filter=_SourceFilter(), debounce=200, step=50
            ):
                await changes.put(batch)

        # The watcher starts with the first child, which spends its first few hundred
        # milliseconds importing before it reads the app: no change after "Ready" is missed.
        watcher = asyncio.create_task(watch())
        try:
            problem = ports_problem(self._options) or stores_problem(self._options)
            if problem is not None:
                raise errors.CliError(problem)
            await self._move_earlier_view_tables()
            await self._start()
            quick_crashes = 0
            while True:
                batch = await self._next_change_or_exit(changes)
                if isinstance(batch, int):
                    quick = time.monotonic() - self._ready_at < QUICK_CRASH_SECONDS
                    quick_crashes = quick_crashes + 1 if quick else 1
                    if quick_crashes >= QUICK_CRASHES_TOLERATED:
                        self._report(
                            f"The application stopped unexpectedly ({_exit_reason(batch)}), "
                            f"{quick_crashes} times in a row soon after it started; waiting "
                            "for the next change."
                        )
                        await self._stop()
                        continue
                    self._report(
                        f"The application stopped unexpectedly ({_exit_reason(batch)}); restarting."
                    )
                else:
                    quick_crashes = 0
                    names = {Path(path).name for _, path in batch}
                    # Editors write temporary files beside the one they save; name the sources.
                    changed = sorted(n for n in names if n.endswith(".py")) or sorted(names)
                    self._report(f"Changed: {', '.join(changed)}; restarting.")
                await self._stop()
                problem = ports_problem(self._options)
                if problem is None:
                    await self._start()
                else:
                    self._report(f"{problem} Waiting for the next change.")
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            await self._stop()
            self._discard_standby()

    async def _move_earlier_view_tables(self) -> None:
        """Once, before the first start: this version keeps the view tables beside the
        flows' progress, unless the user placed them elsewhere."""
        options = self._options
        if options.in_memory or "VIEW_STORE_OPTIONS" in options.environment:
            return
        data_directory = options.application_directory.resolve() / DATA_DIRECTORY
        moved = await asyncio.to_thread(move_earlier_view_tables, data_directory)
        if moved is not None:
            self._report(moved)

    async def _next_change_or_exit(
        self, changes: asyncio.Queue[set[tuple[Change, str]]]
    ) -> set[tuple[Change, str]] | int:
        """The next batch of changes, or the exit code of the serving child if it ends first."""
        change = asyncio.create_task(changes.get())
        waiting: set[asyncio.Task[Any]] = {change}
        if self._child is not None:
            waiting.add(asyncio.create_task(self._child.exit_code()))
        try:
            done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in waiting:
                task.cancel()
        # A change restarts the child in any case.
        if change in done:
            return change.result()
        code: int = done.pop().result()
        return code

    async def _start(self) -> None:
        started = time.perf_counter()
        child, self._standby = self._standby, None
        if child is None or not child.alive:
            child = Standby()
        self._child = child
        child.serve(runtime_environment(self._options))
        try:
            async with asyncio.timeout(READY_TIMEOUT_SECONDS):
                serving = await child.wait_until_serving()
        except TimeoutError:
            serving = False
        if serving:
            self._ready_at = time.monotonic()
            elapsed = time.perf_counter() - started
            host = _browsable_host(self._options.host)
            self._report(
                f"Ready in {elapsed:.2f} s: http://{host}:{self._options.port}/ "
                f"(health: http://{host}:{self._options.health_port}/health/v2). "
                "Watching for changes."
            )
        else:
            await self._stop()
            self._report("The application did not start; waiting for the next change.")
        # The next child imports while this one serves, so a restart skips that part.
        self._standby = Standby()

    async def _stop(self) -> None:
        child, self._child = self._child, None
        if child is not None:
            await child.stop(STOP_TIMEOUT_SECONDS)

    def _discard_standby(self) -> None:
        standby, self._standby = self._standby, None
        if standby is not None:
            standby.discard()


def ports_problem(options: DevelopmentOptions) -> str | None:
    """Why the runtime could not listen on its ports, in one line (``None`` if it can)."""
    for port, flag, what in (
        (options.port, "--port", "Port"),
        (options.health_port, "--health-port", "Health port"),
    ):
        problem = _listening_problem(options.host, port)
        if problem == "in use":
            return (
                f"{what} {port} is in use; stop what listens there, or choose another with {flag}."
            )
        if problem is not None:
            return problem
    return None


def stores_problem(options: DevelopmentOptions) -> str | None:
    """Why the runtime could not use its stores, in one line (``None`` if it can): another
    runtime (a second ``wk dev`` of the app, on other ports) owns its queue of commands."""
    try:
        settings = RuntimeSettings.from_environment(runtime_environment(options))
        owned = factory.is_priority_queue_owned(settings.priority_queue_store_for_commands_options)
    except errors.WolkenkitError:
        # Settings the runtime will refuse with a clearer message of its own.
        return None
    if not owned:
        return None
    return (
        "Another runtime (a second wk dev of this app?) uses the stores in "
        f"{options.application_directory.resolve() / DATA_DIRECTORY}; stop it first, or run "
        "this one with --in-memory."
    )


def _listening_problem(host: str, port: int) -> str | None:
    """Binds ``host:port`` as the server will (``SO_REUSEADDR``: connections of a previous
    child that are still closing do not count) and says why that fails."""
    try:
        addresses = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as error:
        return f"Cannot listen on '{host}': {error.strerror}."
    for family, kind, protocol, _, address in addresses:
        with socket.socket(family, kind, protocol) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                probe.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            try:
                probe.bind(address)
            except OSError as error:
                if error.errno == errno.EADDRINUSE:
                    return "in use"
                return f"Cannot listen on {host} port {port}: {error.strerror}."
    return None


def _browsable_host(host: str) -> str:
    """Where a browser on this machine reaches a server bound to ``host``."""
    if host in {"127.0.0.1", "0.0.0.0", "::", "::1", ""}:
        return "localhost"
    return f"[{host}]" if ":" in host else host


def _exit_reason(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(-code).name}"
    return f"exit code {code}"
