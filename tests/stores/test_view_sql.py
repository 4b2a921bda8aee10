"""The SQL fragments of the view stores order and page exactly as the rules in view_rows say.

Checked on SQLite (in memory, from the standard library), whose default collation is binary
and whose nulls sort lowest, against the Python sort key of view_rows.
"""

from __future__ import annotations

import random
import sqlite3
from typing import Any

import pytest

from wolkenkit.stores import view_rows, view_sql
from wolkenkit.stores.view_store import Column, Order, Row, TableDefinition

TABLE = TableDefinition(
    "things",
    key=Column("id", "text"),
    indexes=(Column("word", "text"), Column("number", "integer"), Column("flag", "boolean")),
)
WORDS = ["a", "B", "é", "a ", "", "ab"]
CHOICES: list[tuple[str, list[Any]]] = [
    ("word", WORDS),
    ("number", [-(2**40), 0, 7]),
    ("flag", [True, False]),
]


def _rows(seed: int) -> list[Row]:
    chance = random.Random(seed)
    rows: list[Row] = []
    for index in range(40):
        row: Row = {"id": f"{chance.choice(WORDS)}{index}"}
        for name, values in CHOICES:
            if chance.random() < 0.7:
                row[name] = chance.choice(values)
        rows.append(row)
    return rows


def _column(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _pages(connection: sqlite3.Connection, order: list[Order], limit: int) -> list[Any]:
    full_order = view_rows.ordering(TABLE, order)
    keys: list[Any] = []
    cursor: str | None = None
    while True:
        parameters = view_sql.Parameters(lambda _: "?")
        condition = view_sql.where_condition({}, _column, parameters)
        if cursor is not None:
            values = view_rows.decode_cursor(TABLE, full_order, cursor)
            condition += " AND " + view_sql.after_condition(full_order, values, _column, parameters)
        statement = (
            f"SELECT id, word, number, flag FROM things WHERE {condition} "
            f"ORDER BY {view_sql.order_by(full_order, _column, spell_nulls=False)} "
            f"LIMIT {parameters.add(limit + 1)}"
        )
        found = connection.execute(statement, parameters.values).fetchall()
        rows = [
            {
                "id": key,
                "word": word,
                "number": number,
                "flag": None if flag is None else bool(flag),
            }
            for key, word, number, flag in found[:limit]
        ]
        keys.extend(row["id"] for row in rows)
        if len(found) <= limit:
            return keys
        cursor = view_rows.encode_cursor(TABLE, full_order, rows[-1])


@pytest.mark.parametrize(
    "order",
    [
        [],
        [Order("word")],
        [Order("word", descending=True)],
        [Order("number", descending=True), Order("word")],
        [Order("flag"), Order("number", descending=True), Order("word", descending=True)],
        [Order("id", descending=True)],
    ],
    ids=repr,
)
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_keyset_pages_follow_the_python_order(order: list[Order], seed: int) -> None:
    # Every row once, in the order the Python sort key gives, whatever the page size.
    rows = _rows(seed)
    connection = sqlite3.connect(":memory:")
    try:
        connection.execute(
            "CREATE TABLE things (id TEXT PRIMARY KEY, word TEXT, number INTEGER, flag BOOLEAN)"
        )
        connection.executemany(
            "INSERT INTO things VALUES (?, ?, ?, ?)",
            [(row["id"], row.get("word"), row.get("number"), row.get("flag")) for row in rows],
        )
        full_order = view_rows.ordering(TABLE, order)
        key = view_rows.sort_key(full_order)
        expected = [
            row["id"]
            for row in sorted(rows, key=lambda row: key(view_rows.ordered_values(full_order, row)))
        ]

        for limit in [1, 3, 40]:
            assert _pages(connection, order, limit) == expected
    finally:
        connection.close()


def test_where_conditions_match_null_and_values() -> None:
    parameters = view_sql.Parameters(lambda position: f"${position}", first=3)

    condition = view_sql.where_condition({"word": "a", "flag": None}, _column, parameters)

    assert condition == '"word" = $3 AND "flag" IS NULL'
    assert parameters.values == ["a"]
