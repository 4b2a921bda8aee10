"""The contract every consumer progress store keeps: per-flow, per-aggregate progress."""

from __future__ import annotations

import pytest

from wolkenkit.errors import FlowIsAlreadyReplaying, ParameterInvalid, RevisionTooLow
from wolkenkit.messages import new_id
from wolkenkit.stores.consumer_progress_store import (
    ConsumerProgressStore,
    Progress,
    ReplayRange,
)
from wolkenkit.testing.contracts._messages import build_aggregate_identifier


def _consumer() -> str:
    return f"flow-{new_id()}"


class ConsumerProgressStoreContract:
    """Everything a consumer progress store must do. Provide an async ``store`` fixture that
    yields a fresh store that has been set up."""

    async def test_unknown_progress_is_revision_zero_and_not_replaying(
        self, store: ConsumerProgressStore
    ) -> None:
        # A flow that has seen nothing of an aggregate starts at revision 0.
        progress = await store.get_progress(_consumer(), build_aggregate_identifier())

        assert progress == Progress(revision=0, is_replaying=False)

    async def test_progress_is_kept_per_consumer_and_aggregate(
        self, store: ConsumerProgressStore
    ) -> None:
        # Two flows and two aggregates: each pair has its own revision.
        first_consumer, second_consumer = _consumer(), _consumer()
        first, second = build_aggregate_identifier(), build_aggregate_identifier()
        await store.set_progress(first_consumer, first, 3)
        await store.set_progress(first_consumer, second, 5)
        await store.set_progress(second_consumer, first, 7)

        assert (await store.get_progress(first_consumer, first)).revision == 3
        assert (await store.get_progress(first_consumer, second)).revision == 5
        assert (await store.get_progress(second_consumer, first)).revision == 7
        assert (await store.get_progress(second_consumer, second)).revision == 0

    async def test_progress_is_keyed_by_aggregate_id(self, store: ConsumerProgressStore) -> None:
        # Like events, progress knows aggregates by their id alone.
        consumer, aggregate_id = _consumer(), new_id()
        await store.set_progress(consumer, build_aggregate_identifier("a", "b", aggregate_id), 2)

        progress = await store.get_progress(
            consumer, build_aggregate_identifier("c", "d", aggregate_id)
        )

        assert progress.revision == 2

    async def test_progress_only_moves_forward(self, store: ConsumerProgressStore) -> None:
        # Setting the stored revision again, or a lower one, means the event was seen already.
        consumer, aggregate_identifier = _consumer(), build_aggregate_identifier()
        await store.set_progress(consumer, aggregate_identifier, 5)

        with pytest.raises(RevisionTooLow):
            await store.set_progress(consumer, aggregate_identifier, 5)
        with pytest.raises(RevisionTooLow):
            await store.set_progress(consumer, aggregate_identifier, 4)

        await store.set_progress(consumer, aggregate_identifier, 6)
        assert (await store.get_progress(consumer, aggregate_identifier)).revision == 6

    async def test_a_negative_revision_is_rejected(self, store: ConsumerProgressStore) -> None:
        with pytest.raises(ParameterInvalid):
            await store.set_progress(_consumer(), build_aggregate_identifier(), -1)

    async def test_a_replay_range_is_stored_beside_the_revision(
        self, store: ConsumerProgressStore
    ) -> None:
        # Starting a replay leaves the revision alone, and moving on leaves the replay alone.
        consumer, aggregate_identifier = _consumer(), build_aggregate_identifier()
        await store.set_progress(consumer, aggregate_identifier, 2)
        await store.set_is_replaying(consumer, aggregate_identifier, ReplayRange(3, 7))
        await store.set_progress(consumer, aggregate_identifier, 4)

        progress = await store.get_progress(consumer, aggregate_identifier)

        assert progress == Progress(revision=4, is_replaying=ReplayRange(3, 7))

    async def test_a_replay_can_start_on_unknown_progress(
        self, store: ConsumerProgressStore
    ) -> None:
        consumer, aggregate_identifier = _consumer(), build_aggregate_identifier()
        await store.set_is_replaying(consumer, aggregate_identifier, ReplayRange(1, 1))

        progress = await store.get_progress(consumer, aggregate_identifier)

        assert progress == Progress(revision=0, is_replaying=ReplayRange(1, 1))

    async def test_a_second_replay_is_refused_while_one_runs(
        self, store: ConsumerProgressStore
    ) -> None:
        # One replay at a time per flow and aggregate; the running one stays as it was.
        consumer, aggregate_identifier = _consumer(), build_aggregate_identifier()
        await store.set_is_replaying(consumer, aggregate_identifier, ReplayRange(1, 5))

        with pytest.raises(FlowIsAlreadyReplaying):
            await store.set_is_replaying(consumer, aggregate_identifier, ReplayRange(2, 9))

        progress = await store.get_progress(consumer, aggregate_identifier)
        assert progress.is_replaying == ReplayRange(1, 5)

    @pytest.mark.parametrize(("from_revision", "to_revision"), [(0, 5), (-1, 2), (6, 5)])
    async def test_a_bad_replay_range_is_rejected(
        self, store: ConsumerProgressStore, from_revision: int, to_revision: int
    ) -> None:
        # A replay starts at revision 1 or later and does not end before it starts.
        with pytest.raises(ParameterInvalid):
            await store.set_is_replaying(
                _consumer(), build_aggregate_identifier(), ReplayRange(from_revision, to_revision)
            )

    async def test_clearing_a_replay_always_succeeds(self, store: ConsumerProgressStore) -> None:
        # Clearing ends a running replay and may be repeated; the revision stays as it was
        # (the reference's in-memory store refused this; we do not).
        consumer, aggregate_identifier = _consumer(), build_aggregate_identifier()
        await store.set_progress(consumer, aggregate_identifier, 3)
        await store.set_is_replaying(consumer, aggregate_identifier, ReplayRange(4, 8))

        await store.set_is_replaying(consumer, aggregate_identifier, False)
        await store.set_is_replaying(consumer, aggregate_identifier, False)
        await store.set_is_replaying(_consumer(), build_aggregate_identifier(), False)

        progress = await store.get_progress(consumer, aggregate_identifier)
        assert progress == Progress(revision=3, is_replaying=False)
        await store.set_is_replaying(consumer, aggregate_identifier, ReplayRange(9, 9))

    async def test_resetting_forgets_only_that_consumer(self, store: ConsumerProgressStore) -> None:
        # Resetting a flow forgets its progress and replays on every aggregate.
        consumer, other = _consumer(), _consumer()
        first, second = build_aggregate_identifier(), build_aggregate_identifier()
        await store.set_progress(consumer, first, 3)
        await store.set_is_replaying(consumer, second, ReplayRange(1, 2))
        await store.set_progress(other, first, 4)

        await store.reset_progress(consumer)

        assert await store.get_progress(consumer, first) == Progress(0, False)
        assert await store.get_progress(consumer, second) == Progress(0, False)
        assert await store.get_progress(other, first) == Progress(4, False)
        await store.reset_progress(_consumer())

    async def test_progress_can_be_moved_back(self, store: ConsumerProgressStore) -> None:
        # Moving back to an earlier (or the same) revision also ends a running replay.
        consumer, aggregate_identifier = _consumer(), build_aggregate_identifier()
        await store.set_progress(consumer, aggregate_identifier, 8)
        await store.set_is_replaying(consumer, aggregate_identifier, ReplayRange(5, 7))

        await store.reset_progress_to_revision(consumer, aggregate_identifier, 4)
        assert await store.get_progress(consumer, aggregate_identifier) == Progress(4, False)

        await store.reset_progress_to_revision(consumer, aggregate_identifier, 4)
        await store.reset_progress_to_revision(consumer, aggregate_identifier, 0)
        assert await store.get_progress(consumer, aggregate_identifier) == Progress(0, False)

    @pytest.mark.parametrize("revision", [-1, 6])
    async def test_moving_back_rejects_a_bad_revision(
        self, store: ConsumerProgressStore, revision: int
    ) -> None:
        # Progress only moves back, and never below 0.
        consumer, aggregate_identifier = _consumer(), build_aggregate_identifier()
        await store.set_progress(consumer, aggregate_identifier, 5)

        with pytest.raises(ParameterInvalid):
            await store.reset_progress_to_revision(consumer, aggregate_identifier, revision)

        assert (await store.get_progress(consumer, aggregate_identifier)).revision == 5

    async def test_moving_back_unknown_progress_does_nothing(
        self, store: ConsumerProgressStore
    ) -> None:
        consumer, aggregate_identifier = _consumer(), build_aggregate_identifier()

        await store.reset_progress_to_revision(consumer, aggregate_identifier, 3)

        assert await store.get_progress(consumer, aggregate_identifier) == Progress(0, False)

    async def test_claiming_moves_progress_that_stands_right_before(
        self, store: ConsumerProgressStore
    ) -> None:
        # A flow claims the next event of an aggregate: unknown progress stands at 0.
        consumer, aggregate_identifier = _consumer(), build_aggregate_identifier()

        assert await store.claim_next(consumer, aggregate_identifier, 1) is True
        assert await store.claim_next(consumer, aggregate_identifier, 2) is True

        assert await store.get_progress(consumer, aggregate_identifier) == Progress(2, False)

    @pytest.mark.parametrize("revision", [1, 2, 3, 5])
    async def test_claiming_changes_nothing_unless_it_is_the_next_revision(
        self, store: ConsumerProgressStore, revision: int
    ) -> None:
        # Seen already (1 to 3) or beyond a gap (5): the flow looks closer, nothing moves.
        consumer, aggregate_identifier = _consumer(), build_aggregate_identifier()
        await store.set_progress(consumer, aggregate_identifier, 3)

        assert await store.claim_next(consumer, aggregate_identifier, revision) is False

        assert await store.get_progress(consumer, aggregate_identifier) == Progress(3, False)

    async def test_claiming_beyond_a_gap_of_unknown_progress_stores_nothing(
        self, store: ConsumerProgressStore
    ) -> None:
        consumer, aggregate_identifier = _consumer(), build_aggregate_identifier()

        assert await store.claim_next(consumer, aggregate_identifier, 2) is False

        assert await store.get_progress(consumer, aggregate_identifier) == Progress(0, False)

    async def test_claiming_after_moving_back_to_zero(self, store: ConsumerProgressStore) -> None:
        consumer, aggregate_identifier = _consumer(), build_aggregate_identifier()
        await store.set_progress(consumer, aggregate_identifier, 2)
        await store.reset_progress_to_revision(consumer, aggregate_identifier, 0)

        assert await store.claim_next(consumer, aggregate_identifier, 1) is True

        assert await store.get_progress(consumer, aggregate_identifier) == Progress(1, False)

    async def test_claiming_ends_a_replay_once_it_reaches_its_end(
        self, store: ConsumerProgressStore
    ) -> None:
        # The replayed events are claimed one by one; the replay ends with its last one.
        consumer, aggregate_identifier = _consumer(), build_aggregate_identifier()
        await store.set_is_replaying(consumer, aggregate_identifier, ReplayRange(1, 3))

        assert await store.claim_next(consumer, aggregate_identifier, 1) is True
        assert await store.get_progress(consumer, aggregate_identifier) == Progress(
            1, ReplayRange(1, 3)
        )
        assert await store.claim_next(consumer, aggregate_identifier, 2) is True
        assert await store.get_progress(consumer, aggregate_identifier) == Progress(
            2, ReplayRange(1, 3)
        )
        assert await store.claim_next(consumer, aggregate_identifier, 3) is True

        assert await store.get_progress(consumer, aggregate_identifier) == Progress(3, False)
