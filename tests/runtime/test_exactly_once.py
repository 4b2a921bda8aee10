"""Exactly once, for real: a runtime process is killed (SIGKILL) while a flow's handler has
written a table and its progress has not followed. After a restart the event comes again. Where
the progress and the tables share a database, the table shows the write once; where they do
not, twice (at least once, as the runtime says at its start).

The kill lands exactly there: the handler, once it has written, drops a marker file and waits
for good; the test kills the process as soon as the marker is there.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import asyncmy
import asyncpg
import pytest

from tests.application.app_files import write_app
from tests.application.counting_app import COUNTS, FILES, MARKER
from tests.stores.mariadb.conftest import SERVER as MARIADB
from tests.stores.postgres.conftest import SERVER as POSTGRES
from wolkenkit.messages import AggregateIdentifier, new_id
from wolkenkit.runtime.development import embedded_store_environment
from wolkenkit.stores import factory
from wolkenkit.testing.cluster import free_port, healthy

#: How long to wait for a process or a redelivery: a guard against hanging, never a measure.
PATIENCE_SECONDS = 120.0
#: The flow queue's lock expiration: after the kill, the event is handed out again this soon.
EXPIRATION_MS = 1_000


@dataclass(frozen=True)
class Stores:
    """The runtime's store options, and where the test reads progress and tables."""

    environment: dict[str, str]
    progress: dict[str, Any]
    views: dict[str, Any]


def _all_stores(options: dict[str, Any]) -> dict[str, str]:
    def queue(kind: str) -> str:
        names = {"items": f"items-{kind}", "priorityQueue": f"priority-queue-{kind}"}
        return json.dumps({**options, "expirationTime": EXPIRATION_MS, "tableNames": names})

    return {
        "DOMAIN_EVENT_STORE_OPTIONS": json.dumps(options),
        "LOCK_STORE_OPTIONS": json.dumps(options),
        "CONSUMER_PROGRESS_STORE_OPTIONS": json.dumps(options),
        "PRIORITY_QUEUE_STORE_FOR_COMMANDS_OPTIONS": queue("command"),
        "PRIORITY_QUEUE_STORE_FOR_DOMAIN_EVENTS_OPTIONS": queue("domain-event"),
        "VIEW_STORE_OPTIONS": json.dumps(options),
    }


def _with_views(stores: dict[str, str], views: dict[str, Any]) -> dict[str, str]:
    return {**stores, "VIEW_STORE_OPTIONS": json.dumps(views)}


@contextmanager
def sqlite_stores(directory: Path, apart: bool) -> Iterator[Stores]:
    # wk dev's own layout; the queues' locks expire sooner.
    environment = embedded_store_environment(directory / ".wolkenkit")
    for name in ("COMMANDS", "DOMAIN_EVENTS"):
        variable = f"PRIORITY_QUEUE_STORE_FOR_{name}_OPTIONS"
        environment[variable] = json.dumps(
            {**json.loads(environment[variable]), "expirationTime": EXPIRATION_MS}
        )
    progress = json.loads(environment["CONSUMER_PROGRESS_STORE_OPTIONS"])
    views = json.loads(environment["VIEW_STORE_OPTIONS"])
    if apart:
        views = {"type": "Sqlite", "fileName": str(directory / "views-apart.db")}
        environment = _with_views(environment, views)
    yield Stores(environment, progress, views)


