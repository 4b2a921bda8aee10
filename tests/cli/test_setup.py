"""``wk setup store`` and ``wk setup infrastructure`` as a user (or a compose file) runs them."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import uuid
from pathlib import Path

import asyncpg
import pytest

from tests.application.app_files import write_app
from tests.application.table_app import FILES as TABLE_APP
from tests.scaffolds.helpers import wk
from wolkenkit.scaffolds import create_project


def tables_in(database: Path) -> set[str]:
    with sqlite3.connect(database) as connection:
        rows = connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        return {row[0] for row in rows}


def test_sqlite_stores_are_set_up_and_setting_up_again_changes_nothing(tmp_path: Path) -> None:
    database = tmp_path / "app.db"
    commands = [
        ("domain-event", "--table-name-domain-events", "events", "--table-name-snapshots", "snaps"),
        ("lock", "--table-name-locks", "my-locks"),
        ("consumer-progress", "--table-name-progress", "progress-flow"),
        (
            "priority-queue",
            "--table-name-items",
            "items-command",
            "--table-name-priority-queue",
            "queue-command",
        ),
    ]
    for _ in range(2):
        for kind, *flags in commands:
            result = wk(
                "setup", "store", kind, "sqlite", "--file-name", str(database), *flags, cwd=tmp_path
            )
            assert result.returncode == 0, result.stderr
            assert result.stdout == f"Set up the {kind} store (Sqlite).\n"

    assert {
        "events",
        "snaps",
        "my-locks",
        "progress-flow",
        "items-command",
        "queue-command",
    } <= tables_in(database)


def test_options_may_come_as_one_json_object(tmp_path: Path) -> None:
    # As the setup service of the compose files does it, from the runtime's own variables.
    options = {
        "type": "Sqlite",
        "fileName": str(tmp_path / "app.db"),
        "tableNames": {"locks": "locks-from-json"},
    }

    result = wk("setup", "store", "lock", "sqlite", "--options", json.dumps(options), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert "locks-from-json" in tables_in(tmp_path / "app.db")


def test_a_view_store_gets_the_tables_the_app_declares(tmp_path: Path) -> None:
    app = write_app(tmp_path / "app", TABLE_APP)
    database = tmp_path / "views.db"
    options = json.dumps({"type": "Sqlite", "fileName": str(database)})

    for _ in range(2):
        result = wk(
            "setup", "store", "view", "sqlite", "--options", options, "--app-dir", str(app),
            cwd=tmp_path,
        )  # fmt: skip
        assert result.returncode == 0, result.stderr
        assert (
            result.stdout == "Set up the view store (Sqlite) with the tables of 'app': messages.\n"
        )

    assert tables_in(database) == {"view_messages"}


def test_a_file_system_store_gets_its_directory(tmp_path: Path) -> None:
    # A relative directory is taken from where the command runs.
    result = wk("setup", "store", "file", "file-system", "--directory", "files", cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert (tmp_path / "files").is_dir()


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (
            ["lock", "s3"],
            "Error: A lock store cannot be of type 's3'; use one of postgres, mariadb, mysql, "
            "sqlite, redis.",
        ),
        (
            ["queue", "sqlite"],
            "Error: Store kind 'queue' is unknown; use one of domain-event, lock, priority-queue, "
            "consumer-progress, file, view.",
        ),
        (
            ["domain-event", "sqlite", "--file-name", "x.db", "--table-name-locks", "x"],
            "Error: A domain-event store has no table 'locks'.",
        ),
        (
            ["lock", "sqlite", "--options", "{nope"],
            "Error: --options is not valid JSON: Expecting property name enclosed in double "
            "quotes: line 1 column 2 (char 1).",
        ),
        (
            ["lock", "sqlite", "--options", "[]"],
            "Error: --options must be a JSON object or a store URL.",
        ),
        (
            ["lock", "postgres", "--options", "mongodb://localhost/app"],
            "Error: The store URL scheme 'mongodb' is unknown; use one of file, mariadb, mysql, "
            "postgres, postgresql, redis, sqlite.",
        ),
        (
            ["lock", "postgres", "--options", "mariadb://localhost/app"],
            "Error: The options say the type is 'MariaDb', but the command says 'postgres' "
            "(Postgres).",
        ),
        (
            ["lock", "postgres", "--options", '{"type": "MariaDb"}'],
            "Error: The options say the type is 'MariaDb', but the command says 'postgres' "
            "(Postgres).",
        ),
        (
            ["lock", "sqlite"],
            "Error: The SQLite lock store options are invalid: fileName: Field required.",
        ),
    ],
)
def test_mistakes_are_one_line(tmp_path: Path, arguments: list[str], message: str) -> None:
    result = wk("setup", "store", *arguments, cwd=tmp_path)

    assert result.returncode == 1
    assert result.stderr.splitlines() == [message]


@pytest.mark.postgres
def test_postgres_tables_land_in_the_schema_given(tmp_path: Path) -> None:
    schema = f"wk_setup_{uuid.uuid4().hex[:12]}"
    connection = [
        "--host-name",
        "127.0.0.1",
        "--user-name",
        "postgres",
        "--database",
        "postgres",
        "--schema",
        schema,
    ]
    try:
        for kind in ("domain-event", "lock", "consumer-progress", "priority-queue"):
            result = wk("setup", "store", kind, "postgres", *connection, cwd=tmp_path)
            assert result.returncode == 0, result.stderr
        tables = asyncio.run(_tables(schema))
    finally:
        asyncio.run(_drop(schema))

    assert {"domain-events", "snapshots", "locks", "progress", "items", "priority-queue"} <= tables


@pytest.mark.postgres
def test_options_may_come_as_a_url(tmp_path: Path) -> None:
    # As the runtime's *_OPTIONS variables take them; the flags still override the URL.
    schema = f"wk_setup_{uuid.uuid4().hex[:12]}"
    url = "postgresql://postgres@127.0.0.1:5432/postgres"
    try:
        result = wk(
            "setup", "store", "lock", "postgres", "--options", url, "--schema", schema, cwd=tmp_path
        )
        assert result.returncode == 0, result.stderr
        tables = asyncio.run(_tables(schema))
    finally:
        asyncio.run(_drop(schema))

    assert result.stdout == "Set up the lock store (Postgres).\n"
    assert tables == {"locks"}


@pytest.mark.postgres
def test_postgres_view_tables_land_in_the_schema_given(tmp_path: Path) -> None:
    # As the setup service of the compose files runs it: in the app's directory, with the
    # runtime's VIEW_STORE_OPTIONS.
    app = write_app(tmp_path / "app", TABLE_APP)
    schema = f"wk_setup_{uuid.uuid4().hex[:12]}"
    options = json.dumps(
        {"type": "Postgres", "hostName": "127.0.0.1", "userName": "postgres",
         "database": "postgres", "schema": schema}
    )  # fmt: skip
    try:
        for _ in range(2):
            result = wk("setup", "store", "view", "postgres", "--options", options, cwd=app)
            assert result.returncode == 0, result.stderr
        tables = asyncio.run(_tables(schema))
    finally:
        asyncio.run(_drop(schema))

    assert tables == {"view_messages"}


def test_an_unreachable_server_is_one_line(tmp_path: Path) -> None:
    result = wk(
        "setup",
        "store",
        "lock",
        "postgres",
        "--host-name",
        "127.0.0.1",
        "--port",
        "1",
        "--user-name",
        "x",
        "--database",
        "x",
        cwd=tmp_path,
    )

    assert result.returncode == 1
    assert len(result.stderr.splitlines()) == 1
    assert "127.0.0.1:1" in result.stderr


def test_setup_infrastructure_runs_the_apps_function(tmp_path: Path) -> None:
    app = create_project("shop", template="blank", directory=tmp_path / "shop")
    infrastructure = app / "server" / "infrastructure.py"
    marker = tmp_path / "set-up"
    infrastructure.write_text(
        infrastructure.read_text().replace(
            '"""Create tables, buckets and the like; nothing to do yet."""',
            f"open({str(marker)!r}, 'w').close()",
        )
    )

    result = wk("setup", "infrastructure", str(app), cwd=tmp_path)

    assert result.returncode == 0, result.stderr
    assert result.stdout == "Set up the infrastructure of 'shop'.\n"
    assert marker.is_file()


async def _tables(schema: str) -> set[str]:
    connection = await asyncpg.connect(host="127.0.0.1", user="postgres", database="postgres")
    try:
        rows = await connection.fetch(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = $1", schema
        )
        return {row["table_name"] for row in rows}
    finally:
        await connection.close()


async def _drop(schema: str) -> None:
    connection = await asyncpg.connect(host="127.0.0.1", user="postgres", database="postgres")
    try:
        await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await connection.close()
