"""A consumer progress store that keeps each flow's progress in the process's memory.

Inside a unit of work (``wolkenkit.stores.transactions``) every change can be taken back.
"""

from __future__ import annotations

from wolkenkit.errors import FlowIsAlreadyReplaying, ParameterInvalid, RevisionTooLow
from wolkenkit.messages import AggregateIdentifier
from wolkenkit.stores.consumer_progress_store import (
    ConsumerProgressStore,
    IsReplaying,
    Progress,
    check_replay_range,
    check_revision,
)
from wolkenkit.stores.memory.transactions import PROCESS_MEMORY, put
from wolkenkit.stores.transactions import SharedDatabase

_UNKNOWN = Progress(revision=0, is_replaying=False)


class InMemoryConsumerProgressStore(ConsumerProgressStore):
    """Progress by consumer id, then by aggregate id, so a consumer is reset in one step."""

    def __init__(self) -> None:
        self._progress: dict[str, dict[str, Progress]] = {}

    async def setup(self) -> None:
        pass

    async def destroy(self) -> None:
        self._progress.clear()

    @property
    def shared_database(self) -> SharedDatabase:
        return PROCESS_MEMORY

    async def get_progress(
        self, consumer_id: str, aggregate_identifier: AggregateIdentifier
    ) -> Progress:
        return self._get(consumer_id, aggregate_identifier) or _UNKNOWN

    async def set_progress(
        self, consumer_id: str, aggregate_identifier: AggregateIdentifier, revision: int
    ) -> None:
        check_revision(revision)
        current = self._get(consumer_id, aggregate_identifier)
        if current is not None and revision <= current.revision:
            raise RevisionTooLow("Revision must be higher than the stored one.")
        is_replaying = current.is_replaying if current is not None else False
        self._put(consumer_id, aggregate_identifier, Progress(revision, is_replaying))

    async def set_is_replaying(
        self,
        consumer_id: str,
        aggregate_identifier: AggregateIdentifier,
        is_replaying: IsReplaying,
    ) -> None:
        current = self._get(consumer_id, aggregate_identifier)
        if is_replaying is False:
            # Clearing always succeeds, known or not, so a finished replay never
            # leaves the flag stuck.
            if current is not None:
                self._put(consumer_id, aggregate_identifier, Progress(current.revision, False))
            return
        check_replay_range(is_replaying)
        if current is not None and current.is_replaying is not False:
            raise FlowIsAlreadyReplaying("Flow is already replaying.")
        revision = current.revision if current is not None else 0
        self._put(consumer_id, aggregate_identifier, Progress(revision, is_replaying))

    async def reset_progress(self, consumer_id: str) -> None:
        put(self._progress, consumer_id, None)

    async def reset_progress_to_revision(
        self, consumer_id: str, aggregate_identifier: AggregateIdentifier, revision: int
    ) -> None:
        check_revision(revision)
        current = self._get(consumer_id, aggregate_identifier)
        if current is None:
            return
        if revision > current.revision:
            raise ParameterInvalid("Revision must not be higher than the current one.")
        self._put(consumer_id, aggregate_identifier, Progress(revision, False))

    def _get(self, consumer_id: str, aggregate_identifier: AggregateIdentifier) -> Progress | None:
        by_aggregate = self._progress.get(consumer_id)
        if by_aggregate is None:
            return None
        return by_aggregate.get(aggregate_identifier.aggregate.id)

    def _put(
        self, consumer_id: str, aggregate_identifier: AggregateIdentifier, progress: Progress
    ) -> None:
        by_aggregate = self._progress.setdefault(consumer_id, {})
        put(by_aggregate, aggregate_identifier.aggregate.id, progress)
