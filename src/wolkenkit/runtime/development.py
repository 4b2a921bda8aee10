"""``wk dev``: run an application locally and restart it whenever its code changes.

The runtime runs in a child process, so each restart starts from a clean interpreter. Each
child is started ahead of time (``wolkenkit.runtime.standby``): it imports the framework while
the previous one serves (the first one while ``wk`` parses its command line) and is told what
to run when its turn comes. A child that cannot start (a load error, a port in use) is
reported in one line and the watcher waits for the next change instead of giving up.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from watchfiles import Change, DefaultFilter, awatch

from wolkenkit import errors

READY_TIMEOUT_SECONDS = 30.0
#: Where ``wk dev`` keeps an app's data, inside the app's directory.
DATA_DIRECTORY = ".wolkenkit"
STOP_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class DevelopmentOptions:
    application_directory: Path
    port: int = 3000
    health_port: int = 3001
    identity_provider_issuer: str | None = None
    identity_provider_certificate: Path | None = None
    in_memory: bool = False
    environment: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))


def embedded_store_environment(data_directory: Path) -> dict[str, str]:
    """Store options that keep everything under ``data_directory``: one SQLite file for the
    events, locks, progress and both queues, and a directory for files."""
    data_directory.mkdir(parents=True, exist_ok=True)
    database = str(data_directory / "wolkenkit.db")

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
        "FILE_STORE_OPTIONS": json.dumps(
            {"type": "FileSystem", "directory": str(data_directory / "files")}
        ),
        # For the app's own read models (the chat sample keeps its view store there).
        "WOLKENKIT_DATA_DIRECTORY": str(data_directory),
    }


def runtime_environment(options: DevelopmentOptions) -> dict[str, str]:
    """The child's environment: ``wk dev``'s defaults, overridden by the user's variables."""
    directory = options.application_directory.resolve()
    defaults: dict[str, str] = {
        "APPLICATION_DIRECTORY": str(directory),
        "PORT_OR_SOCKET": str(options.port),
        "HEALTH_PORT_OR_SOCKET": str(options.health_port),
        "CONCURRENT_COMMANDS": "100",
        "CONCURRENT_FLOWS": "1",
        "ENABLE_OPEN_API_DOCUMENTATION": "true",
        "GRAPHQL_API": json.dumps({"enableIntegratedClient": True}),
        "HTTP_API": "true",
        "HEARTBEAT_INTERVAL": "90000",
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
    return environment


class _SourceFilter(DefaultFilter):
    """Python sources and anything else under ``server/``, without caches and the data we
    write ourselves (``.wolkenkit/``)."""

    def __call__(self, change: Change, path: str) -> bool:
        return super().__call__(change, path) and f"{os.sep}.wolkenkit" not in path


Report = Callable[[str], None]


def start_standby() -> subprocess.Popen[bytes]:
    """A runtime child that imports the framework now and runs once it is sent its
    environment (see ``wolkenkit.runtime.standby``)."""
    return subprocess.Popen(
        [sys.executable, "-m", "wolkenkit.runtime.standby"], stdin=subprocess.PIPE
    )


#: The first child, when ``wk`` started it before parsing its command line.
_early_standby: subprocess.Popen[bytes] | None = None


def start_standby_early() -> None:
    """Start ``wk dev``'s first child now, so that its imports overlap the command's own."""
    global _early_standby
    _early_standby = start_standby()


def _take_early_standby() -> subprocess.Popen[bytes] | None:
    global _early_standby
    standby, _early_standby = _early_standby, None
    return standby


class DevelopmentServer:
    def __init__(self, options: DevelopmentOptions, report: Report) -> None:
        self._options = options
        self._report = report
        self._child: subprocess.Popen[bytes] | None = None
        #: The next child, waiting with the framework imported.
        self._standby = _take_early_standby()

    async def run(self) -> None:
        """Serve, restarting on every change, until cancelled (Ctrl+C)."""
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
            await self._start()
            while True:
                batch = await changes.get()
                names = {Path(path).name for _, path in batch}
                # Editors write temporary files beside the one they save; name the sources.
                changed = sorted(name for name in names if name.endswith(".py")) or sorted(names)
                self._report(f"Changed: {', '.join(changed)}; restarting.")
                await self._stop()
                await self._start()
        finally:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            await self._stop()
            self._discard_standby()

    async def _start(self) -> None:
        started = time.perf_counter()
        child, self._standby = self._standby, None
        if child is None or child.poll() is not None:
            child = start_standby()
        self._child = child
        line = json.dumps(runtime_environment(self._options)).encode() + b"\n"
        assert child.stdin is not None
        with contextlib.suppress(BrokenPipeError):
            child.stdin.write(line)
            child.stdin.close()
        if await self._wait_until_healthy():
            elapsed = time.perf_counter() - started
            port = self._options.port
            self._report(
                f"Ready in {elapsed:.2f} s: http://localhost:{port}/ "
                f"(health: http://localhost:{self._options.health_port}/health/v2). "
                "Watching for changes."
            )
        else:
            self._report("The application did not start; waiting for the next change.")
        # The next child imports while this one serves, so a restart skips that part.
        self._standby = start_standby()

    async def _wait_until_healthy(self) -> bool:
        url = f"http://127.0.0.1:{self._options.health_port}/health/v2"
        deadline = time.monotonic() + READY_TIMEOUT_SECONDS
        while time.monotonic() < deadline:
            if self._child is None or self._child.poll() is not None:
                return False
            if await asyncio.to_thread(is_healthy, url, 0.5):
                return True
            await asyncio.sleep(0.02)
        return False

    async def _stop(self) -> None:
        child, self._child = self._child, None
        if child is None or child.poll() is not None:
            return
        child.terminate()
        try:
            await asyncio.to_thread(child.wait, STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            child.kill()
            await asyncio.to_thread(child.wait)

    def _discard_standby(self) -> None:
        standby, self._standby = self._standby, None
        if standby is not None:
            # Closing its stdin would do, but only once its imports are done: stop it now.
            standby.kill()
            standby.wait()


def is_healthy(url: str, timeout: float) -> bool:
    """Whether ``url`` answers 200."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return bool(response.status == 200)
    except OSError:
        return False
