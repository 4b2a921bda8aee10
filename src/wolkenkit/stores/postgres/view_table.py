"""How a declared view table lies in PostgreSQL, and the statements that read and write it.

Each declared table is one physical table: the row's JSON in ``_row`` (field names start with
a letter, so no field can be called that) and the key and every indexed field as a typed
column of the field's own name, the key as primary key and each indexed field with an index.

The row is stored as ``json``, not ``jsonb``: ``json`` keeps the text we wrote, so a row comes
back with its fields in their order and every number exactly as written, while ``jsonb``
reorders keys and parses numbers. Nothing queries inside the JSON; filters and orders use the
typed columns.

Text columns collate as ``"C"`` (by UTF-8 bytes) and orders put nulls first when ascending
(so last when descending), as every backend does.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from typing import Any

from wolkenkit.stores import view_sql
from wolkenkit.stores.postgres.connection import Names, quote
from wolkenkit.stores.view_store import Column, ColumnKind, Order, TableDefinition

#: The column that holds the row's JSON.
ROW = "_row"
#: PostgreSQL cuts identifiers longer than this many bytes, which could make names collide.
MAXIMUM_IDENTIFIER_LENGTH = 63

#: Column kind → (column type, the type information_schema reports for it).
TYPES: dict[ColumnKind, tuple[str, str]] = {
    "text": ('text COLLATE "C"', "text"),
    "integer": ("bigint", "bigint"),
    "real": ("double precision", "double precision"),
    "boolean": ("boolean", "boolean"),
}


def index_name(table: str, column: str) -> str:
    """The index's name, quoted, unique even where the readable one would be too long."""
    return quote(unquoted_index_name(table, column))


def unquoted_index_name(table: str, column: str) -> str:
    name = f"{table}_{column}"
    if len(name.encode()) <= MAXIMUM_IDENTIFIER_LENGTH:
        return name
    digest = hashlib.sha256(name.encode()).hexdigest()[:16]
    return f"{name[:40]}_{digest}"


#: What a primary key's name adds to its table's (for the tables whose key we name: shadows,
#: and the tables they became); no field is called that, as fields start with a letter.
PRIMARY_KEY = "_pkey"


class PhysicalTable:
    """One declared table's statements, built once from its definition and names."""

    def __init__(self, definition: TableDefinition, physical_name: str, names: Names) -> None:
        self.definition = definition
        self.physical_name = physical_name
        self.schema = names.schema
        table = self.table = names.table(physical_name)
        columns = [quote(column.name) for column in definition.columns]
        key = quote(definition.key.name)
        listed = ", ".join([quote(ROW), *columns])
        placeholders = ", ".join(f"${number}" for number in range(1, len(columns) + 2))
        self.insert = f"INSERT INTO {table} ({listed}) VALUES ({placeholders})"
        replaced = ", ".join(f"{name} = excluded.{name}" for name in [quote(ROW), *columns[1:]])
        self.insert_new = f"{self.insert} ON CONFLICT ({key}) DO NOTHING"
        self.upsert = f"{self.insert} ON CONFLICT ({key}) DO UPDATE SET {replaced}"
        self.lock = f"SELECT {quote(ROW)} FROM {table} WHERE {key} = $1 FOR UPDATE"
        # Arguments as the insert takes them: the JSON, the key, the indexed fields.
        assignments = ", ".join(
            [f"{quote(ROW)} = $1"]
            + [f"{name} = ${number}" for number, name in enumerate(columns[1:], 3)]
        )
        self.replace = f"UPDATE {table} SET {assignments} WHERE {key} = $2"
        self.get = f"SELECT {quote(ROW)} FROM {table} WHERE {key} = $1"
        self.delete = f"DELETE FROM {table} WHERE {key} = $1"

    def create_table(self, *, name_the_key: bool = False) -> str:
        """``CREATE TABLE IF NOT EXISTS``; the indexes follow once its columns are checked.
        A shadow names its primary key (``index_names``), so that the key can take its
        table's name for it when the shadow takes the table's place."""
        key = self.definition.key
        constraint = (
            f"CONSTRAINT {index_name(self.physical_name, PRIMARY_KEY)} " if name_the_key else ""
        )
        columns = [
            f"{quote(ROW)} json NOT NULL",
            f"{quote(key.name)} {TYPES[key.kind][0]} {constraint}PRIMARY KEY",
            *(f"{quote(column.name)} {TYPES[column.kind][0]}" for column in self.indexes),
        ]
        return f"CREATE TABLE IF NOT EXISTS {self.table} ({', '.join(columns)})"

    def index_names(self) -> list[str]:
        """The names, unquoted, of the named primary key and the indexes, in one order."""
        return [
            unquoted_index_name(self.physical_name, column)
            for column in (PRIMARY_KEY, *(column.name for column in self.indexes))
        ]

    def create_indexes(self) -> list[str]:
        return [
            f"CREATE INDEX IF NOT EXISTS {index_name(self.physical_name, column.name)}"
            f" ON {self.table} ({quote(column.name)})"
            for column in self.indexes
        ]

    @property
    def indexes(self) -> tuple[Column, ...]:
        return self.definition.indexes

    def expected_columns(self) -> set[tuple[str, str]]:
        """(name, type) of every column, as information_schema reports them."""
        return {(ROW, "json")} | {
            (column.name, TYPES[column.kind][1]) for column in self.definition.columns
        }

    def condition(self, where: Mapping[str, Any]) -> tuple[str, view_sql.Parameters]:
        """``WHERE`` for fields equal to values (``None``: null), with its arguments."""
        parameters = view_sql.Parameters(view_sql.POSTGRES)
        return f" WHERE {view_sql.where_condition(where, quote, parameters)}", parameters

    def delete_where(self, where: Mapping[str, Any]) -> tuple[str, list[Any]]:
        condition, parameters = self.condition(where)
        return f"DELETE FROM {self.table}{condition}", parameters.values

    def count(self, where: Mapping[str, Any]) -> tuple[str, list[Any]]:
        condition, parameters = self.condition(where)
        return f"SELECT count(*) FROM {self.table}{condition}", parameters.values

    def find(
        self,
        where: Mapping[str, Any],
        order: Sequence[Order],
        after: Sequence[Any] | None,
        limit: int | None,
    ) -> tuple[str, list[Any]]:
        """The rows' JSON matching ``where`` in ``order`` (which ends with the key), after
        the ordered values ``after`` of the row a cursor named, at most ``limit`` of them."""
        condition, parameters = self.condition(where)
        statement = f"SELECT {quote(ROW)} FROM {self.table}{condition}"
        if after is not None:
            keyset = view_sql.after_condition(order, after, quote, parameters, view_sql.POSTGRES)
            statement += f" AND {keyset}"
        statement += f" ORDER BY {view_sql.order_by(order, quote, view_sql.POSTGRES)}"
        if limit is not None:
            statement += f" LIMIT {parameters.add(limit)}"
        return statement, parameters.values
