"""Immutable records that cost no more to make than mutable ones.

A frozen dataclass sets each field through ``object.__setattr__`` in its ``__init__``, which
makes it about three times as dear as a plain one. The engine makes several records per
command (service bundles, outcomes, positioned events, queue locks), so ``frozen_record``
leaves the run-time check out: type checkers still see the record as frozen and reject any
assignment to its fields, and ``__slots__`` keeps new attributes out at run time. Records
stay hashable by their fields, as frozen dataclasses are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TypeVar

from typing_extensions import dataclass_transform

_Class = TypeVar("_Class", bound=type)


@dataclass_transform(frozen_default=True)
def frozen_record(cls: _Class) -> _Class:
    """``@dataclass(frozen=True, slots=True)`` as type checkers see it, without the price."""
    return dataclass(slots=True, unsafe_hash=True)(cls)  # type: ignore[return-value]
