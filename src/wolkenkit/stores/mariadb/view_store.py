"""The MariaDB/MySQL view store: one InnoDB table per declared table.

A table keeps its key as the primary key, each indexed field as a typed column, and the row as
the JSON text the caller gave. Each indexed field has two indexes, ``(field, key)`` and
``(field DESC, key)``, so that pages in either direction of the field, with the key ascending
as the tie-breaker, are read from an index instead of sorted (MariaDB does not order by the
primary key InnoDB appends to a secondary index; before 10.8 it ignores ``DESC``).

Text columns are ``VARBINARY`` holding UTF-8: the ``_bin`` collations of ``VARCHAR`` pad with
spaces (``'a' = 'a '``, and ``'a\t'`` sorts before ``'a'``), the no-pad ones differ between
MariaDB and MySQL, and bytes order exactly as the store promises. An index key holds at most
3072 bytes, shared by the field and the key, so a text key holds at most 1024 bytes and an
indexed text field 2048; longer values are refused.

MariaDB already sorts as the store promises: NULL first ascending and last descending, false
before true. The conditions, orders and keyset conditions are ``view_sql``'s, in the MariaDB
dialect: no row comparisons (its optimizer does not seek an index for them) and a lone range
bound on the first field ahead of the expanded keyset condition, so an index is read instead
of every later row sorted.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from asyncmy.errors import MySQLError

from wolkenkit.errors import ParameterInvalid, RowAlreadyExists, RowNotFound, StoreError
from wolkenkit.stores import view_rows, view_sql
from wolkenkit.stores.mariadb.database import Database, Statement, duplicate_key, quote
from wolkenkit.stores.mariadb.options import MAX_NAME_LENGTH
from wolkenkit.stores.transactions import SharedDatabase
from wolkenkit.stores.view_store import (
    Column,
    ColumnKind,
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

#: The longest text a key or an indexed field holds, in UTF-8 bytes; together they fit the
#: longest index key InnoDB allows (3072 bytes).
MAX_KEY_BYTES = 1024
MAX_FIELD_BYTES = 2048
#: The column of the row's JSON; field names start with a letter, so it cannot clash.
_ROW = "`_row`"

_BEGIN: Statement = ("START TRANSACTION", ())
_COMMIT: Statement = ("COMMIT", ())

_TYPES: dict[ColumnKind, str] = {
    "text": f"VARBINARY({MAX_FIELD_BYTES})",
    "integer": "BIGINT",
    "real": "DOUBLE",
    "boolean": "BOOLEAN",
}
#: How information_schema names the types above.
_DATA_TYPES: dict[ColumnKind, str] = {
    "text": "varbinary",
    "integer": "bigint",
    "real": "double",
    "boolean": "tinyint",
}


def _parameter(table: str, column: Column, value: Any, limit: int) -> Any:
    """A checked value of ``column`` as the parameter its SQL column takes."""
    view_rows.check_value(table, column, value)
    if column.kind == "text" and isinstance(value, str):
        encoded = value.encode()
        if len(encoded) > limit:
            raise ParameterInvalid(
                f"Field '{column.name}' of table '{table}' holds more than {limit} bytes of "
                "text, more than the MariaDB view store can index."
            )
        return encoded
    if column.kind == "real" and value is not None:
        return float(value)
    return value


class _Table:
    """A declared table's physical name and the SQL of its columns."""

    def __init__(self, definition: TableDefinition, name: str) -> None:
        self.definition = definition
        self.name = name
        if len(self.name) > MAX_NAME_LENGTH:
            raise ParameterInvalid(
                f"Table name '{self.name}' is longer than {MAX_NAME_LENGTH} characters."
            )
        self.sql = quote(self.name)
        self.key = quote(definition.key.name)
        self.columns = [quote(column.name) for column in definition.columns]
        names = ", ".join([*self.columns, _ROW])
        placeholders = ", ".join(["%s"] * (len(self.columns) + 1))
        changed = [*self.columns[1:], _ROW]
        self.insert = f"INSERT INTO {self.sql} ({names}) VALUES ({placeholders})"
        self.upsert = f"{self.insert} ON DUPLICATE KEY UPDATE " + ", ".join(
            f"{column} = VALUES({column})" for column in changed
        )
        self.update = (
            f"UPDATE {self.sql} SET {', '.join(f'{column} = %s' for column in changed)} "
            f"WHERE {self.key} = %s"
        )
        self.select_row = f"SELECT {_ROW} FROM {self.sql} WHERE {self.key} = %s"

    def schema(self) -> str:
        definition = self.definition
        key_type = (
            f"VARBINARY({MAX_KEY_BYTES})"
            if definition.key.kind == "text"
            else _TYPES[definition.key.kind]
        )
        columns = [
            f"{self.key} {key_type} NOT NULL PRIMARY KEY",
            *(f"{quote(column.name)} {_TYPES[column.kind]} NULL" for column in definition.indexes),
            f"{_ROW} LONGTEXT CHARACTER SET utf8mb4 COLLATE utf8mb4_bin NOT NULL",
            *(
                f"KEY {quote(prefix + column.name)} ({quote(column.name)}{direction}, {self.key})"
                for column in definition.indexes
                for prefix, direction in (("i_", ""), ("d_", " DESC"))
            ),
        ]
        return f"CREATE TABLE IF NOT EXISTS {self.sql} ({', '.join(columns)}) ENGINE=InnoDB"

    def expected_columns(self) -> list[tuple[str, str]]:
        return [
            *((column.name, _DATA_TYPES[column.kind]) for column in self.definition.columns),
            ("_row", "longtext"),
        ]

    def parameter(self, name: str, value: Any) -> Any:
        column = self.definition.column(name)
        limit = MAX_KEY_BYTES if column == self.definition.key else MAX_FIELD_BYTES
        return _parameter(self.definition.name, column, value, limit)

    def values(self, row: Row) -> list[Any]:
        """The parameters of an INSERT: the key, the indexed fields, the JSON."""
        text = view_rows.encode_row(self.definition, row)
        return [
            *(
                self.parameter(column.name, row.get(column.name))
                for column in self.definition.columns
            ),
            text,
        ]

    def where(self, where: Mapping[str, Any] | None) -> tuple[str, view_sql.Parameters]:
        """The condition of ``where`` and the parameters it starts a statement with."""
        checked = view_rows.check_where(self.definition, where)
        converted = {name: self.parameter(name, value) for name, value in checked.items()}
        parameters = view_sql.Parameters(view_sql.MARIADB)
        return view_sql.where_condition(converted, quote, parameters), parameters


