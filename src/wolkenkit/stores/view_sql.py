"""SQL fragments the SQL view stores share: conditions for ``where``, ``ORDER BY`` and the
keyset condition of a cursor, all with placeholders, never values.

What differs between the backends is said once, in a ``Dialect``; identifiers come from the
caller's ``column`` (a name to its quoted column), since each backend quotes its own way.

Nulls sort first ascending and last descending, as ``view_rows`` says. A row comparison such
as ``(a, key) > (?, ?)`` cannot express that (nor mixed directions), so the keyset condition is
spelled out: after ``(v1, v2, key)`` means ``a after v1``, or ``a = v1 and b after v2``, or …
Only a leading run of ascending fields whose cursor values are not null may compare as a row.
The key is always the last field of a full order (``view_rows.ordering``) and never null.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from wolkenkit.stores.view_store import Order

Column = Callable[[str], str]
Placeholder = Callable[[int], str]


@dataclass(frozen=True)
class Dialect:
    """How a backend's SQL differs where the shared fragments are concerned."""

    #: The 1-based position of a parameter to its placeholder (``?``, ``$n``, ``%s``).
    placeholder: Placeholder
    #: ``ORDER BY`` says ``NULLS FIRST``/``LAST`` (PostgreSQL sorts nulls highest); without,
    #: it relies on nulls sorting lowest (SQLite, MariaDB).
    spell_nulls: bool
    #: A leading run of ascending fields with cursor values not null compares as a row,
    #: ``(a, b) > (?, ?)``, which an index serves as one range.
    row_values: bool
    #: The expanded condition is preceded by a lone range bound on the first field
    #: (``a >= ?``), which the optimizer seeks in the field's index; the OR form alone makes
    #: SQLite and MariaDB sort every row after the cursor.
    range_bound: bool


SQLITE = Dialect(lambda _: "?", spell_nulls=False, row_values=True, range_bound=True)
POSTGRES = Dialect(
    lambda position: f"${position}", spell_nulls=True, row_values=True, range_bound=False
)
MARIADB = Dialect(lambda _: "%s", spell_nulls=False, row_values=False, range_bound=True)


class Parameters:
    """The parameters of a statement as its fragments are built, numbered from ``first``."""

    def __init__(self, dialect: Dialect, first: int = 1) -> None:
        self.values: list[Any] = []
        self._placeholder = dialect.placeholder
        self._first = first

    def add(self, value: Any) -> str:
        """Add ``value``; its placeholder."""
        self.values.append(value)
        return self._placeholder(self._first + len(self.values) - 1)

    def copy(self) -> Parameters:
        """These parameters, to go on with apart from them."""
        copied = copy.copy(self)
        copied.values = list(self.values)
        return copied


def where_condition(where: Mapping[str, Any], column: Column, parameters: Parameters) -> str:
    """``where`` (checked with ``view_rows.check_where``) as a condition; ``None`` means null."""
    terms = [_equal(name, value, column, parameters) for name, value in where.items()]
    return " AND ".join(terms) or "1 = 1"


def order_by(full_order: Sequence[Order], column: Column, dialect: Dialect) -> str:
    """The ``ORDER BY`` list of ``full_order`` (from ``view_rows.ordering``)."""
    terms = []
    for term in full_order:
        direction = "DESC" if term.descending else "ASC"
        nulls = ""
        if dialect.spell_nulls:
            nulls = " NULLS LAST" if term.descending else " NULLS FIRST"
        terms.append(f"{column(term.field)} {direction}{nulls}")
    return ", ".join(terms)


def after_condition(
    full_order: Sequence[Order],
    values: Sequence[Any],
    column: Column,
    parameters: Parameters,
    dialect: Dialect,
) -> str:
    """The condition that a row lies after the place ``values`` (from
    ``view_rows.decode_cursor``) in ``full_order``."""
    run = _leading_run(full_order, values) if dialect.row_values else 0
    if run == len(full_order):
        return _row_after(full_order, values, column, parameters)
    bound = None
    if dialect.range_bound:
        bound = _bound(full_order[0], values[0], len(full_order) == 1, column, parameters)
    expanded = _expanded(full_order, values, run, column, parameters)
    return expanded if bound is None else f"({bound} AND {expanded})"