async def _postgres(statement: str) -> None:
    connection = await asyncpg.connect(
        host=POSTGRES["hostName"],
        port=POSTGRES["port"],
        user=POSTGRES["userName"],
        password=POSTGRES["password"] or None,
        database=POSTGRES["database"],
    )
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@contextmanager
def postgres_stores(directory: Path, apart: bool) -> Iterator[Stores]:
    name = f"wk_once_{new_id().replace('-', '')[:16]}"
    options = {**POSTGRES, "schema": name}
    environment = _all_stores(options)
    views = options
    if apart:
        asyncio.run(_postgres(f'CREATE DATABASE "{name}"'))
        views = {**POSTGRES, "database": name}
        environment = _with_views(environment, views)
    try:
        yield Stores(environment, options, views)
    finally:
        asyncio.run(_postgres(f'DROP SCHEMA IF EXISTS "{name}" CASCADE'))
        if apart:
            asyncio.run(_postgres(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


async def _mariadb(statement: str) -> None:
    connection = await asyncmy.connect(
        host=MARIADB["hostName"],
        port=MARIADB["port"],
        user=MARIADB["userName"],
        password=MARIADB["password"],
        autocommit=True,
    )
    try:
        async with connection.cursor() as cursor:
            await cursor.execute(statement)
    finally:
        await connection.ensure_closed()


@contextmanager
def mariadb_stores(directory: Path, apart: bool) -> Iterator[Stores]:
    names = [f"wk_once_{new_id().replace('-', '')[:16]}" for _ in range(2 if apart else 1)]
    for name in names:
        asyncio.run(_mariadb(f"CREATE DATABASE `{name}`"))
    options = {**MARIADB, "database": names[0]}
    views = {**MARIADB, "database": names[-1]}
    try:
        yield Stores(_with_views(_all_stores(options), views), options, views)
    finally:
        for name in names:
            asyncio.run(_mariadb(f"DROP DATABASE IF EXISTS `{name}`"))


@dataclass
class Runtime:
    process: subprocess.Popen[bytes]
    port: int
    log: Path


@contextmanager
def runtime(app: Path, stores: Stores, log: Path) -> Iterator[Runtime]:
    """The runtime in a process of its own, once healthy; stopped at the end unless killed."""
    port, health_port = free_port(), free_port()
    environment = {
        **os.environ,
        **stores.environment,
        "APPLICATION_DIRECTORY": str(app),
        "PORT_OR_SOCKET": str(port),
        "HEALTH_PORT_OR_SOCKET": str(health_port),
        "BIND_HOST": "127.0.0.1",
        "COMMAND_QUEUE_RENEW_INTERVAL": str(EXPIRATION_MS // 4),
        MARKER: str(app / "written"),
    }
    with log.open("ab") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "wolkenkit.runtime.server"],
            env=environment,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        _wait_for(lambda: healthy(health_port) or process.poll() is not None, "health")
        assert process.poll() is None, log.read_text()
        yield Runtime(process, port, log)
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=PATIENCE_SECONDS)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def _wait_for(condition: Any, what: str) -> None:
    deadline = time.monotonic() + PATIENCE_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"Waited in vain for {what}.")
        time.sleep(0.02)


def send(port: int, text: str) -> AggregateIdentifier:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/command/v2/communication/message/send",
        data=json.dumps({"text": text}).encode(),
        headers={"content-type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        answer = json.loads(response.read())
    return AggregateIdentifier.of(
        "communication", "message", answer["aggregateIdentifier"]["aggregate"]["id"]
    )


async def _revision(stores: Stores, aggregate: AggregateIdentifier) -> int:
    store = await factory.create_consumer_progress_store(stores.progress)
    try:
        return (await store.get_progress("counting", aggregate)).revision
    finally:
        await store.destroy()


async def _count(stores: Stores) -> int | None:
    store = await factory.create_view_store(stores.views)
    try:
        await store.setup([COUNTS])
        row = await store.get("counts", "sent")
    finally:
        await store.destroy()
    return None if row is None else int(row["count"])


BACKENDS = {
    "sqlite": pytest.param(sqlite_stores, id="sqlite"),
    "postgres": pytest.param(postgres_stores, id="postgres", marks=pytest.mark.postgres),
    "mariadb": pytest.param(mariadb_stores, id="mariadb", marks=pytest.mark.mariadb),
}


@pytest.mark.parametrize("make_stores", BACKENDS.values())
@pytest.mark.parametrize(
    ("apart", "count", "said"),
    [
        pytest.param(False, 1, "exactly once", id="one-database"),
        pytest.param(True, 2, "at least once", id="two-databases"),
    ],
)
def test_an_event_redelivered_after_a_kill_writes_its_table_once(
    tmp_path: Path, make_stores: Any, apart: bool, count: int, said: str
) -> None:
    app = write_app(tmp_path / "app", FILES)
    log = tmp_path / "runtime.log"
    with make_stores(app, apart) as stores:
        with runtime(app, stores, log) as killed:
            aggregate = send(killed.port, "Hello")
            _wait_for(
                lambda: (app / "written").exists() or killed.process.poll() is not None,
                "the handler's write",
            )
            killed.process.send_signal(signal.SIGKILL)
            assert killed.process.wait(timeout=PATIENCE_SECONDS) == -signal.SIGKILL
        assert asyncio.run(_revision(stores, aggregate)) == 0

        with runtime(app, stores, log):
            _wait_for(lambda: asyncio.run(_revision(stores, aggregate)) == 1, "the redelivery")
            counted = asyncio.run(_count(stores))

    assert counted == count
    assert said in log.read_text()
