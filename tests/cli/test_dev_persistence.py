"""``wk dev`` keeps data in SQLite under the app's ``.wolkenkit/`` unless told otherwise."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from tests.cli.helpers import WK, wait_until
from wolkenkit.testing.cluster import PATIENCE_SECONDS, free_port, healthy


@contextmanager
def dev(
    app: Path, *flags: str, environment: dict[str, str] | None = None, wk: str = WK
) -> Iterator[int]:
    port, health_port = free_port(), free_port()
    process = subprocess.Popen(
        [wk, "dev", str(app), "--port", str(port), "--health-port", str(health_port), *flags],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "BIND_HOST": "127.0.0.1", **(environment or {})},
    )
    try:
        wait_until(lambda: healthy(health_port))
        yield port
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=PATIENCE_SECONDS)


def post(port: int, path: str, body: dict[str, Any]) -> dict[str, Any]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=json.dumps(body).encode(),
        headers={"content-type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=5) as answer:
        result: dict[str, Any] = json.loads(answer.read())
        return result


def messages(port: int) -> list[dict[str, Any]]:
    url = f"http://127.0.0.1:{port}/views/v2/messages/stream/all"
    with urllib.request.urlopen(url, timeout=5) as answer:
        return [json.loads(line) for line in answer.read().splitlines() if line]


def test_messages_survive_a_restart(chat: Path) -> None:
    with dev(chat) as port:
        sent = post(port, "/command/v2/communication/message/send", {"text": "Persisted"})
        aggregate_id = sent["aggregateIdentifier"]["aggregate"]["id"]
        wait_until(lambda: len(messages(port)) == 1)

    with dev(chat) as port:
        assert [message["text"] for message in messages(port)] == ["Persisted"]
        # The aggregate's events survived too: liking it works, and counts from its history.
        post(port, f"/command/v2/communication/message/{aggregate_id}/like", {})
        wait_until(lambda: messages(port)[0]["likes"] == 1)

    assert (chat / ".wolkenkit" / "wolkenkit.db").is_file()
    # The chat keeps no storage of its own: its messages are a table of the view store, in
    # the one file of wk dev's stores.
    with contextlib.closing(sqlite3.connect(chat / ".wolkenkit" / "wolkenkit.db")) as views:
        rows = views.execute(
            "SELECT id, json_extract(_row, '$.likes') FROM view_messages"
        ).fetchall()
    assert rows == [(aggregate_id, 1)]


def test_in_memory_forgets_everything_on_restart(chat: Path) -> None:
    with dev(chat, "--in-memory") as port:
        post(port, "/command/v2/communication/message/send", {"text": "Forgotten"})
        wait_until(lambda: len(messages(port)) == 1)

    with dev(chat, "--in-memory") as port:
        assert messages(port) == []
    assert not (chat / ".wolkenkit").exists()


@pytest.mark.postgres
def test_events_land_in_postgres_when_its_options_are_given(chat: Path) -> None:
    schema = f"wk_dev_{uuid.uuid4().hex[:12]}"
    options = {
        "type": "Postgres",
        "hostName": "127.0.0.1",
        "port": 5432,
        "userName": "postgres",
        "password": "",
        "database": "postgres",
        "schema": schema,
        "tableNames": {"domainEvents": "domain-events", "snapshots": "snapshots"},
    }
    try:
        with dev(chat, environment={"DOMAIN_EVENT_STORE_OPTIONS": json.dumps(options)}) as port:
            post(port, "/command/v2/communication/message/send", {"text": "In PostgreSQL"})
            wait_until(lambda: len(messages(port)) == 1)
        rows = asyncio.run(_events_in(schema))
    finally:
        asyncio.run(_drop(schema))

    assert [row["name"] for row in rows] == ["sent"]
    assert rows[0]["data"] == {"text": "In PostgreSQL"}


async def _events_in(schema: str) -> list[dict[str, Any]]:
    connection = await asyncpg.connect(host="127.0.0.1", user="postgres", database="postgres")
    try:
        table = f'"{schema}"."domain-events"'
        columns = await connection.fetch(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = $1 AND table_name = 'domain-events'",
            schema,
        )
        column = next(
            name
            for name in ("domainEvent", "domain_event", "event")
            if name in {row["column_name"] for row in columns}
        )
        records = await connection.fetch(f'SELECT "{column}"::text AS event FROM {table}')
        return [json.loads(record["event"]) for record in records]
    finally:
        await connection.close()


async def _drop(schema: str) -> None:
    connection = await asyncpg.connect(host="127.0.0.1", user="postgres", database="postgres")
    try:
        await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await connection.close()
