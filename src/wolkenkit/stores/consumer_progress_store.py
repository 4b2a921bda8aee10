"""The consumer progress store: how far each flow got with each aggregate, and its replays."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Literal

from wolkenkit.errors import ParameterInvalid, RevisionTooLow
from wolkenkit.messages import AggregateIdentifier


@dataclass(frozen=True, slots=True)
class ReplayRange:
    """A replay of the revisions ``from_revision`` to ``to_revision`` inclusive is under way."""

    from_revision: int
    to_revision: int


IsReplaying = ReplayRange | Literal[False]


# Argument checks every backend makes, worded once.


def check_revision(revision: int) -> None:
    if revision < 0:
        raise ParameterInvalid("Revision must not be negative.")


def check_replay_range(replay: ReplayRange) -> None:
    if replay.from_revision < 1:
        raise ParameterInvalid("A replay must start at revision 1 or later.")
    if replay.from_revision > replay.to_revision:
        raise ParameterInvalid("A replay must not end before it starts.")


@dataclass(frozen=True, slots=True)
class Progress:
    revision: int
    is_replaying: IsReplaying


class ConsumerProgressStore(ABC):
    @abstractmethod
    async def setup(self) -> None: ...

    @abstractmethod
    async def destroy(self) -> None: ...

    @abstractmethod
    async def get_progress(
        self, consumer_id: str, aggregate_identifier: AggregateIdentifier
    ) -> Progress:
        """The progress, or revision 0 and not replaying when nothing is known."""

    @abstractmethod
    async def set_progress(
        self, consumer_id: str, aggregate_identifier: AggregateIdentifier, revision: int
    ) -> None:
        """Raises ``ParameterInvalid`` for a negative revision and ``RevisionTooLow`` if
        ``revision`` is not above the stored one. Leaves the replay state alone."""

    async def claim_next(
        self, consumer_id: str, aggregate_identifier: AggregateIdentifier, revision: int
    ) -> bool:
        """If the progress stands right before ``revision`` (at ``revision - 1``; unknown
        progress stands at 0), move it to ``revision``, end a replay that this reaches, and
        return ``True``; else change nothing and return ``False``.

        A flow claims an event this way before its handlers run, inside the unit of work
        that also holds their writes: the common case (the next event of an aggregate) costs
        one write instead of a read and a write. A backend that can do it in one statement
        overrides this; here it is the read and the conditional write."""
        progress = await self.get_progress(consumer_id, aggregate_identifier)
        if progress.revision != revision - 1:
            return False
        try:
            await self.set_progress(consumer_id, aggregate_identifier, revision)
        except RevisionTooLow:
            return False
        replaying = progress.is_replaying
        if replaying is not False and replaying.to_revision <= revision:
            await self.set_is_replaying(consumer_id, aggregate_identifier, False)
        return True

    @abstractmethod
    async def set_is_replaying(
        self,
        consumer_id: str,
        aggregate_identifier: AggregateIdentifier,
        is_replaying: IsReplaying,
    ) -> None:
        """Set a replay range (``from >= 1``, ``from <= to``, else ``ParameterInvalid``;
        ``FlowIsAlreadyReplaying`` while one is set) or clear it, which always succeeds."""

    @abstractmethod
    async def reset_progress(self, consumer_id: str) -> None:
        """Forget everything about the consumer."""

    @abstractmethod
    async def reset_progress_to_revision(
        self, consumer_id: str, aggregate_identifier: AggregateIdentifier, revision: int
    ) -> None:
        """Move progress back to ``revision`` and clear the replay; ``ParameterInvalid`` if
        negative or above the current revision; nothing happens when nothing is known."""
