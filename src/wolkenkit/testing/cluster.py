"""A microservice deployment on one machine, for tests and benchmarks: every service its own
process (``python -m wolkenkit.runtime.server <service>``), sharing PostgreSQL (events,
queues, locks, progress, view tables, in a schema of their own) and Redis (publish/subscribe), as in
production. The servers default to the local ones; pass other connection options to use
others."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg

from wolkenkit.messages import DomainEvent
from wolkenkit.stores import factory

#: How long to wait for a service to start or stop: a guard against hanging, long enough for a
#: machine busy with other work, never a measure of speed.
PATIENCE_SECONDS = 120.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health/v2", timeout=0.5) as answer:
            return bool(answer.status == 200)
    except OSError:
        return False


LOCAL_POSTGRES: dict[str, object] = {
    "type": "Postgres",
    "hostName": "127.0.0.1",
    "port": 5432,
    "userName": "postgres",
    "password": "",
    "database": "postgres",
}
LOCAL_REDIS: dict[str, object] = {"type": "Redis", "hostName": "127.0.0.1", "port": 6379}


def environment(
    app: Path,
    data: Path,
    schema: str,
    expiration_ms: int,
    postgres_options: dict[str, object] | None = None,
    redis_options: dict[str, object] | None = None,
) -> dict[str, str]:
    """The variables every service of one deployment shares."""

    def postgres(**extra: object) -> str:
        return json.dumps({**(postgres_options or LOCAL_POSTGRES), "schema": schema, **extra})

    def queue(kind: str) -> str:
        return postgres(
            expirationTime=expiration_ms,
            tableNames={"items": f"items-{kind}", "priorityQueue": f"priority-queue-{kind}"},
        )

    redis = redis_options or LOCAL_REDIS
    return {
        "APPLICATION_DIRECTORY": str(app),
        "BIND_HOST": "127.0.0.1",
        "LOG_LEVEL": "warning",
        "DOMAIN_EVENT_STORE_OPTIONS": postgres(),
        "LOCK_STORE_OPTIONS": postgres(),
        "CONSUMER_PROGRESS_STORE_OPTIONS": postgres(),
        # The view tables too: flow and view share them through the database, no folder.
        "VIEW_STORE_OPTIONS": postgres(),
        "PRIORITY_QUEUE_STORE_FOR_COMMANDS_OPTIONS": queue("command"),
        "PRIORITY_QUEUE_STORE_FOR_DOMAIN_EVENTS_OPTIONS": queue("domain-event"),
        "FILE_STORE_OPTIONS": json.dumps({"type": "FileSystem", "directory": str(data / "files")}),
        "PUB_SUB_OPTIONS": json.dumps(
            {
                "channelForNotifications": f"{schema}-notification",
                "channelForNewDomainEvents": f"{schema}-new-domain-event",
                "channelForNewCommands": f"{schema}-new-command",
                "channelForNewInternalDomainEvents": f"{schema}-new-internal-domain-event",
                "publisher": redis,
                "subscriber": redis,
            }
        ),
        "COMMAND_QUEUE_RENEW_INTERVAL": str(max(100, expiration_ms // 4)),
    }


@dataclass
class Service:
    name: str
    process: subprocess.Popen[bytes]
    port: int
    health_port: int

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class Cluster:
    app: Path
    data: Path
    schema: str = field(default_factory=lambda: f"wk_ms_{uuid.uuid4().hex[:12]}")
    expiration_ms: int = 2_000
    services: list[Service] = field(default_factory=list)

    def start(self, name: str, **extra_environment: str) -> Service:
        """Start a process running the service, and wait until it is healthy."""
        (service,) = self.start_together([name], **extra_environment)
        return service

    def start_together(self, names: list[str], **extra_environment: str) -> list[Service]:
        """Start a process per name at once, then wait until all are healthy."""
        started = [self._launch(name, extra_environment) for name in names]
        deadline = time.monotonic() + PATIENCE_SECONDS
        for service in started:
            while not healthy(service.health_port):
                if service.process.poll() is not None:
                    raise RuntimeError(
                        f"the {service.name} service exited with {service.process.returncode}"
                    )
                if time.monotonic() > deadline:
                    raise RuntimeError(f"the {service.name} service did not become healthy")
                time.sleep(0.05)
        return started

    def _launch(self, name: str, extra_environment: dict[str, str]) -> Service:
        port, health_port = free_port(), free_port()
        variables = {
            **os.environ,
            **environment(self.app, self.data, self.schema, self.expiration_ms),
            "PORT_OR_SOCKET": str(port),
            "HEALTH_PORT_OR_SOCKET": str(health_port),
            **extra_environment,
        }
        process = subprocess.Popen(
            [sys.executable, "-m", "wolkenkit.runtime.server", name], env=variables
        )
        service = Service(name, process, port, health_port)
        self.services.append(service)
        return service

    async def stored_events(self) -> list[DomainEvent]:
        """Every domain event the deployment stored, in global order."""
        options = json.loads(
            environment(self.app, self.data, self.schema, 0)["DOMAIN_EVENT_STORE_OPTIONS"]
        )
        store = await factory.create_domain_event_store(options)
        try:
            return [positioned.domain_event async for positioned in store.get_replay_by_position()]
        finally:
            await store.destroy()

    def stop(self) -> None:
        for service in self.services:
            if service.process.poll() is None:
                service.process.send_signal(signal.SIGTERM)
        for service in self.services:
            try:
                service.process.wait(timeout=PATIENCE_SECONDS)
            except subprocess.TimeoutExpired:
                service.process.kill()
                service.process.wait()


async def drop_schema(schema: str) -> None:
    """Remove the deployment's tables from the local PostgreSQL."""
    connection = await asyncpg.connect(host="127.0.0.1", user="postgres", database="postgres")
    try:
        await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await connection.close()


@contextmanager
def running_cluster(app: Path, data: Path) -> Iterator[Cluster]:
    cluster = Cluster(app, data)
    try:
        yield cluster
    finally:
        cluster.stop()
        asyncio.run(drop_schema(cluster.schema))
