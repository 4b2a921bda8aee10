"""Moving tables from one SQLite file into another, for a file layout that changed."""

from __future__ import annotations

import contextlib
import sqlite3
from pathlib import Path

from wolkenkit.errors import StoreError
from wolkenkit.stores.sqlite.database import BUSY_TIMEOUT, quote


def move_tables(source: Path, target: Path) -> list[str]:
    """Move every table of the file ``source``, with its rows and indexes, into ``target``
    (created if missing), and delete ``source``; the names of the tables moved.

    A table that ``target`` holds already stays as it is there, and the one of ``source`` is
    dropped with the file. The move is one transaction of ``target``: if it is interrupted,
    ``source`` is still whole and the move is made again the next time. Raises
    ``StoreError`` if a file cannot be read or written.
    """
    try:
        moved = _copy(source, target)
    except sqlite3.Error as error:
        raise StoreError(f"Moving the tables of {source} into {target} failed: {error}.") from error
    for suffix in ("", "-wal", "-shm", "-journal"):
        with contextlib.suppress(FileNotFoundError):
            Path(f"{source}{suffix}").unlink()
    return moved


def _copy(source: Path, target: Path) -> list[str]:
    with contextlib.closing(
        sqlite3.connect(target, isolation_level=None, timeout=BUSY_TIMEOUT)
    ) as connection:
        connection.execute("PRAGMA journal_mode = WAL").fetchall()
        connection.execute("ATTACH DATABASE ? AS moving", (str(source),))
        try:
            connection.execute("BEGIN IMMEDIATE")
            try:
                moved = _copy_tables(connection)
                connection.execute("COMMIT")
            except BaseException:
                connection.execute("ROLLBACK")
                raise
        finally:
            connection.execute("DETACH DATABASE moving")
    return moved


def _copy_tables(connection: sqlite3.Connection) -> list[str]:
    existing = {name for (name,) in connection.execute("SELECT name FROM main.sqlite_master")}
    tables = connection.execute(
        "SELECT name, sql FROM moving.sqlite_master "
        "WHERE type = 'table' AND name NOT LIKE 'sqlite_%' ORDER BY name"
    ).fetchall()
    moved = []
    for name, create in tables:
        if name in existing:
            continue
        # Unqualified, CREATE makes the table in main, exactly as it was declared.
        connection.execute(create)
        connection.execute(f"INSERT INTO main.{quote(name)} SELECT * FROM moving.{quote(name)}")
        indexes = connection.execute(
            "SELECT sql FROM moving.sqlite_master "
            "WHERE type = 'index' AND tbl_name = ? AND sql IS NOT NULL",
            (name,),
        ).fetchall()
        for (create_index,) in indexes:
            connection.execute(create_index)
        moved.append(name)
    return moved
