"""The PostgreSQL view store: one table per declared table, named from ``tablePrefix``.

Pages follow the keyset: a cursor holds the last row's ordered values, and the next page is
the rows after them in the order (see ``view_table``), never an offset, so a page costs the
same however deep it lies and rows written meanwhile neither repeat nor go missing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Annotated, Any

import asyncpg
from pydantic import Field

from wolkenkit.errors import ParameterInvalid, RowAlreadyExists, RowNotFound, StoreError
from wolkenkit.stores import table_names, view_rows
from wolkenkit.stores.postgres.connection import (
    DriverErrors,
    Names,
    PostgresOptions,
    quote,
    set_up,
)
from wolkenkit.stores.postgres.pool import ConnectionPool
from wolkenkit.stores.postgres.transactions import PostgresDatabase
from wolkenkit.stores.postgres.view_table import MAXIMUM_IDENTIFIER_LENGTH, PhysicalTable
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

STORE = "PostgreSQL view store"


#: Letters, digits and _ only, and short enough that prefix and the longest table name
#: (48 characters) stay within PostgreSQL's 63 bytes.
TablePrefix = Annotated[str, Field(pattern=r"^[A-Za-z0-9_]{0,15}$")]


class ViewStoreOptions(PostgresOptions, table_names.ViewTablePrefix[TablePrefix]):
    """The connection, and ``tablePrefix`` before every view table's name."""


