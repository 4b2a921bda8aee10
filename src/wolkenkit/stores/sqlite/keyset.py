"""Keyset pagination in SQLite: the condition for the rows after a place in an order.

A place is the ordered values and the key of the last row of a page. When every field is
ascending and no value of the place is NULL, SQLite's row values say it in one comparison,
``(a, b, key) > (?, ?, ?)``, which an index on those columns serves as a range. Otherwise
(a descending field, mixed directions, a NULL at the place) it is spelled out field by
field: equal on the fields before, after on this one. NULL sorts first ascending and last
descending, as SQLite orders it, so "after NULL" ascending is "not NULL", and a NULL row
comes after every value descending. Row values cannot express either, since a comparison
with NULL is unknown.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from wolkenkit import errors
from wolkenkit.stores.sqlite.database import quote
from wolkenkit.stores.view_store import Column, Order, TableDefinition


@dataclass(frozen=True)
class Sort:
    """One column of an order; ``nullable`` unless it is the key."""

    column: Column
    descending: bool
    nullable: bool

    @property
    def name(self) -> str:
        return quote(self.column.name)


def full_order(definition: TableDefinition, order: Sequence[Order]) -> list[Sort]:
    """The query's order with the key as its last column (ascending unless it is ordered
    already); fields after the key cannot change the order and are left out."""
    sorts: list[Sort] = []
    for item in order:
        column = definition.column(item.field)
        if any(sort.column == column for sort in sorts):
            raise errors.ParameterInvalid(f"The order names field '{item.field}' twice.")
        is_key = column == definition.key
        sorts.append(Sort(column, item.descending, nullable=not is_key))
        if is_key:
            return sorts
    return [*sorts, Sort(definition.key, False, nullable=False)]


def order_by(order: Sequence[Sort]) -> str:
    return ", ".join(f"{sort.name} {'DESC' if sort.descending else 'ASC'}" for sort in order)


def after(order: Sequence[Sort], place: Sequence[Any]) -> tuple[str, list[Any]]:
    """The condition (and its parameters) for the rows after ``place``, the values of a row
    in ``order``."""
    if not any(sort.descending for sort in order) and all(value is not None for value in place):
        names = ", ".join(sort.name for sort in order)
        marks = ", ".join("?" * len(order))
        return f"({names}) > ({marks})", list(place)
    alternatives: list[str] = []
    parameters: list[Any] = []
    for index, (sort, value) in enumerate(zip(order, place, strict=True)):
        beyond = _beyond(sort, value)
        if beyond is None:
            continue
        conditions: list[str] = []
        for before, before_value in zip(order[:index], place[:index], strict=True):
            if before_value is None:
                conditions.append(f"{before.name} IS NULL")
            else:
                conditions.append(f"{before.name} = ?")
                parameters.append(before_value)
        conditions.append(beyond[0])
        parameters += beyond[1]
        alternatives.append("(" + " AND ".join(conditions) + ")")
    return " OR ".join(alternatives) or "0", parameters


def _beyond(sort: Sort, value: Any) -> tuple[str, list[Any]] | None:
    """The condition for a value of ``sort`` after ``value``; ``None`` when none is."""
    if not sort.descending:
        if value is None:
            return f"{sort.name} IS NOT NULL", []
        return f"{sort.name} > ?", [value]
    if value is None:
        return None
    if sort.nullable:
        return f"({sort.name} < ? OR {sort.name} IS NULL)", [value]
    return f"{sort.name} < ?", [value]
