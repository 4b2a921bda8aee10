"""The view store: the typed tables of an app's read models, which flows write and queries read.

A table holds rows, each a JSON object with a key field. Besides its key, a table declares the
fields queries filter and order on (its indexes); a backend stores those as typed columns
beside the row's JSON, so that it can filter and order in the database. Everything else is in
the JSON only. Backends keep one physical table per declared table.

Ordering is the same on every backend: integers and reals by value, booleans false first, text
by its UTF-8 bytes (binary collation: ``"B" < "a"``), and the key always comes last, so an
order is total and a cursor names one place in it.

A table can be rebuilt without taking it away from its readers: ``create_shadow`` makes an
empty copy that the usual operations write under ``shadow_name(table)`` while the table itself
keeps serving, and ``swap_shadows`` puts the copies in the tables' places all at once, under
the tables' own names, so readers in other processes need to know nothing of it.
"""

from __future__ import annotations

import hashlib
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from wolkenkit import errors

#: The JSON object a row is. Its key field and its indexed fields are among its fields.
Row = dict[str, Any]

#: How an indexed field (or the key) is stored and ordered.
ColumnKind = Literal["text", "integer", "real", "boolean"]

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,47}$")


def shadow_name(table: str) -> str:
    """The name under which the operations read and write the shadow of ``table``
    (``messages~shadow``); no declared table is called that, since names hold no ``~``."""
    return f"{table}~shadow"


def check_swappable(tables: Sequence[str], has_shadow: Callable[[str], bool]) -> None:
    """Raise ``ParameterInvalid`` unless ``tables`` names each table once and each has a
    shadow: what every backend checks before ``swap_shadows`` changes anything."""
    if len(set(tables)) != len(tables):
        raise errors.ParameterInvalid("A swap names a table twice.")
    for table in tables:
        if not has_shadow(table):
            raise errors.ParameterInvalid(f"Table '{table}' has no shadow to swap in.")


def check_not_shadow(table: str) -> None:
    """Raise ``ParameterInvalid`` if ``table`` names a shadow, which has no shadow of its own."""
    if "~" in table:
        raise errors.ParameterInvalid(f"'{table}' is a shadow; it cannot have a shadow itself.")


def derived_table_name(physical: str, role: str, limit: int | None = None) -> str:
    """The physical name of a copy of the physical table ``physical``: its shadow (``role``
    ``shadow``) or the old table on its way out (``old``), ``<physical>~<role>``. The ``~``
    keeps it apart from every declared table's name. Where that is longer than ``limit``
    characters, part of ``physical`` gives way to a digest of all of it."""
    name = f"{physical}~{role}"
    if limit is None or len(name) <= limit:
        return name
    suffix = f"~{hashlib.sha256(physical.encode()).hexdigest()[:12]}~{role}"
    return physical[: limit - len(suffix)] + suffix


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

    # Rebuilding a table beside it.

    @abstractmethod
    async def create_shadow(self, table: str) -> str:
        """Create an empty shadow of the set-up table ``table``, with its columns and indexes,
        and return the name under which the operations above read and write it
        (``shadow_name(table)``); ``table`` itself keeps serving as before. A shadow left
        from earlier (a rebuild that died) is dropped first. ``ParameterInvalid`` for a table
        that is not set up, or that is a shadow itself."""

    @abstractmethod
    async def swap_shadows(self, tables: Sequence[str]) -> None:
        """Put the shadow of each of ``tables`` in the table's place, all in one step: a
        reader, in this process or another, sees every table old or every table new, never a
        mix and never a table missing. The old tables are dropped and the shadows' names are
        free again. ``ParameterInvalid``, with nothing swapped, if one of them has no shadow
        that this store created."""

    @abstractmethod
    async def drop_shadow(self, table: str) -> None:
        """Drop the shadow of ``table`` if it has one; ``table`` is left as it is."""