class PostgresViewStore(ViewStore):
    """View tables in PostgreSQL; ``setup()`` names the tables the other operations use."""

    def __init__(self, pool: ConnectionPool, options: ViewStoreOptions) -> None:
        self._pool = pool
        self._database = PostgresDatabase(pool, options, STORE)
        self._errors = DriverErrors(STORE)
        self._names = Names(options.schema_name)
        self._prefix = options.table_prefix
        self._tables: dict[str, PhysicalTable] = {}

    async def setup(self, tables: Sequence[TableDefinition]) -> None:
        physical = [
            PhysicalTable(definition, self._prefix + definition.name, self._names)
            for definition in tables
        ]
        await set_up(
            self._pool,
            self._names,
            [table.create_table() for table in physical],
            STORE,
            finish=lambda connection: self._check_and_index(connection, physical),
        )
        self._tables.update((table.definition.name, table) for table in physical)

    async def _check_and_index(
        self, connection: asyncpg.Connection, tables: Sequence[PhysicalTable]
    ) -> None:
        # CREATE TABLE IF NOT EXISTS leaves a table that exists alone, whatever its columns.
        for table in tables:
            rows = await connection.fetch(
                "SELECT column_name, data_type FROM information_schema.columns"
                " WHERE table_schema = coalesce($1, current_schema()) AND table_name = $2",
                table.schema,
                table.physical_name,
            )
            if {(row[0], row[1]) for row in rows} != table.expected_columns():
                raise StoreError(
                    f"The {STORE} finds table '{table.definition.name}' "
                    f"({table.physical_name}) with other columns than it declares."
                )
            for statement in table.create_indexes():
                await connection.execute(statement)

    async def destroy(self) -> None:
        await self._pool.close()

    @property
    def shared_database(self) -> SharedDatabase:
        return self._database

    async def create_shadow(self, table: str) -> str:
        check_not_shadow(table)
        physical = self._table(table)
        shadow = self._shadow_of(physical)
        with self._driver_errors():
            async with self._pool.acquire() as connection, connection.transaction():
                await connection.execute(f"DROP TABLE IF EXISTS {shadow.table}")
                await connection.execute(shadow.create_table(name_the_key=True))
                for statement in shadow.create_indexes():
                    await connection.execute(statement)
        name = shadow_name(table)
        self._tables[name] = shadow
        return name

    async def swap_shadows(self, tables: Sequence[str]) -> None:
        check_swappable(tables, lambda table: shadow_name(table) in self._tables)
        pairs = [(self._table(table), self._tables[shadow_name(table)]) for table in tables]
        with self._driver_errors():
            async with self._pool.acquire() as connection, connection.transaction():
                # One transaction: readers wait for it (dropping takes the table's lock)
                # and then see every new table, or they saw every old one.
                for physical, shadow in pairs:
                    if await connection.fetchval("SELECT to_regclass($1)", shadow.table) is None:
                        raise ParameterInvalid(
                            f"The shadow of table '{physical.definition.name}' is gone."
                        )
                    await connection.execute(f"DROP TABLE {physical.table}")
                    await connection.execute(
                        f"ALTER TABLE {shadow.table} RENAME TO {quote(physical.physical_name)}"
                    )
                    # Index names are the schema's: the shadow's take the old table's, free
                    # now, so the next shadow can have its own again.
                    for old, new in zip(shadow.index_names(), physical.index_names(), strict=True):
                        await connection.execute(
                            f"ALTER INDEX {self._names.table(old)} RENAME TO {quote(new)}"
                        )
        for table in tables:
            del self._tables[shadow_name(table)]

    async def drop_shadow(self, table: str) -> None:
        check_not_shadow(table)
        shadow = self._shadow_of(self._table(table))
        with self._driver_errors():
            await self._pool.execute(f"DROP TABLE IF EXISTS {shadow.table}")
        self._tables.pop(shadow_name(table), None)

    def _shadow_of(self, physical: PhysicalTable) -> PhysicalTable:
        name = derived_table_name(physical.physical_name, "shadow", MAXIMUM_IDENTIFIER_LENGTH)
        return PhysicalTable(physical.definition, name, self._names)

    def _table(self, name: str) -> PhysicalTable:
        table = self._tables.get(name)
        if table is None:
            raise ParameterInvalid(f"Table '{name}' is unknown; set it up first.")
        return table

    async def insert(self, table: str, row: Row) -> None:
        physical = self._table(table)
        arguments = _arguments(physical.definition, row)
        # A taken key is no error to PostgreSQL, which would abort a unit of work with it.
        with self._driver_errors():
            status = await self._database.execute(physical.insert_new, *arguments)
        if _affected(status) == 0:
            raise RowAlreadyExists(
                f"Table '{table}' already holds a row with key {arguments[1]!r}."
            )

    async def upsert(self, table: str, row: Row) -> None:
        physical = self._table(table)
        arguments = _arguments(physical.definition, row)
        with self._driver_errors():
            await self._database.execute(physical.upsert, *arguments)

    async def update(self, table: str, key: Any, changes: Mapping[str, Any]) -> Row:
        physical = self._table(table)
        definition = physical.definition
        view_rows.check_key(definition, key)
        with self._driver_errors():
            async with self._database.connection() as connection:
                # The row stays locked until the merged one replaces it, so concurrent
                # updates of different fields both count.
                text = await connection.fetchval(physical.lock, key)
                if text is None:
                    raise RowNotFound(f"Table '{table}' holds no row with key {key!r}.")
                merged = view_rows.merge(definition, json.loads(text), changes)
                await connection.execute(physical.replace, *_arguments(definition, merged))
        return merged

    async def delete(self, table: str, key: Any) -> bool:
        physical = self._table(table)
        view_rows.check_key(physical.definition, key)
        with self._driver_errors():
            status = await self._database.execute(physical.delete, key)
        return _affected(status) > 0

    async def delete_where(self, table: str, where: Mapping[str, Any]) -> int:
        physical = self._table(table)
        statement, arguments = physical.delete_where(
            view_rows.check_where(physical.definition, where)
        )
        with self._driver_errors():
            status = await self._database.execute(statement, *arguments)
        return _affected(status)

    async def get(self, table: str, key: Any) -> Row | None:
        physical = self._table(table)
        view_rows.check_key(physical.definition, key)
        with self._driver_errors():
            text = await self._database.fetchval(physical.get, key)
        return None if text is None else _row(text)

    async def find(self, table: str, query: Query | None = None) -> Page:
        physical = self._table(table)
        definition = physical.definition
        query = query or Query()
        where = view_rows.check_where(definition, query.where)
        order = view_rows.ordering(definition, query.order)
        view_rows.check_limit(query.limit)
        after = (
            None if query.after is None else view_rows.decode_cursor(definition, order, query.after)
        )
        # One row more than asked tells whether there is a next page.
        limit = None if query.limit is None else query.limit + 1
        statement, arguments = physical.find(where, order, after, limit)
        with self._driver_errors():
            records = await self._database.fetch(statement, *arguments)
        rows = [_row(record[0]) for record in records]
        return view_rows.page(definition, order, rows, query.limit)

    async def count(self, table: str, where: Mapping[str, Any] | None = None) -> int:
        physical = self._table(table)
        statement, arguments = physical.count(view_rows.check_where(physical.definition, where))
        with self._driver_errors():
            counted: int = await self._database.fetchval(statement, *arguments)
        return counted

    @contextmanager
    def _driver_errors(self) -> Iterator[None]:
        """Driver errors as ours; text PostgreSQL cannot hold is the caller's mistake."""
        try:
            with self._errors:
                yield
        except StoreError as error:
            if isinstance(error.__cause__, asyncpg.CharacterNotInRepertoireError):
                raise ParameterInvalid(
                    f"A text value cannot be stored in PostgreSQL: {error.__cause__}."
                ) from None
            raise


def _arguments(definition: TableDefinition, row: Row) -> list[Any]:
    """The row's JSON and its column values, as the insert and replace statements take them."""
    text = view_rows.encode_row(definition, row)
    return [text, *view_rows.column_values(definition, row).values()]


def _row(text: str) -> Row:
    row: Row = json.loads(text)
    return row


def _affected(status: str) -> int:
    # A command's status is its tag and the number of rows, as in "DELETE 3".
    return int(status.rsplit(" ", 1)[-1])
