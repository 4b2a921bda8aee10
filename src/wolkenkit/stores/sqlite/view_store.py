"""The SQLite view store: a table per declared table (named ``<tablePrefix><name>``, by
default ``view_<name>``), with the key and each indexed field as a typed column beside the
row's JSON.

SQLite orders as the view store's contract asks without help: integers and reals by value,
booleans stored as 0 and 1, text by the default BINARY collation (its UTF-8 bytes), NULL
first ascending and last descending. Each indexed field has an index on (field, key), so an
order by one field and the key, and a page of it, read the index in order.

Pages follow each other by keyset, never by offset: the next page is what comes after the
last row's ordered values and key (``view_sql.after_segments``).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from wolkenkit import errors
from wolkenkit.stores import view_rows, view_sql
from wolkenkit.stores.sqlite.database import SqliteDatabase, quote, release
from wolkenkit.stores.transactions import SharedDatabase
from wolkenkit.stores.view_store import (
    Page,
    Query,
    Row,
    TableDefinition,
    ViewStore,
    check_not_shadow,
    check_swappable,
    derived_table_name,
    shadow_name,
)

#: The column of the row's JSON; field names start with a letter, so none is called this.
_ROW = '"_row"'

#: How each kind is declared. BOOLEAN has no type of its own in SQLite (it holds 0 and 1),
#: but declaring it lets ``setup`` tell a boolean column from an integer one.
_TYPES = {"text": "TEXT", "integer": "INTEGER", "real": "REAL", "boolean": "BOOLEAN"}


@dataclass(frozen=True)
class _Table:
    """A declared table and the statements on its physical table (built once each)."""

    definition: TableDefinition
    name: str

    @cached_property
    def quoted(self) -> str:
        return quote(self.name)

    @cached_property
    def key(self) -> str:
        return quote(self.definition.key.name)

    def create_table(self, table: str | None = None) -> str:
        """``CREATE TABLE IF NOT EXISTS`` of this table's columns, named ``table`` (a shadow's
        name) or its own."""
        key = self.definition.key
        columns = [f"{quote(key.name)} {_TYPES[key.kind]} NOT NULL PRIMARY KEY"]
        columns += [
            f"{quote(column.name)} {_TYPES[column.kind]}" for column in self.definition.indexes
        ]
        columns.append(f"{_ROW} TEXT NOT NULL")
        return f"CREATE TABLE IF NOT EXISTS {quote(table or self.name)} ({', '.join(columns)})"

    def create_indexes(self, existing: set[str], *, shadow: str | None = None) -> list[str]:
        """The indexes of the indexed fields, on the table or on its ``shadow``.

        Index names are global in SQLite and cannot be changed, and a shadow's indexes go
        with it when it takes the table's place; so each index has two names, and a shadow
        gets the ones the table does not use (``existing`` names what the table has). The
        table's own get the first name, unless it has the index under either."""
        statements = []
        for column in self.definition.indexes:
            first = f"{self.name}.{column.name}"
            second = f"{first}~b"
            if shadow is None:
                if first in existing or second in existing:
                    continue
                name, table = first, self.name
            else:
                name, table = (second if first in existing else first), shadow
            statements.append(
                f"CREATE INDEX IF NOT EXISTS {quote(name)} "
                f"ON {quote(table)} ({quote(column.name)}, {self.key})"
            )
        return statements

    def expected_columns(self) -> list[tuple[str, str]]:
        return [(column.name, _TYPES[column.kind]) for column in self.definition.columns] + [
            ("_row", "TEXT")
        ]

    def values(self, row: Row) -> tuple[Any, ...]:
        """The row's columns, checked: the key, each indexed field (NULL where missing), its
        JSON."""
        text = view_rows.encode_row(self.definition, row)
        return (*view_rows.column_values(self.definition, row).values(), text)

    @cached_property
    def select(self) -> str:
        return f"SELECT {_ROW} FROM {self.quoted} WHERE {self.key} = ?"

    @cached_property
    def update(self) -> str:
        names = [quote(column.name) for column in self.definition.indexes] + [_ROW]
        assignments = ", ".join(f"{name} = ?" for name in names)
        return f"UPDATE {self.quoted} SET {assignments} WHERE {self.key} = ?"

    @cached_property
    def delete(self) -> str:
        return f"DELETE FROM {self.quoted} WHERE {self.key} = ?"

    @cached_property
    def insert(self) -> str:
        """Inserts a new row; changes nothing if the key is taken."""
        return self._insert("DO NOTHING")

    @cached_property
    def upsert(self) -> str:
        names = [quote(column.name) for column in self.definition.indexes] + [_ROW]
        return self._insert(
            "DO UPDATE SET " + ", ".join(f"{name} = excluded.{name}" for name in names)
        )

    def _insert(self, conflict: str) -> str:
        names = [quote(column.name) for column in self.definition.columns] + [_ROW]
        placeholders = ", ".join("?" * len(names))
        return (
            f"INSERT INTO {self.quoted} ({', '.join(names)}) VALUES ({placeholders}) "
            f"ON CONFLICT ({self.key}) {conflict}"
        )