class MariaDbViewStore(ViewStore):
    """View tables named ``<tablePrefix><table>``; ``destroy`` closes the connections."""

    def __init__(self, database: Database, table_prefix: str) -> None:
        self._database = database
        self._prefix = table_prefix
        self._tables: dict[str, _Table] = {}

    async def setup(self, tables: Sequence[TableDefinition]) -> None:
        physical = [_Table(definition, self._prefix + definition.name) for definition in tables]
        # CREATE TABLE IF NOT EXISTS is atomic on the server, so concurrent setups agree.
        await self._database.create([table.schema() for table in physical])
        for table in physical:
            await self._check_columns(table)
            self._tables[table.definition.name] = table

    async def _check_columns(self, table: _Table) -> None:
        rows = await self._database.fetch_all(
            "SELECT COLUMN_NAME, DATA_TYPE FROM information_schema.COLUMNS "
            "WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION",
            (table.name,),
        )
        found = [(str(name), str(data_type).lower()) for name, data_type in rows]
        if found != table.expected_columns():
            raise StoreError(
                f"The {self._database.store}'s table '{table.name}' exists with other columns."
            )

    async def destroy(self) -> None:
        await self._database.close()

    @property
    def shared_database(self) -> SharedDatabase:
        return self._database

    async def create_shadow(self, table: str) -> str:
        check_not_shadow(table)
        physical = self._table(table)
        shadow = _Table(physical.definition, _derived(physical, "shadow"))
        # Index names are the table's own in MariaDB, so the shadow's are the table's.
        await self._database.create(
            [
                f"DROP TABLE IF EXISTS {shadow.sql}, {quote(_derived(physical, 'old'))}",
                shadow.schema(),
            ]
        )
        name = shadow_name(table)
        self._tables[name] = shadow
        return name

    async def swap_shadows(self, tables: Sequence[str]) -> None:
        check_swappable(tables, lambda table: shadow_name(table) in self._tables)
        pairs = [(self._table(table), self._tables[shadow_name(table)]) for table in tables]
        missing = await self._database.fetch_all(
            "SELECT TABLE_NAME FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() "
            f"AND TABLE_NAME IN ({', '.join(['%s'] * len(pairs))})",
            [shadow.name for _, shadow in pairs],
        )
        found = {str(name) for (name,) in missing}
        for physical, shadow in pairs:
            if shadow.name not in found:
                raise ParameterInvalid(f"The shadow of table '{physical.definition.name}' is gone.")
        old = [quote(_derived(physical, "old")) for physical, _ in pairs]
        # One RENAME TABLE is atomic: readers see every old table or every new one.
        renames = ", ".join(
            f"{physical.sql} TO {retired}, {shadow.sql} TO {physical.sql}"
            for (physical, shadow), retired in zip(pairs, old, strict=True)
        )
        await self._database.create([f"RENAME TABLE {renames}", f"DROP TABLE {', '.join(old)}"])
        for table in tables:
            del self._tables[shadow_name(table)]

    async def drop_shadow(self, table: str) -> None:
        check_not_shadow(table)
        shadow = _derived(self._table(table), "shadow")
        await self._database.execute(f"DROP TABLE IF EXISTS {quote(shadow)}")
        self._tables.pop(shadow_name(table), None)

    def _table(self, name: str) -> _Table:
        table = self._tables.get(name)
        if table is None:
            raise ParameterInvalid(f"Table '{name}' is unknown to the view store.")
        return table

    async def insert(self, table: str, row: Row) -> None:
        physical = self._table(table)
        values = physical.values(row)
        async with self._database.session() as session:
            try:
                await session.execute(physical.insert, values)
            except MySQLError as error:
                if duplicate_key(error) == "PRIMARY":
                    raise RowAlreadyExists(
                        f"Table '{table}' already holds a row with key "
                        f"{row[physical.definition.key.name]!r}."
                    ) from None
                raise

    async def upsert(self, table: str, row: Row) -> None:
        physical = self._table(table)
        await self._database.execute(physical.upsert, physical.values(row))

    async def update(self, table: str, key: Any, changes: Mapping[str, Any]) -> Row:
        physical = self._table(table)
        key_parameter = physical.parameter(physical.definition.key.name, key)
        async with self._database.session() as session:
            # Inside a unit of work, the unit's transaction holds the lock until it commits.
            begin, commit = ((), ()) if session.in_unit else ((_BEGIN,), (_COMMIT,))
            results = await session.script(
                *begin, (f"{physical.select_row} FOR UPDATE", (key_parameter,))
            )
            if not results[-1]:
                raise RowNotFound(f"Table '{table}' holds no row with key {key!r}.")
            row = view_rows.merge(physical.definition, _row(results[-1][0][0]), changes)
            values = physical.values(row)
            await session.script((physical.update, [*values[1:], key_parameter]), *commit)
        return row

    async def delete(self, table: str, key: Any) -> bool:
        physical = self._table(table)
        deleted = await self._database.execute(
            f"DELETE FROM {physical.sql} WHERE {physical.key} = %s",
            (physical.parameter(physical.definition.key.name, key),),
        )
        return deleted > 0

    async def delete_where(self, table: str, where: Mapping[str, Any]) -> int:
        physical = self._table(table)
        condition, parameters = physical.where(where)
        return await self._database.execute(
            f"DELETE FROM {physical.sql} WHERE {condition}", parameters.values
        )

    async def get(self, table: str, key: Any) -> Row | None:
        physical = self._table(table)
        found = await self._database.fetch_one(
            physical.select_row, (physical.parameter(physical.definition.key.name, key),)
        )
        return None if found is None else _row(found[0])

    async def count(self, table: str, where: Mapping[str, Any] | None = None) -> int:
        physical = self._table(table)
        condition, parameters = physical.where(where)
        found = await self._database.fetch_one(
            f"SELECT COUNT(*) FROM {physical.sql} WHERE {condition}", parameters.values
        )
        return int(found[0]) if found is not None else 0

    async def find(self, table: str, query: Query | None = None) -> Page:
        physical = self._table(table)
        definition = physical.definition
        query = query or Query()
        view_rows.check_limit(query.limit)
        order = view_rows.ordering(definition, query.order)
        condition, parameters = physical.where(query.where)
        if query.after is not None:
            place = view_rows.decode_cursor(definition, order, query.after)
            values = [
                physical.parameter(term.field, value)
                for term, value in zip(order, place, strict=True)
            ]
            keyset = view_sql.after_condition(order, values, quote, parameters, view_sql.MARIADB)
            condition += f" AND {keyset}"
        sql = (
            f"SELECT {_ROW} FROM {physical.sql} WHERE {condition} "
            f"ORDER BY {view_sql.order_by(order, quote, view_sql.MARIADB)}"
        )
        if query.limit is not None:
            # One more than asked tells whether there is a next page.
            sql += f" LIMIT {parameters.add(query.limit + 1)}"
        rows = [_row(text) for (text,) in await self._database.fetch_all(sql, parameters.values)]
        return view_rows.page(definition, order, rows, query.limit)


def _derived(physical: _Table, role: str) -> str:
    return derived_table_name(physical.name, role, MAX_NAME_LENGTH)


def _row(text: Any) -> Row:
    row: Row = json.loads(text)
    return row
