"""A view store that keeps its tables in the process's memory.

Rows are kept as JSON text, so that neither what a caller inserted nor what it got back can
change a stored row later, and a row that is no JSON fails here as it would in a database.
Inside a unit of work (``wolkenkit.stores.transactions``) every change can be taken back.
"""

from __future__ import annotations

import bisect
import itertools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from wolkenkit import errors
from wolkenkit.stores import view_rows
from wolkenkit.stores.memory import transactions
from wolkenkit.stores.memory.transactions import PROCESS_MEMORY
from wolkenkit.stores.transactions import SharedDatabase
from wolkenkit.stores.view_store import (
    Order,
    Page,
    Query,
    Row,
    TableDefinition,
    ViewStore,
    check_not_shadow,
    check_swappable,
    shadow_name,
)


@dataclass
class _Table:
    definition: TableDefinition
    #: Key → the row's JSON text.
    rows: dict[Any, str] = field(default_factory=dict)
    #: The orders that queries used, each kept sorted (see ``_Ordered``): a query reads only
    #: its page from there (reading a table page by page sorted all of it for every page).
    orders: dict[tuple[Order, ...], _Ordered] = field(default_factory=dict)

    def load(self) -> list[Row]:
        return [json.loads(text) for text in self.rows.values()]

    def put(self, key: Any, text: str | None) -> None:
        """Store ``text`` as the row of ``key`` (``None``: remove it), undoably."""
        previous = self.rows.get(key)
        transactions.put(self.rows, key, text)
        for full_order, ordered in list(self.orders.items()):
            if not ordered.note(key, previous, len(self.rows)):
                del self.orders[full_order]
        # Taking changes back, rare, drops every order: also one that a query in the same
        # unit of work made after this change, and which holds it.
        transactions.remember(self.orders.clear)

    def ordered(self, full_order: tuple[Order, ...]) -> _Ordered:
        """The rows in ``full_order``, up to date."""
        ordered = self.orders.get(full_order)
        if ordered is None:
            ordered = self.orders[full_order] = _Ordered(full_order, self.rows)
        else:
            ordered.catch_up(self.rows)
        return ordered


class _Ordered:
    """The rows of a table in one order: their sort keys, ascending, and their keys beside.

    A change is only noted (a flow writing rows pays next to nothing for it); the next query
    in this order moves the rows that changed, each to its place. When more changes wait
    than sorting again would cost, the order is dropped, and the next query sorts anew."""

    def __init__(self, full_order: tuple[Order, ...], rows: Mapping[Any, str]) -> None:
        self.full_order = full_order
        self.sort_key = view_rows.sort_key(full_order)
        # The full order ends with the key, so no two sort keys are equal.
        entries = sorted((self._place(text), key) for key, text in rows.items())
        self.places = [place for place, _ in entries]
        self.keys = [key for _, key in entries]
        #: The rows changed since: each key, with its row's JSON before (``None``: none).
        self._changed: list[tuple[Any, str | None]] = []

    def note(self, key: Any, previous: str | None, rows: int) -> bool:
        """Note that the row of ``key`` was ``previous`` before a change; whether the order
        is still worth keeping."""
        self._changed.append((key, previous))
        return len(self._changed) <= rows // 8 + 32

    def catch_up(self, rows: Mapping[Any, str]) -> None:
        """Move every row changed since the last query to where it belongs now."""
        if not self._changed:
            return
        # Where a row stands in the lists is where its first change found it.
        before: dict[Any, str | None] = {}
        for key, previous in self._changed:
            before.setdefault(key, previous)
        self._changed = []
        for previous in before.values():
            if previous is not None:
                index = bisect.bisect_left(self.places, self._place(previous))
                del self.places[index]
                del self.keys[index]
        for key in before:
            text = rows.get(key)
            if text is not None:
                place = self._place(text)
                index = bisect.bisect_left(self.places, place)
                self.places.insert(index, place)
                self.keys.insert(index, key)

    def _place(self, text: str) -> tuple[Any, ...]:
        return self.sort_key(view_rows.ordered_values(self.full_order, json.loads(text)))


