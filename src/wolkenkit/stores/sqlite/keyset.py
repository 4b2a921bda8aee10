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
from typing import Any

from wolkenkit.stores.sqlite.database import quote
from wolkenkit.stores.view_store import Order, TableDefinition


def order_by(full_order: Sequence[Order]) -> str:
    return ", ".join(
        f"{quote(term.field)} {'DESC' if term.descending else 'ASC'}" for term in full_order
    )


#: A condition and its parameters.
Condition = tuple[str, list[Any]]


def after(
    definition: TableDefinition, full_order: Sequence[Order], place: Sequence[Any]
) -> list[Condition]:
    """Conditions for the rows after ``place`` (the values of a row in ``full_order``, the key
    last), as segments of the order: every row of a segment comes before every row of the
    next, so reading them in turn reads the rows in order.

    Each segment starts with a range on the first field that an index can seek to; the
    expanded form alone is an OR, which SQLite answers by collecting and sorting every row
    after the place, more work the further from the end a page is. That is why a descending
    first field with NULLs after the place gives two segments: its values below the place,
    then its NULLs."""
    first, value = full_order[0], place[0]
    if not any(term.descending for term in full_order) and None not in place:
        names = ", ".join(quote(term.field) for term in full_order)
        marks = ", ".join("?" * len(full_order))
        return [(f"({names}) > ({marks})", list(place))]
    expanded, parameters = _expanded(definition, full_order, place)
    name = quote(first.field)
    if value is None:
        return [(expanded, parameters)]
    if not first.descending:
        return [(f"{name} >= ? AND ({expanded})", [value, *parameters])]
    segments = [(f"{name} <= ? AND ({expanded})", [value, *parameters])]
    if first.field != definition.key.name:
        segments.append((f"{name} IS NULL", []))
    return segments


def _expanded(
    definition: TableDefinition, full_order: Sequence[Order], place: Sequence[Any]
) -> Condition:
    """Field by field: equal on the fields before, after on this one."""
    alternatives: list[str] = []
    parameters: list[Any] = []
    for index, (term, value) in enumerate(zip(full_order, place, strict=True)):
        beyond = _beyond(term, value, nullable=term.field != definition.key.name)
        if beyond is None:
            continue
        conditions: list[str] = []
        for before, before_value in zip(full_order[:index], place[:index], strict=True):
            if before_value is None:
                conditions.append(f"{quote(before.field)} IS NULL")
            else:
                conditions.append(f"{quote(before.field)} = ?")
                parameters.append(before_value)
        conditions.append(beyond[0])
        parameters += beyond[1]
        alternatives.append("(" + " AND ".join(conditions) + ")")
    return " OR ".join(alternatives) or "0", parameters


def _beyond(term: Order, value: Any, nullable: bool) -> Condition | None:
    """The condition for a value of ``term`` after ``value``; ``None`` when none is."""
    name = quote(term.field)
    if not term.descending:
        if value is None:
            return f"{name} IS NOT NULL", []
        return f"{name} > ?", [value]
    if value is None:
        return None
    if nullable:
        return f"({name} < ? OR {name} IS NULL)", [value]
    return f"{name} < ?", [value]
