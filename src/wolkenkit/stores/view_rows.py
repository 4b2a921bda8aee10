"""What every view store backend does the same way: checking rows against their table, the one
ordering of rows, and cursors.

SQL backends use the checks and the cursors and let their database order; the in-memory
backend orders with ``sort_key``. The rules (see ``wolkenkit.stores.view_store``): numbers by
value, false before true, text by its UTF-8 bytes (which is Python's order of code points),
nulls (a missing indexed field) first when ascending and last when descending, and the key
last as the tie-breaker, ascending, unless the order names the key itself.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import json
import math
import sys
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from wolkenkit import errors
from wolkenkit.stores.view_store import Column, Order, Page, Row, TableDefinition

#: The range of the typed integer columns (a signed 64-bit integer on every database).
INTEGER_MIN = -(2**63)
INTEGER_MAX = 2**63 - 1


def check_value(table: str, column: Column, value: Any) -> None:
    """Raise ``ParameterInvalid`` unless ``value`` fits ``column`` (``None`` always fits; the
    key's presence is ``check_row``'s job)."""
    if value is None or _fits(column, value):
        return
    raise errors.ParameterInvalid(
        f"Field '{column.name}' of table '{table}' takes {column.kind} values, not {value!r}."
    )


def _fits(column: Column, value: Any) -> bool:
    if column.kind == "text":
        return isinstance(value, str) and _is_utf8(value)
    if column.kind == "boolean":
        return isinstance(value, bool)
    if isinstance(value, bool):  # bool is an int in Python, but not in a number column
        return False
    if column.kind == "integer":
        return isinstance(value, int) and INTEGER_MIN <= value <= INTEGER_MAX
    if isinstance(value, int):
        # A real column holds doubles: an int beyond them would overflow, not round.
        return abs(value) <= sys.float_info.max
    return isinstance(value, float) and math.isfinite(value)


def _is_utf8(value: str) -> bool:
    # A lone surrogate has no UTF-8 form, so no database could store or order it.
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def check_row(definition: TableDefinition, row: Mapping[str, Any]) -> None:
    """Raise ``ParameterInvalid`` unless ``row`` is an object with its key and every column's
    value fits the column's kind."""
    if not isinstance(row, Mapping):
        raise errors.ParameterInvalid(f"A row of table '{definition.name}' must be an object.")
    if row.get(definition.key.name) is None:
        raise errors.ParameterInvalid(
            f"A row of table '{definition.name}' lacks its key '{definition.key.name}'."
        )
    for column in definition.columns:
        check_value(definition.name, column, row.get(column.name))


def check_key(definition: TableDefinition, key: Any) -> None:
    """Raise ``ParameterInvalid`` unless ``key`` is a value of the table's key column."""
    if key is None:
        raise errors.ParameterInvalid(f"A key of table '{definition.name}' cannot be null.")
    check_value(definition.name, definition.key, key)


