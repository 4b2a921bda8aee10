"""``new_id``: valid v4 uuids, never the same twice, across threads and forked processes."""

from __future__ import annotations

import os
import re
import threading
import uuid

import pytest

from wolkenkit.messages import UUID_PATTERN, new_id


def test_ids_are_version_4_uuids_in_canonical_form() -> None:
    for _ in range(1_000):
        id = new_id()
        parsed = uuid.UUID(id)
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
        assert str(parsed) == id
    assert re.fullmatch(UUID_PATTERN, new_id())


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
