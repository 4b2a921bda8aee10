"""The SQL fragments of the view stores order and page exactly as the rules in view_rows say.

Checked on SQLite (in memory, from the standard library), whose default collation is binary
and whose nulls sort lowest, against the Python sort key of view_rows: every combination of
the dialect options (SQLite understands NULLS FIRST/LAST and row values too), in one statement
and in segments.
"""

from __future__ import annotations

import itertools
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


#: Every combination of the dialect's options, with SQLite's placeholder.
DIALECTS = [
    view_sql.Dialect(lambda _: "?", spell_nulls=spell, row_values=rows, range_bound=bound)
    for spell, rows, bound in itertools.product([False, True], repeat=3)
]


def _dialect_id(dialect: view_sql.Dialect) -> str:
    return f"nulls={dialect.spell_nulls},rows={dialect.row_values},bound={dialect.range_bound}"


def _read(
    connection: sqlite3.Connection,
    full_order: tuple[Order, ...],
    values: Any,
    dialect: view_sql.Dialect,
    segmented: bool,
    wanted: int,
) -> list[Any]:
    """Up to ``wanted`` rows after ``values`` (all rows if ``None``) in ``full_order``."""
    parameters = view_sql.Parameters(dialect)
    where = view_sql.where_condition({}, _column, parameters)
    segments = [("1 = 1", parameters)]
    if values is not None and segmented:
        segments = view_sql.after_segments(full_order, values, _column, parameters, dialect)
    elif values is not None:
        after = view_sql.after_condition(full_order, values, _column, parameters, dialect)
        segments = [(after, parameters)]
    found: list[Any] = []
    for after, own in segments:
        own = own.copy()
        statement = (
            f"SELECT id, word, number, flag FROM things WHERE {where} AND {after} "
            f"ORDER BY {view_sql.order_by(full_order, _column, dialect)} "
            f"LIMIT {own.add(wanted - len(found))}"
        )
        found += connection.execute(statement, own.values).fetchall()
        if len(found) >= wanted:
            break
    return found


def _pages(
    connection: sqlite3.Connection,
    order: list[Order],
    limit: int,
    dialect: view_sql.Dialect,
    segmented: bool,
) -> list[Any]:
    full_order = view_rows.ordering(TABLE, order)
    keys: list[Any] = []
    values = None
    while True:
        found = _read(connection, full_order, values, dialect, segmented, limit + 1)
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
        values = view_rows.decode_cursor(TABLE, full_order, cursor)


@pytest.mark.parametrize(
    "order",
    [
        [],
        [Order("word")],
        [Order("word", descending=True)],
        [Order("number", descending=True), Order("word")],
        [Order("flag"), Order("number", descending=True), Order("word", descending=True)],
        [Order("word"), Order("number"), Order("flag", descending=True)],
        [Order("flag"), Order("word", descending=True)],
        [Order("id", descending=True)],
        [Order("id")],
    ],
    ids=repr,
)
@pytest.mark.parametrize("dialect", DIALECTS, ids=_dialect_id)
@pytest.mark.parametrize("segmented", [False, True], ids=["one statement", "segments"])
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_keyset_pages_follow_the_python_order(
    order: list[Order], dialect: view_sql.Dialect, segmented: bool, seed: int
) -> None:
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
            assert _pages(connection, order, limit, dialect, segmented) == expected
    finally:
        connection.close()


def test_where_conditions_match_null_and_values() -> None:
    parameters = view_sql.Parameters(view_sql.POSTGRES, first=3)

    condition = view_sql.where_condition({"word": "a", "flag": None}, _column, parameters)

    assert condition == '"word" = $3 AND "flag" IS NULL'
    assert parameters.values == ["a"]


FULL_ORDER = view_rows.ordering(TABLE, [Order("word"), Order("number"), Order("flag", True)])
PLACE = ("a", 7, None, "a1")


def test_postgres_numbers_placeholders_and_spells_nulls() -> None:
    parameters = view_sql.Parameters(view_sql.POSTGRES)
    view_sql.where_condition({"number": 0}, _column, parameters)

    after = view_sql.after_condition(FULL_ORDER, PLACE, _column, parameters, view_sql.POSTGRES)

    # A leading row comparison, no range bound ahead of it, numbered after the where.
    assert after == (
        '(("word", "number") > ($2, $3)'
        ' OR ("word" = $4 AND "number" = $5 AND "flag" IS NULL AND "id" > $6))'
    )
    assert parameters.values == [0, "a", 7, "a", 7, "a1"]
    assert parameters.add(10) == "$7"
    assert view_sql.order_by(FULL_ORDER, _column, view_sql.POSTGRES) == (
        '"word" ASC NULLS FIRST, "number" ASC NULLS FIRST, "flag" DESC NULLS LAST, "id" ASC'
        " NULLS FIRST"
    )


def test_mariadb_bounds_the_first_field_and_compares_no_rows() -> None:
    parameters = view_sql.Parameters(view_sql.MARIADB)

    after = view_sql.after_condition(FULL_ORDER, PLACE, _column, parameters, view_sql.MARIADB)

    assert after == (
        '("word" >= %s AND (("word" > %s) OR ("word" = %s AND "number" > %s)'
        ' OR ("word" = %s AND "number" = %s AND "flag" IS NULL AND "id" > %s)))'
    )
    assert parameters.values == ["a", "a", "a", 7, "a", 7, "a1"]
    assert view_sql.order_by(FULL_ORDER, _column, view_sql.MARIADB) == (
        '"word" ASC, "number" ASC, "flag" DESC, "id" ASC'
    )


def test_an_ascending_place_without_nulls_is_one_row_comparison() -> None:
    parameters = view_sql.Parameters(view_sql.SQLITE)
    full_order = view_rows.ordering(TABLE, [Order("word"), Order("number")])

    after = view_sql.after_condition(
        full_order, ("a", 7, "a1"), _column, parameters, view_sql.SQLITE
    )

    assert after == '("word", "number", "id") > (?, ?, ?)'
    assert parameters.values == ["a", 7, "a1"]


def test_a_descending_first_field_reads_its_nulls_as_a_segment_of_their_own() -> None:
    parameters = view_sql.Parameters(view_sql.SQLITE)
    full_order = view_rows.ordering(TABLE, [Order("number", descending=True)])

    segments = view_sql.after_segments(full_order, (7, "a1"), _column, parameters, view_sql.SQLITE)

    assert [condition for condition, _ in segments] == [
        '("number" <= ? AND ((("number" < ? OR "number" IS NULL)) OR ("number" = ? AND "id" > ?)))',
        '"number" IS NULL',
    ]
    assert [own.values for _, own in segments] == [[7, 7, 7, "a1"], []]
    assert parameters.values == []
