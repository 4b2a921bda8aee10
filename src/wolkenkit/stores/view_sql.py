"""SQL fragments the SQL view stores share: conditions for ``where``, ``ORDER BY`` and the
keyset condition of a cursor, all with placeholders, never values.

The dialects differ in identifiers and placeholders only, so callers pass ``column`` (a name
to its quoted column) and ``placeholder`` (the 1-based position of a parameter to its
placeholder: ``?`` for SQLite, ``$n`` for PostgreSQL, ``%s`` for MariaDB).

Nulls sort first ascending and last descending, as ``view_rows`` says. Row comparisons such as
``(a, key) > (?, ?)`` cannot express that (nor mixed directions), so the keyset condition is
spelled out: after ``(v1, v2, key)`` means ``a after v1``, or ``a = v1 and b after v2``, or …
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from wolkenkit.stores.view_store import Order

Column = Callable[[str], str]
Placeholder = Callable[[int], str]


class Parameters:
    """The parameters of a statement as its fragments are built, numbered from ``first``."""

    def __init__(self, placeholder: Placeholder, first: int = 1) -> None:
        self.values: list[Any] = []
        self._placeholder = placeholder
        self._first = first

    def add(self, value: Any) -> str:
        """Add ``value``; its placeholder."""
        self.values.append(value)
        return self._placeholder(self._first + len(self.values) - 1)


def where_condition(where: Mapping[str, Any], column: Column, parameters: Parameters) -> str:
    """``where`` (checked with ``view_rows.check_where``) as a condition; ``None`` means null."""
    terms = [
        f"{column(name)} IS NULL" if value is None else f"{column(name)} = {parameters.add(value)}"
        for name, value in where.items()
    ]
    return " AND ".join(terms) or "1 = 1"


def order_by(full_order: Sequence[Order], column: Column, *, spell_nulls: bool) -> str:
    """The ``ORDER BY`` list of ``full_order`` (from ``view_rows.ordering``). With
    ``spell_nulls`` it says ``NULLS FIRST``/``LAST`` (PostgreSQL needs it; SQLite accepts
    it); without, it relies on nulls sorting lowest (SQLite, MariaDB)."""
    terms = []
    for term in full_order:
        direction = "DESC" if term.descending else "ASC"
        nulls = (" NULLS LAST" if term.descending else " NULLS FIRST") if spell_nulls else ""
        terms.append(f"{column(term.field)} {direction}{nulls}")
    return ", ".join(terms)


def after_condition(
    full_order: Sequence[Order],
    values: Sequence[Any],
    column: Column,
    parameters: Parameters,
) -> str:
    """The condition that a row lies after the place ``values`` (from
    ``view_rows.decode_cursor``) in ``full_order``."""
    alternatives = []
    for index, (term, value) in enumerate(zip(full_order, values, strict=True)):
        if term.descending and value is None:
            continue  # nulls are last descending: nothing lies beyond one
        # Fragments are built in the order they appear in, so that positional placeholders
        # (? and %s) meet their values in order.
        equal = [
            _equal(earlier.field, earlier_value, column, parameters)
            for earlier, earlier_value in zip(full_order[:index], values[:index], strict=True)
        ]
        beyond = _beyond(term, value, column, parameters)
        alternatives.append("(" + " AND ".join([*equal, beyond]) + ")")
    return "(" + (" OR ".join(alternatives) or "1 = 0") + ")"


def _equal(field: str, value: Any, column: Column, parameters: Parameters) -> str:
    if value is None:
        return f"{column(field)} IS NULL"
    return f"{column(field)} = {parameters.add(value)}"


def _beyond(term: Order, value: Any, column: Column, parameters: Parameters) -> str:
    """The condition that a column lies strictly after ``value`` (not null if descending)."""
    name = column(term.field)
    if term.descending:
        return f"({name} < {parameters.add(value)} OR {name} IS NULL)"
    if value is None:
        return f"{name} IS NOT NULL"
    return f"{name} > {parameters.add(value)}"
