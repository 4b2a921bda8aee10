"""``frozen_record``: records compare and hash by their fields, as frozen dataclasses do, and
take no attributes beyond their fields."""

from __future__ import annotations

import pytest

from wolkenkit.records import frozen_record
from wolkenkit.stores.priority_queue_store import LockMetadata


@frozen_record
class Point:
    x: int
    y: int


def test_records_compare_and_hash_by_their_fields() -> None:
    assert Point(1, 2) == Point(1, 2)
    assert Point(1, 2) != Point(2, 1)
    assert len({Point(1, 2), Point(1, 2), Point(2, 1)}) == 2
    assert {LockMetadata("queue", "token"): 1}[LockMetadata("queue", "token")] == 1


def test_records_take_no_other_attributes() -> None:
    point = Point(1, 2)
    with pytest.raises(AttributeError):
        point.z = 3  # type: ignore[attr-defined]