def after_segments(
    full_order: Sequence[Order],
    values: Sequence[Any],
    column: Column,
    parameters: Parameters,
    dialect: Dialect,
) -> list[tuple[str, Parameters]]:
    """``after_condition`` as segments of the order, each with its own copy of
    ``parameters``: every row of a segment comes before every row of the next, so a store
    that reads them in turn, a statement each, reads the rows in order. A descending first
    field that is not the key gives two: its values below the place, then its nulls, so
    that each statement seeks one range of the field's index."""
    first, value = full_order[0], values[0]
    if not (first.descending and value is not None and len(full_order) > 1):
        own = parameters.copy()
        return [(after_condition(full_order, values, column, own, dialect), own)]
    below = parameters.copy()
    name = column(first.field)
    bound = f"{name} <= {below.add(value)}"
    expanded = _expanded(full_order, values, 0, column, below)
    return [(f"({bound} AND {expanded})", below), (f"{name} IS NULL", parameters.copy())]


def _leading_run(full_order: Sequence[Order], values: Sequence[Any]) -> int:
    """How many fields from the first are ascending with values not null."""
    run = 0
    for term, value in zip(full_order, values, strict=True):
        if term.descending or value is None:
            break
        run += 1
    return run


def _row_after(
    terms: Sequence[Order], values: Sequence[Any], column: Column, parameters: Parameters
) -> str:
    names = ", ".join(column(term.field) for term in terms)
    marks = ", ".join(parameters.add(value) for value in values)
    return f"({names}) > ({marks})"


def _bound(
    first: Order, value: Any, is_key: bool, column: Column, parameters: Parameters
) -> str | None:
    """A range on the first field that holds every row after ``value``; ``None`` if none
    narrower than all rows."""
    name = column(first.field)
    if not first.descending:
        return None if value is None else f"{name} >= {parameters.add(value)}"
    if value is None:
        return f"{name} IS NULL"
    if is_key:
        return f"{name} <= {parameters.add(value)}"
    return f"({name} <= {parameters.add(value)} OR {name} IS NULL)"


def _expanded(
    full_order: Sequence[Order],
    values: Sequence[Any],
    run: int,
    column: Column,
    parameters: Parameters,
) -> str:
    """Field by field: equal on the fields before, after on this one; the first ``run``
    fields (at least two, ascending, not null) as one row comparison."""
    alternatives = []
    start = 0
    if run > 1:
        alternatives.append(_row_after(full_order[:run], values[:run], column, parameters))
        start = run
    last = len(full_order) - 1
    for index in range(start, len(full_order)):
        term, value = full_order[index], values[index]
        if term.descending and value is None:
            continue  # nulls are last descending: nothing lies beyond one
        # Fragments are built in the order they appear in, so that positional placeholders
        # (? and %s) meet their values in order.
        equal = [
            _equal(earlier.field, earlier_value, column, parameters)
            for earlier, earlier_value in zip(full_order[:index], values[:index], strict=True)
        ]
        beyond = _beyond(term, value, index == last, column, parameters)
        alternatives.append("(" + " AND ".join([*equal, beyond]) + ")")
    return "(" + (" OR ".join(alternatives) or "1 = 0") + ")"


def _equal(field: str, value: Any, column: Column, parameters: Parameters) -> str:
    if value is None:
        return f"{column(field)} IS NULL"
    return f"{column(field)} = {parameters.add(value)}"


def _beyond(term: Order, value: Any, is_key: bool, column: Column, parameters: Parameters) -> str:
    """The condition that a column lies strictly after ``value`` (not null if descending);
    the key is never null, so it needs no word about nulls."""
    name = column(term.field)
    if term.descending:
        if is_key:
            return f"{name} < {parameters.add(value)}"
        return f"({name} < {parameters.add(value)} OR {name} IS NULL)"
    if value is None:
        return f"{name} IS NOT NULL"
    return f"{name} > {parameters.add(value)}"