def encode_row(definition: TableDefinition, row: Mapping[str, Any]) -> str:
    """The row as JSON text, after ``check_row``; ``ParameterInvalid`` if it is no JSON."""
    check_row(definition, row)
    try:
        text = json.dumps(row, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
        text.encode("utf-8")
    except (TypeError, ValueError) as error:
        raise errors.ParameterInvalid(
            f"A row of table '{definition.name}' is not JSON: {error}."
        ) from None
    return text


def column_values(definition: TableDefinition, row: Mapping[str, Any]) -> dict[str, Any]:
    """Each column's value in ``row`` by column name; ``None`` where the field is missing."""
    return {column.name: row.get(column.name) for column in definition.columns}


def merge(definition: TableDefinition, row: Row, changes: Mapping[str, Any]) -> Row:
    """``row`` with ``changes`` set (a shallow merge), checked; ``ParameterInvalid`` if the
    changes give the key another value."""
    key = definition.key.name
    if key in changes and changes[key] != row[key]:
        raise errors.ParameterInvalid(
            f"The key '{key}' of a row of table '{definition.name}' cannot change."
        )
    merged = {**row, **changes}
    check_row(definition, merged)
    return merged


def check_where(definition: TableDefinition, where: Mapping[str, Any] | None) -> dict[str, Any]:
    """``where`` as a dict, after checking that each field is the key or indexed and each
    value fits its column (``None`` matches a missing or null value)."""
    checked = dict(where or {})
    for name, value in checked.items():
        check_value(definition.name, definition.column(name), value)
    return checked


def matches(row: Mapping[str, Any], where: Mapping[str, Any]) -> bool:
    """Whether ``row``'s fields equal ``where``'s (checked with ``check_where``)."""
    return all(row.get(name) == value for name, value in where.items())


def check_limit(limit: int | None) -> None:
    if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
        raise errors.ParameterInvalid(f"A limit must be an integer of at least 1, not {limit!r}.")


def ordering(definition: TableDefinition, order: Sequence[Order]) -> tuple[Order, ...]:
    """The full order of a query: ``order``, checked (fields the key or indexed, each named
    once), then the key ascending as the tie-breaker unless ``order`` names it. Everything
    after the key could never decide, so it is dropped."""
    full: list[Order] = []
    for term in order:
        definition.column(term.field)
        if any(seen.field == term.field for seen in full):
            raise errors.ParameterInvalid(f"The order names field '{term.field}' twice.")
        full.append(term)
        if term.field == definition.key.name:
            return tuple(full)
    return (*full, Order(definition.key.name))


def ordered_values(full_order: Sequence[Order], row: Mapping[str, Any]) -> tuple[Any, ...]:
    """The values of ``row`` that ``full_order`` orders by, in its order."""
    return tuple(row.get(term.field) for term in full_order)


@functools.total_ordering
class _Reversed:
    """Wraps a sort key so that it sorts the other way round."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Reversed) and self.value == other.value

    def __lt__(self, other: _Reversed) -> bool:
        result: bool = other.value < self.value
        return result

    __hash__ = None  # type: ignore[assignment]


def sort_key(full_order: Sequence[Order]) -> Callable[[Sequence[Any]], tuple[Any, ...]]:
    """A key function for ``sorted`` over ``ordered_values`` tuples that implements the
    ordering rules; comparing two keys also tells whether a row lies after a cursor."""
    descending = [term.descending for term in full_order]

    def key(values: Sequence[Any]) -> tuple[Any, ...]:
        parts: list[Any] = []
        for value, reverse in zip(values, descending, strict=True):
            # (False,) before (True, value): nulls first, ascending.
            part = (False,) if value is None else (True, value)
            parts.append(_Reversed(part) if reverse else part)
        return tuple(parts)

    return key


def page(
    definition: TableDefinition, full_order: Sequence[Order], found: list[Row], limit: int | None
) -> Page:
    """The page of the first ``limit`` rows of ``found``; rows beyond them (a store reads
    one more than the limit) mean another page follows, so the page has a cursor."""
    if limit is None or len(found) <= limit:
        return Page(found)
    rows = found[:limit]
    return Page(rows, encode_cursor(definition, full_order, rows[-1]))


def _fingerprint(definition: TableDefinition, full_order: Sequence[Order]) -> str:
    terms = [[definition.name], *([term.field, term.descending] for term in full_order)]
    return hashlib.sha256(json.dumps(terms).encode()).hexdigest()[:16]


def encode_cursor(definition: TableDefinition, full_order: Sequence[Order], row: Row) -> str:
    """The opaque cursor naming the place of ``row`` (the last row of a page) in
    ``full_order``: base64 of JSON of its ordered values and the order's fingerprint."""
    payload = {"o": _fingerprint(definition, full_order), "v": ordered_values(full_order, row)}
    text = json.dumps(payload, ensure_ascii=False, separators=(",", ":"))
    return base64.urlsafe_b64encode(text.encode()).decode("ascii").rstrip("=")


def decode_cursor(
    definition: TableDefinition, full_order: Sequence[Order], cursor: str
) -> tuple[Any, ...]:
    """The ordered values a cursor names (as ``ordered_values`` gives them; the key last);
    ``ParameterInvalid`` for a cursor that a query with this order did not make."""
    invalid = errors.ParameterInvalid("The cursor is invalid or belongs to another order.")
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        payload = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
    except (ValueError, TypeError, binascii.Error, UnicodeError):
        raise invalid from None
    if (
        not isinstance(payload, dict)
        or payload.get("o") != _fingerprint(definition, full_order)
        or not isinstance(payload.get("v"), list)
        or len(payload["v"]) != len(full_order)
    ):
        raise invalid
    values = tuple(payload["v"])
    try:
        for term, value in zip(full_order, values, strict=True):
            check_value(definition.name, definition.column(term.field), value)
    except errors.ParameterInvalid:
        raise invalid from None
    if values[-1] is None:
        raise invalid
    return values
