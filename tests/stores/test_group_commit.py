"""Group commit: who is written with whom, and which caller hears of which failure.

The SQL backends' tests show the same against real databases; these use a writer that
records its calls, so that a write can be held in flight and failures chosen.
"""

from __future__ import annotations

import asyncio

import pytest

from wolkenkit.errors import RevisionAlreadyExists, StoreError
from wolkenkit.stores.group_commit import GroupCommit


class Writer:
    """Records the batches of each write; a write containing ``conflict`` raises
    ``RevisionAlreadyExists``, one containing ``broken`` while joint raises ``StoreError``.
    While ``held`` is clear, writes wait; each takes ``seconds``."""

    def __init__(self, seconds: float = 0.0) -> None:
        self.writes: list[list[str]] = []
        self.held = asyncio.Event()
        self.held.set()
        self.seconds = seconds

    async def __call__(self, batches: list[str]) -> None:
        self.writes.append(batches)
        await self.held.wait()
        await asyncio.sleep(self.seconds)
        if "conflict" in batches:
            raise RevisionAlreadyExists("Aggregate id and revision already exist.")
        if "broken" in batches and len(batches) > 1:
            raise StoreError("The connection broke.")


async def _outcome(group_commit: GroupCommit[str], batch: str) -> str:
    try:
        await group_commit.write(batch)
    except Exception as error:
        return type(error).__name__
    return "stored"


async def _write_while_first_is_in_flight(
    writer: Writer, group_commit: GroupCommit[str], batches: list[str]
) -> list[str]:
    writer.held.clear()
    first = asyncio.ensure_future(_outcome(group_commit, "first"))
    await asyncio.sleep(0)
    rest = [asyncio.ensure_future(_outcome(group_commit, batch)) for batch in batches]
    await asyncio.sleep(0)
    writer.held.set()
    return [await first, *await asyncio.gather(*rest)]


async def test_a_lone_batch_is_written_at_once_and_alone() -> None:
    writer = Writer()
    group_commit = GroupCommit(writer, len, limit=100)

    await group_commit.write("a")
    await group_commit.write("b")

    assert writer.writes == [["a"], ["b"]]


async def test_batches_arriving_during_a_write_go_out_together_in_order() -> None:
    writer = Writer()
    group_commit = GroupCommit(writer, len, limit=100)

    outcomes = await _write_while_first_is_in_flight(writer, group_commit, ["a", "b", "c"])

    assert outcomes == ["stored"] * 4
    assert writer.writes == [["first"], ["a", "b", "c"]]


async def test_the_callers_of_a_joint_write_are_waited_for_when_they_come_back() -> None:
    # Three callers shared a write. When they come back one after the other, a little
    # apart (as after reading for their next commands), the first does not go out alone:
    # the next write waits, up to a write's time, until all three are back.
    writer = Writer(seconds=0.05)
    group_commit = GroupCommit(writer, len, limit=100)
    await _write_while_first_is_in_flight(writer, group_commit, ["a", "b", "c"])

    async def come_back(batch: str, delay: float) -> None:
        await asyncio.sleep(delay)
        await group_commit.write(batch)

    await asyncio.gather(*(come_back(f"{batch}2", i * 0.005) for i, batch in enumerate("abc")))

    assert writer.writes == [["first"], ["a", "b", "c"], ["a2", "b2", "c2"]]


async def test_a_joint_write_stays_within_the_limit() -> None:
    # Sizes are counted in rows; a batch larger than the limit still goes out, alone.
    writer = Writer()
    group_commit = GroupCommit(writer, len, limit=4)

    await _write_while_first_is_in_flight(writer, group_commit, ["aa", "bb", "cc", "dddddd"])

    assert writer.writes == [["first"], ["aa", "bb"], ["cc"], ["dddddd"]]


async def test_a_conflict_in_a_joint_write_fails_only_its_caller() -> None:
    # The joint transaction stored nothing; written again one by one, only the
    # conflicting batch fails.
    writer = Writer()
    group_commit = GroupCommit(writer, len, limit=100)

    outcomes = await _write_while_first_is_in_flight(writer, group_commit, ["a", "conflict", "c"])

    assert outcomes == ["stored", "stored", "RevisionAlreadyExists", "stored"]
    assert writer.writes == [["first"], ["a", "conflict", "c"], ["a"], ["conflict"], ["c"]]


async def test_another_failure_of_a_joint_write_reaches_each_of_its_callers() -> None:
    writer = Writer()
    group_commit = GroupCommit(writer, len, limit=100)

    outcomes = await _write_while_first_is_in_flight(writer, group_commit, ["a", "broken"])

    assert outcomes == ["stored", "StoreError", "StoreError"]
    assert writer.writes == [["first"], ["a", "broken"]]


async def test_a_caller_cancelled_while_waiting_is_never_written() -> None:
    writer = Writer()
    group_commit = GroupCommit(writer, len, limit=100)
    writer.held.clear()
    first = asyncio.ensure_future(group_commit.write("first"))
    await asyncio.sleep(0)
    cancelled = asyncio.ensure_future(group_commit.write("cancelled"))
    kept = asyncio.ensure_future(group_commit.write("kept"))
    await asyncio.sleep(0)

    cancelled.cancel()
    writer.held.set()
    await asyncio.gather(first, kept)

    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert writer.writes == [["first"], ["kept"]]


async def test_writing_goes_on_after_a_failed_lone_write() -> None:
    # A failure does not leave the group commit stuck in its writing state.
    writer = Writer()
    group_commit = GroupCommit(writer, len, limit=100)

    with pytest.raises(RevisionAlreadyExists):
        await group_commit.write("conflict")
    await group_commit.write("a")

    assert writer.writes == [["conflict"], ["a"]]