class InMemoryViewStore(ViewStore):
    """Tables as dicts from key to row. Operations never await, so each is atomic."""

    def __init__(self, tables: Sequence[TableDefinition] = ()) -> None:
        """``tables`` are set up right away, for callers that cannot await."""
        self._tables: dict[str, _Table] = {
            definition.name: _Table(definition) for definition in tables
        }

    async def setup(self, tables: Sequence[TableDefinition]) -> None:
        for definition in tables:
            existing = self._tables.get(definition.name)
            if existing is None:
                self._tables[definition.name] = _Table(definition)
            elif existing.definition != definition:
                raise errors.StoreError(
                    f"Table '{definition.name}' exists with other columns than declared."
                )

    async def destroy(self) -> None:
        self._tables.clear()

    @property
    def shared_database(self) -> SharedDatabase:
        return PROCESS_MEMORY

    async def insert(self, table: str, row: Row) -> None:
        stored = self._table(table)
        text = view_rows.encode_row(stored.definition, row)
        key = row[stored.definition.key.name]
        if key in stored.rows:
            raise errors.RowAlreadyExists(f"Table '{table}' already holds a row with key {key!r}.")
        stored.put(key, text)

    async def upsert(self, table: str, row: Row) -> None:
        stored = self._table(table)
        text = view_rows.encode_row(stored.definition, row)
        stored.put(row[stored.definition.key.name], text)

    async def update(self, table: str, key: Any, changes: Mapping[str, Any]) -> Row:
        stored = self._table(table)
        view_rows.check_key(stored.definition, key)
        text = stored.rows.get(key)
        if text is None:
            raise errors.RowNotFound(f"Table '{table}' holds no row with key {key!r}.")
        merged = view_rows.merge(stored.definition, json.loads(text), changes)
        stored.put(key, view_rows.encode_row(stored.definition, merged))
        return merged

    async def delete(self, table: str, key: Any) -> bool:
        stored = self._table(table)
        view_rows.check_key(stored.definition, key)
        found = key in stored.rows
        stored.put(key, None)
        return found

    async def delete_where(self, table: str, where: Mapping[str, Any]) -> int:
        stored = self._table(table)
        checked = view_rows.check_where(stored.definition, where)
        key = stored.definition.key.name
        doomed = [row[key] for row in stored.load() if view_rows.matches(row, checked)]
        for each in doomed:
            stored.put(each, None)
        return len(doomed)

    async def get(self, table: str, key: Any) -> Row | None:
        stored = self._table(table)
        view_rows.check_key(stored.definition, key)
        text = stored.rows.get(key)
        return None if text is None else dict(json.loads(text))

    async def find(self, table: str, query: Query | None = None) -> Page:
        stored = self._table(table)
        definition = stored.definition
        query = query or Query()
        where = view_rows.check_where(definition, query.where)
        view_rows.check_limit(query.limit)
        full_order = view_rows.ordering(definition, query.order)
        ordered = stored.ordered(full_order)
        start = 0
        if query.after is not None:
            after = ordered.sort_key(view_rows.decode_cursor(definition, full_order, query.after))
            start = bisect.bisect_right(ordered.places, after)
        # One row more than the limit says whether another page follows.
        wanted = None if query.limit is None else query.limit + 1
        found: list[Row] = []
        for key in itertools.islice(ordered.keys, start, None):
            row = json.loads(stored.rows[key])
            if view_rows.matches(row, where):
                found.append(row)
                if len(found) == wanted:
                    break
        return view_rows.page(definition, full_order, found, query.limit)

    async def count(self, table: str, where: Mapping[str, Any] | None = None) -> int:
        stored = self._table(table)
        checked = view_rows.check_where(stored.definition, where)
        return sum(1 for row in stored.load() if view_rows.matches(row, checked))

    async def create_shadow(self, table: str) -> str:
        check_not_shadow(table)
        name = shadow_name(table)
        self._tables[name] = _Table(self._table(table).definition)
        return name

    async def swap_shadows(self, tables: Sequence[str]) -> None:
        check_swappable(tables, lambda table: shadow_name(table) in self._tables)
        for table in tables:
            self._tables[table] = self._tables.pop(shadow_name(table))

    async def drop_shadow(self, table: str) -> None:
        self._tables.pop(shadow_name(table), None)

    def _table(self, name: str) -> _Table:
        stored = self._tables.get(name)
        if stored is None:
            raise errors.ParameterInvalid(f"Table '{name}' has not been set up.")
        return stored
