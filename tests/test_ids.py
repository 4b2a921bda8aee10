"""``new_id``: valid version-7 uuids, ordered by time, never the same twice, across threads and
forked processes; the id of an aggregate a command creates."""

from __future__ import annotations

import os
import re
import threading
import time
import uuid

import pytest

from wolkenkit.messages import UUID_PATTERN, new_command_ids, new_id


def test_ids_are_version_7_uuids_in_canonical_form() -> None:
    for _ in range(1_000):
        id = new_id()
        parsed = uuid.UUID(id)
        assert parsed.version == 7
        assert parsed.variant == uuid.RFC_4122
        assert str(parsed) == id
    assert re.fullmatch(UUID_PATTERN, new_id())


def test_an_id_carries_the_millisecond_it_was_made_in() -> None:
    before = time.time_ns() // 1_000_000
    id = new_id()
    after = time.time_ns() // 1_000_000

    assert before <= uuid.UUID(id).int >> 80 <= after


def test_ids_of_later_milliseconds_sort_after_earlier_ones() -> None:
    # What keeps an index on them growing at its end: ids of one millisecond share their
    # first 12 digits and differ randomly after them.
    earlier = [new_id() for _ in range(100)]
    time.sleep(0.002)
    later = [new_id() for _ in range(100)]

    assert max(earlier) < min(later)


def test_a_creating_command_addresses_an_aggregate_id_of_its_own_time() -> None:
    for _ in range(1_000):
        command_id, aggregate_id = new_command_ids(None)
        parsed = uuid.UUID(aggregate_id)

        assert aggregate_id != command_id
        assert (parsed.version, parsed.variant) == (7, uuid.RFC_4122)
        assert str(parsed) == aggregate_id
        assert aggregate_id[:13] == command_id[:13]
    assert new_command_ids("given")[1] == "given"


def test_ids_are_unique_across_many_draws() -> None:
    # Several bulk draws of random digits, so the refill is crossed many times.
    ids = [new_id() for _ in range(20_000)]
    assert len(set(ids)) == len(ids)


def test_threads_never_hand_out_the_same_id() -> None:
    results: list[list[str]] = [[] for _ in range(8)]
    start = threading.Barrier(len(results))

    def draw(into: list[str]) -> None:
        start.wait()
        for _ in range(5_000):
            into.append(new_id())

    threads = [threading.Thread(target=draw, args=(into,)) for into in results]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    every_id = [id for ids in results for id in ids]
    assert len(set(every_id)) == len(every_id)


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
def test_a_forked_child_draws_ids_of_its_own() -> None:
    new_id()  # The parent holds unused random digits now.
    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - runs in the child
        os.close(reading)
        os.write(writing, ",".join(new_id() for _ in range(10)).encode())
        os._exit(0)
    os.close(writing)
    with os.fdopen(reading) as pipe:
        child_ids = pipe.read().split(",")
    os.waitpid(child, 0)
    parent_ids = [new_id() for _ in range(10)]
    assert len(child_ids) == 10
    assert not set(child_ids) & set(parent_ids)