def _indexes(connection: sqlite3.Connection, table: str) -> set[str]:
    """The names of the indexes on ``table``."""
    return {
        name
        for (name,) in connection.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = ?", (table,)
        )
    }


def _exists(connection: sqlite3.Connection, table: str) -> bool:
    found = connection.execute(
        "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
    ).fetchone()
    return found is not None


def _where(table: _Table, where: Mapping[str, Any]) -> tuple[str, view_sql.Parameters]:
    """``where`` as a condition and the parameters it starts a statement with."""
    parameters = view_sql.Parameters(view_sql.SQLITE)
    checked = view_rows.check_where(table.definition, where)
    return view_sql.where_condition(checked, quote, parameters), parameters


class SqliteViewStore(ViewStore):
    """View tables in one SQLite file, each named by ``prefix`` and its declared name."""

    def __init__(self, database: SqliteDatabase, prefix: str) -> None:
        self._db = database
        self._prefix = prefix
        self._tables: dict[str, _Table] = {}
        self._destroyed = False

    async def setup(self, tables: Sequence[TableDefinition]) -> None:
        declared = [_Table(definition, self._prefix + definition.name) for definition in tables]

        def create(connection: sqlite3.Connection) -> None:
            for table in declared:
                existing = [
                    (name, declared_type.upper())
                    for _, name, declared_type, *_ in connection.execute(
                        f"PRAGMA table_info({table.quoted})"
                    )
                ]
                if existing and existing != table.expected_columns():
                    raise errors.StoreError(
                        f"The view table '{table.definition.name}' exists in SQLite as "
                        f"'{table.name}' with other columns."
                    )
                connection.execute(table.create_table())
                for statement in table.create_indexes(_indexes(connection, table.name)):
                    connection.execute(statement)

        await self._db.write(create)
        self._tables.update((table.definition.name, table) for table in declared)

    @property
    def shared_database(self) -> SharedDatabase:
        return self._db

    async def destroy(self) -> None:
        if not self._destroyed:
            self._destroyed = True
            release(self._db)

    async def insert(self, table: str, row: Row) -> None:
        target = self._table(table)
        parameters = target.values(row)
        statement = target.insert
        inserted = await self._db.write(
            lambda connection: connection.execute(statement, parameters).rowcount == 1
        )
        if not inserted:
            raise errors.RowAlreadyExists(
                f"The view table '{table}' already holds a row with key "
                f"{row[target.definition.key.name]!r}."
            )

    async def upsert(self, table: str, row: Row) -> None:
        target = self._table(table)
        parameters = target.values(row)
        statement = target.upsert
        await self._db.write(lambda connection: connection.execute(statement, parameters))

    async def update(self, table: str, key: Any, changes: Mapping[str, Any]) -> Row:
        target = self._table(table)
        view_rows.check_key(target.definition, key)

        def change(connection: sqlite3.Connection) -> Row:
            found = connection.execute(target.select, (key,)).fetchone()
            if found is None:
                raise errors.RowNotFound(f"The view table '{table}' holds no row with key {key!r}.")
            row = view_rows.merge(target.definition, json.loads(found[0]), changes)
            connection.execute(target.update, (*target.values(row)[1:], key))
            return row

        return await self._db.write(change)

    async def delete(self, table: str, key: Any) -> bool:
        target = self._table(table)
        view_rows.check_key(target.definition, key)
        return await self._db.write(
            lambda connection: connection.execute(target.delete, (key,)).rowcount == 1
        )

    async def delete_where(self, table: str, where: Mapping[str, Any]) -> int:
        target = self._table(table)
        condition, parameters = _where(target, where)
        statement = f"DELETE FROM {target.quoted} WHERE {condition}"
        return await self._db.write(
            lambda connection: connection.execute(statement, parameters.values).rowcount
        )

    async def get(self, table: str, key: Any) -> Row | None:
        target = self._table(table)
        view_rows.check_key(target.definition, key)
        rows = await self._db.fetch_all(target.select, (key,))
        return json.loads(rows[0][0]) if rows else None

    async def find(self, table: str, query: Query | None = None) -> Page:
        target = self._table(table)
        query = query or Query()
        view_rows.check_limit(query.limit)
        definition = target.definition
        order = view_rows.ordering(definition, query.order)
        where, where_parameters = _where(target, query.where)
        segments = [("1 = 1", where_parameters)]
        if query.after is not None:
            place = view_rows.decode_cursor(definition, order, query.after)
            segments = view_sql.after_segments(
                order, place, quote, where_parameters, view_sql.SQLITE
            )
        # One more than asked tells whether there is another page.
        wanted = None if query.limit is None else query.limit + 1
        ordered = f"ORDER BY {view_sql.order_by(order, quote, view_sql.SQLITE)}"

        def read(connection: sqlite3.Connection) -> list[Row]:
            # The segments follow each other in the order, read in one snapshot.
            found: list[Row] = []
            for after, after_parameters in segments:
                statement = f"SELECT {_ROW} FROM {target.quoted} WHERE {where} AND {after} "
                parameters = after_parameters.copy()
                if wanted is not None:
                    statement += f"{ordered} LIMIT {parameters.add(wanted - len(found))}"
                else:
                    statement += ordered
                found += [
                    json.loads(text) for (text,) in connection.execute(statement, parameters.values)
                ]
                if wanted is not None and len(found) >= wanted:
                    break
            return found

        found = await self._db.read(read)
        return view_rows.page(definition, order, found, query.limit)

    async def count(self, table: str, where: Mapping[str, Any] | None = None) -> int:
        target = self._table(table)
        condition, parameters = _where(target, where or {})
        rows = await self._db.fetch_all(
            f"SELECT COUNT(*) FROM {target.quoted} WHERE {condition}", tuple(parameters.values)
        )
        count: int = rows[0][0]
        return count

    async def create_shadow(self, table: str) -> str:
        check_not_shadow(table)
        target = self._table(table)
        shadow = _Table(target.definition, derived_table_name(target.name, "shadow"))

        def create(connection: sqlite3.Connection) -> None:
            connection.execute(f"DROP TABLE IF EXISTS {shadow.quoted}")
            connection.execute(target.create_table(shadow.name))
            existing = _indexes(connection, target.name)
            for statement in target.create_indexes(existing, shadow=shadow.name):
                connection.execute(statement)

        await self._db.write(create)
        name = shadow_name(table)
        self._tables[name] = shadow
        return name

    async def swap_shadows(self, tables: Sequence[str]) -> None:
        check_swappable(tables, lambda table: shadow_name(table) in self._tables)
        pairs = [(self._table(table), self._tables[shadow_name(table)]) for table in tables]

        def swap(connection: sqlite3.Connection) -> None:
            # One transaction: readers see every old table or every new one.
            for table, shadow in pairs:
                if not _exists(connection, shadow.name):
                    raise errors.ParameterInvalid(
                        f"The shadow of view table '{table.definition.name}' is gone."
                    )
                connection.execute(f"DROP TABLE {table.quoted}")
                connection.execute(f"ALTER TABLE {shadow.quoted} RENAME TO {table.quoted}")

        await self._db.write(swap)
        for table in tables:
            del self._tables[shadow_name(table)]

    async def drop_shadow(self, table: str) -> None:
        check_not_shadow(table)
        shadow = derived_table_name(self._table(table).name, "shadow")
        await self._db.write(
            lambda connection: connection.execute(f"DROP TABLE IF EXISTS {quote(shadow)}")
        )
        self._tables.pop(shadow_name(table), None)

    def _table(self, name: str) -> _Table:
        table = self._tables.get(name)
        if table is None:
            raise errors.ParameterInvalid(f"The view table '{name}' is not set up.")
        return table
