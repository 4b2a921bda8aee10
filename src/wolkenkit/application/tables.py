"""View tables as an app declares and uses them: rows of a pydantic model, found by key and by
indexed fields, over the view store (``wolkenkit.stores.view_store``)::

    class Message(BaseModel):
        id: str
        text: str
        timestamp: int
        likes: int = 0

    messages = Table(Message, key="id", indexes=("timestamp",))

    rows = Rows(view_store, "messages", messages)
    await rows.insert(Message(id="a", text="Hello", timestamp=1))
    await rows.update("a", likes=1)
    newest, cursor = await rows.page(order_by=("-timestamp",), limit=50)
    async for message in rows.find(where={"timestamp": 1}):
        ...

The key and each indexed field must be ``str``, ``int``, ``float`` or ``bool`` (indexed fields
may also be optional); the store keeps them as typed columns, and the whole row as its JSON.
"""

from __future__ import annotations

import types
import typing
from collections.abc import AsyncIterator, Mapping, Sequence
from functools import cached_property
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, TypeAdapter, ValidationError

from wolkenkit._pydantic import validated_by_name
from wolkenkit.errors import ParameterInvalid, StoreError, TableDefinitionMalformed
from wolkenkit.serialization import json_object
from wolkenkit.stores.view_store import (
    Column,
    ColumnKind,
    Order,
    Query,
    Row,
    TableDefinition,
    ViewStore,
)

RowT = TypeVar("RowT", bound=BaseModel)

_KINDS: dict[Any, ColumnKind] = {str: "text", int: "integer", float: "real", bool: "boolean"}


class Table(Generic[RowT]):
    """A view table: rows of a model, found by key and by indexed fields.

    messages = Table(Message, key="id", indexes=("timestamp",))
    """

    def __init__(self, model: type[RowT], *, key: str, indexes: Sequence[str] = ()) -> None:
        self.model = model
        self.key = key
        self.indexes = tuple(indexes)

    def definition(self, name: str) -> TableDefinition:
        """The table as the store sees it, under ``name``; raises ``TableDefinitionMalformed``
        for a key or index the model cannot give a column."""
        key, indexes = self._columns
        try:
            return TableDefinition(name, key=key, indexes=indexes)
        except ParameterInvalid as error:
            raise TableDefinitionMalformed(
                f"Table of model '{self.model.__name__}': {error.message}"
            ) from error

    @cached_property
    def _columns(self) -> tuple[Column, tuple[Column, ...]]:
        key = self._column(self.key, optional_allowed=False)
        return key, tuple(self._column(name, optional_allowed=True) for name in self.indexes)

    def _column(self, name: str, *, optional_allowed: bool) -> Column:
        model = self.model.__name__
        info = self.model.model_fields.get(name)
        if info is None:
            raise TableDefinitionMalformed(f"Model '{model}' has no field '{name}'.")
        annotation, optional = _unwrap_optional(info.annotation)
        if optional and not optional_allowed:
            raise TableDefinitionMalformed(
                f"Field '{name}' of model '{model}' is the key, which cannot be optional."
            )
        kind = _KINDS.get(annotation)
        if kind is None:
            raise TableDefinitionMalformed(
                f"Field '{name}' of model '{model}' is of type {_type_name(info.annotation)}; "
                "a key or indexed field must be str, int, float or bool."
            )
        try:
            return Column(name, kind)
        except ParameterInvalid as error:
            raise TableDefinitionMalformed(f"Model '{model}': {error.message}") from error

    @cached_property
    def _fields(self) -> dict[str, TypeAdapter[Any]]:
        """One validator per field, with its constraints, for the changes of an update."""
        adapters: dict[str, TypeAdapter[Any]] = {}
        for name, info in self.model.model_fields.items():
            field_type: Any = Annotated[info.annotation, info]
            adapters[name] = TypeAdapter(field_type)
        return adapters

    def changes(self, table: str, changes: Mapping[str, Any]) -> dict[str, Any]:
        """``changes`` validated against the fields they name, as JSON; raises
        ``ParameterInvalid`` for an unknown field or a value that does not fit its field."""
        fields = self._fields
        encoded: dict[str, Any] = {}
        for name, value in changes.items():
            adapter = fields.get(name)
            if adapter is None:
                raise ParameterInvalid(
                    f"Table '{table}' has no field '{name}' (model '{self.model.__name__}')."
                )
            try:
                encoded[name] = adapter.dump_python(adapter.validate_python(value), mode="json")
            except ValidationError as error:
                raise ParameterInvalid(
                    f"Field '{name}' of table '{table}' does not take {value!r}: "
                    f"{_first_problem(error)}"
                ) from error
        return encoded


