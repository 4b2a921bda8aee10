"""Moving the tables of one SQLite file into another (``wk dev``'s views.db of earlier
versions into its stores' file)."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

import pytest

from wolkenkit.errors import StoreError
from wolkenkit.stores.sqlite.moving import move_tables


def _run(path: Path, *statements: str) -> None:
    with contextlib.closing(sqlite3.connect(path)) as database:
        for statement in statements:
            database.execute(statement)
        database.commit()


def _read(path: Path, sql: str) -> list[tuple[object, ...]]:
    with contextlib.closing(sqlite3.connect(path)) as database:
        return database.execute(sql).fetchall()


def test_tables_move_with_their_rows_and_indexes(tmp_path: Path) -> None:
    source, target = tmp_path / "views.db", tmp_path / "wolkenkit.db"
    _run(
        source,
        'CREATE TABLE "view_messages" ("id" TEXT NOT NULL PRIMARY KEY, "_row" TEXT NOT NULL)',
        'CREATE INDEX "view_messages.id" ON "view_messages" ("id")',
        """INSERT INTO "view_messages" VALUES ('a', '{"id": "a"}')""",
        'CREATE TABLE "view_counts" ("id" TEXT NOT NULL PRIMARY KEY)',
        "INSERT INTO \"view_counts\" VALUES ('from source')",
    )
    _run(
        target,
        'CREATE TABLE "view_counts" ("id" TEXT NOT NULL PRIMARY KEY)',
        "INSERT INTO \"view_counts\" VALUES ('from target')",
    )

    moved = move_tables(source, target)

    assert moved == ["view_messages"]
    assert _read(target, 'SELECT * FROM "view_messages"') == [("a", '{"id": "a"}')]
    # A table the target holds already is the target's.
    assert _read(target, 'SELECT * FROM "view_counts"') == [("from target",)]
    assert ("view_messages.id",) in _read(
        target, "SELECT name FROM sqlite_master WHERE type = 'index'"
    )
    assert not source.exists()


def test_a_file_that_is_no_database_is_a_store_error_and_stays(tmp_path: Path) -> None:
    source = tmp_path / "views.db"
    source.write_bytes(b"not a database, but somebody's data" * 100)

    with pytest.raises(StoreError, match="Moving the tables of"):
        move_tables(source, tmp_path / "wolkenkit.db")

    assert source.exists()
