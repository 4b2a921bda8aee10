"""The view store: the typed tables of an app's read models, which flows write and queries read.

A table holds rows, each a JSON object with a key field. Besides its key, a table declares the
fields queries filter and order on (its indexes); a backend stores those as typed columns
beside the row's JSON, so that it can filter and order in the database. Everything else is in
the JSON only. Backends keep one physical table per declared table.

Ordering is the same on every backend: integers and reals by value, booleans false first, text
by its UTF-8 bytes (binary collation: ``"B" < "a"``), and the key always comes last, so an
order is total and a cursor names one place in it.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from wolkenkit import errors

#: The JSON object a row is. Its key field and its indexed fields are among its fields.
Row = dict[str, Any]

#: How an indexed field (or the key) is stored and ordered.
ColumnKind = Literal["text", "integer", "real", "boolean"]

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,47}$")


@dataclass(frozen=True)
class Column:
    """A field stored as a column of its own: the key, or a field that queries use."""

    name: str
    kind: ColumnKind

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise errors.ParameterInvalid(f"Column name '{self.name}' is invalid.")


@dataclass(frozen=True)
class TableDefinition:
    """A table as the store sees it: its name, its key and its indexed fields.

    Names have letters, digits and ``_`` only, start with a letter, and are at most 48
    characters long, so every backend can use them in identifiers.
    """

    name: str
    key: Column
    indexes: tuple[Column, ...] = ()

    def __post_init__(self) -> None:
        if not _NAME.match(self.name):
            raise errors.ParameterInvalid(f"Table name '{self.name}' is invalid.")
        names = [self.key.name, *(column.name for column in self.indexes)]
        if len(set(names)) != len(names):
            raise errors.ParameterInvalid(f"Table '{self.name}' names a column twice.")

    @property
    def columns(self) -> tuple[Column, ...]:
        """The key first, then the indexed fields."""
        return (self.key, *self.indexes)

    def column(self, name: str) -> Column:
        """The key or indexed field ``name``; raises ``ParameterInvalid`` for any other field,
        which a query cannot use."""
        for column in self.columns:
            if column.name == name:
                return column
        raise errors.ParameterInvalid(
            f"Field '{name}' of table '{self.name}' is neither its key nor indexed."
        )


@dataclass(frozen=True)
class Order:
    """Order by ``field`` (the key or an indexed field), ascending unless ``descending``."""

    field: str
    descending: bool = False


@dataclass(frozen=True)
class Page:
    """Rows of a ``find``, and the cursor to pass as ``after`` for the rows after them;
    ``cursor`` is ``None`` when there are no more."""

    rows: list[Row]
    cursor: str | None = None


@dataclass(frozen=True)
class Query:
    """What ``find`` returns: rows whose fields equal ``where`` (each field the key or
    indexed; ``None`` matches a missing or null value), in ``order`` (the key last, always),
    at most ``limit`` of them, after the place ``after`` names."""

    where: Mapping[str, Any] = field(default_factory=dict)
    order: Sequence[Order] = ()
    limit: int | None = None
    after: str | None = None


class ViewStore(ABC):
    """Tables of rows, typed by their definitions. Every operation is atomic on its own."""

    @abstractmethod
    async def setup(self, tables: Sequence[TableDefinition]) -> None:
        """Create the tables and their indexes where missing; idempotent. A table that exists
        with other columns raises ``StoreError`` naming it."""

    @abstractmethod
    async def destroy(self) -> None:
        """Close connections; an in-memory store forgets its rows."""

    @abstractmethod
    async def insert(self, table: str, row: Row) -> None:
        """Add a row; raises ``RowAlreadyExists`` if its key is taken, ``ParameterInvalid``
        if the key is missing or a column's value does not fit its kind."""

    @abstractmethod
    async def upsert(self, table: str, row: Row) -> None:
        """Add the row, or replace the row with its key."""

    @abstractmethod
    async def update(self, table: str, key: Any, changes: Mapping[str, Any]) -> Row:
        """Set the fields of ``changes`` in the row with ``key`` (a shallow merge; the key
        cannot change) and return the row as it is now; raises ``RowNotFound``."""

    @abstractmethod
    async def delete(self, table: str, key: Any) -> bool:
        """Remove the row with ``key``; whether there was one."""

    @abstractmethod
    async def delete_where(self, table: str, where: Mapping[str, Any]) -> int:
        """Remove every row whose fields equal ``where`` (key or indexed fields; an empty
        ``where`` removes all); how many were removed."""

    @abstractmethod
    async def get(self, table: str, key: Any) -> Row | None:
        """The row with ``key``, or ``None``."""

    @abstractmethod
    async def find(self, table: str, query: Query | None = None) -> Page:
        """Rows as ``query`` says (all rows in key order without one); raises
        ``ParameterInvalid`` for a field that is neither the key nor indexed, a ``limit``
        below 1 or a cursor this query did not make."""

    @abstractmethod
    async def count(self, table: str, where: Mapping[str, Any] | None = None) -> int:
        """How many rows' fields equal ``where`` (all rows without it)."""