class Rows(Generic[RowT]):
    """Typed access to one table's rows in the view store, as handlers will get it."""

    def __init__(self, store: ViewStore, name: str, table: Table[RowT]) -> None:
        self._store = store
        self._name = name
        self._table = table

    async def insert(self, row: RowT) -> None:
        """Add ``row``; raises ``RowAlreadyExists`` if its key is taken."""
        await self._store.insert(self._name, json_object(row))

    async def upsert(self, row: RowT) -> None:
        """Add ``row``, or replace the row with its key."""
        await self._store.upsert(self._name, json_object(row))

    async def update(self, key: Any, **changes: Any) -> RowT:
        """Set the fields of ``changes`` (validated against the model) in the row with ``key``
        and return the row as it is now; raises ``RowNotFound``."""
        encoded = self._table.changes(self._name, changes)
        return self._row(await self._store.update(self._name, key, encoded))

    async def delete(self, key: Any) -> bool:
        """Remove the row with ``key``; whether there was one."""
        return await self._store.delete(self._name, key)

    async def delete_where(self, **where: Any) -> int:
        """Remove every row whose indexed fields equal ``where``; how many were removed."""
        return await self._store.delete_where(self._name, where)

    async def get(self, key: Any) -> RowT | None:
        """The row with ``key``, or ``None``."""
        row = await self._store.get(self._name, key)
        return None if row is None else self._row(row)

    async def count(self, **where: Any) -> int:
        """How many rows' indexed fields equal ``where`` (all rows without it)."""
        return await self._store.count(self._name, where)

    async def page(
        self,
        *,
        where: Mapping[str, Any] | None = None,
        order_by: Sequence[str] = (),
        limit: int,
        after: str | None = None,
    ) -> tuple[list[RowT], str | None]:
        """At most ``limit`` rows whose indexed fields equal ``where``, ordered by the fields
        of ``order_by`` (``"-field"`` for descending; the key breaks ties), after the place
        the cursor ``after`` names; and the cursor for the rows after them (``None`` when
        there are none)."""
        query = Query(where=where or {}, order=_order(order_by), limit=limit, after=after)
        found = await self._store.find(self._name, query)
        return [self._row(row) for row in found.rows], found.cursor

    async def find(
        self,
        *,
        where: Mapping[str, Any] | None = None,
        order_by: Sequence[str] = (),
        page_size: int = 500,
    ) -> AsyncIterator[RowT]:
        """Every row whose indexed fields equal ``where``, in the order of ``order_by``,
        read ``page_size`` rows at a time."""
        after: str | None = None
        while True:
            rows, after = await self.page(
                where=where, order_by=order_by, limit=page_size, after=after
            )
            for row in rows:
                yield row
            if after is None:
                return

    def _row(self, row: Row) -> RowT:
        try:
            # Rows are stored under field names (the key and indexes are field names too),
            # so a model with aliases reads them by name.
            return validated_by_name(self._table.model, row)
        except ValidationError as error:
            key = row.get(self._table.key)
            raise StoreError(
                f"Row {key!r} of table '{self._name}' no longer fits model "
                f"'{self._table.model.__name__}': {_first_problem(error)}"
            ) from error


class Tables:
    """An app's tables over one view store: what handlers get their ``Rows`` from.

    Built once per store; ``rows(Message)`` is a dict lookup, since a handler names its table
    by the table's model (an app declares at most one table per model).
    """

    def __init__(
        self,
        store: ViewStore,
        tables: Mapping[str, Table[Any]],
        stored_as: Mapping[str, str] | None = None,
    ) -> None:
        """``stored_as`` names, for some tables, the store's name to read and write instead
        of the table's own (a shadow's)."""
        self.store = store
        self.definitions = tuple(table.definition(name) for name, table in tables.items())
        self._tables = dict(tables)
        names = stored_as or {}
        self._rows: dict[type[BaseModel], Rows[Any]] = {
            table.model: Rows(store, names.get(name, name), table) for name, table in tables.items()
        }

    async def setup(self) -> None:
        """Create the tables in the store where missing."""
        await self.store.setup(self.definitions)

    async def destroy(self) -> None:
        """Close the store, as the runtime closes its other stores."""
        await self.store.destroy()

    def in_shadows(self, shadows: Mapping[str, str]) -> Tables:
        """The tables of ``shadows`` alone, as a rebuild writes them: each in its shadow
        (``shadows`` maps a table's name to the store's name of its shadow)."""
        return Tables(self.store, {name: self._tables[name] for name in shadows}, stored_as=shadows)

    def rows(self, model: type[RowT]) -> Rows[RowT]:
        """The rows of the table of ``model``; raises ``KeyError`` for a model without one
        (the loader has checked that every handler's model has one)."""
        rows: Rows[RowT] = self._rows[model]
        return rows


def _order(order_by: Sequence[str]) -> tuple[Order, ...]:
    return tuple(
        Order(entry[1:], descending=True) if entry.startswith("-") else Order(entry)
        for entry in order_by
    )


def _unwrap_optional(annotation: Any) -> tuple[Any, bool]:
    """``(X, True)`` for ``X | None`` or ``Optional[X]``, else ``(annotation, False)``."""
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        members = [arg for arg in typing.get_args(annotation) if arg is not type(None)]
        if len(members) == 1 and len(members) < len(typing.get_args(annotation)):
            return members[0], True
    return annotation, False


def _type_name(annotation: Any) -> str:
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        return " | ".join(_type_name(member) for member in typing.get_args(annotation))
    if isinstance(annotation, type):
        return "None" if annotation is type(None) else annotation.__name__
    return repr(annotation).replace("typing.", "")


def _first_problem(error: ValidationError) -> str:
    """The first of pydantic's complaints, on one line."""
    problem = error.errors(include_url=False)[0]
    where = ".".join(str(part) for part in problem["loc"])
    return f"{where}: {problem['msg']}" if where else str(problem["msg"])
