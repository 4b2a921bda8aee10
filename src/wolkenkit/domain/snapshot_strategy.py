"""When to store a snapshot of an aggregate (reference §5, ``SNAPSHOT_STRATEGY``).

A strategy is judged after every rehydration and after every command that stored events,
on the number of events since the last snapshot and the time the last full replay took.
Counting events since the snapshot (rather than per replay) keeps snapshots coming for an
aggregate that stays in the engine's cache and is never replayed in full.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class _Strategy(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def should_snapshot(self, events_since_snapshot: int, replay_duration_ms: float) -> bool:
        raise NotImplementedError


class _RevisionConfiguration(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    revision_limit: Annotated[int, Field(ge=1, alias="revisionLimit")]


class _DurationConfiguration(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
    duration_limit: Annotated[int, Field(ge=1, alias="durationLimit")]


class _LowestConfiguration(_RevisionConfiguration):
    duration_limit: Annotated[int, Field(ge=1, alias="durationLimit")]


class RevisionStrategy(_Strategy):
    """Snapshot once ``revisionLimit`` events have accumulated since the last snapshot."""

    name: Literal["revision"]
    configuration: _RevisionConfiguration

    def should_snapshot(self, events_since_snapshot: int, replay_duration_ms: float) -> bool:
        return events_since_snapshot >= self.configuration.revision_limit


class DurationStrategy(_Strategy):
    """Snapshot when replaying the events took at least ``durationLimit`` ms."""

    name: Literal["duration"]
    configuration: _DurationConfiguration

    def should_snapshot(self, events_since_snapshot: int, replay_duration_ms: float) -> bool:
        return events_since_snapshot > 0 and replay_duration_ms >= self.configuration.duration_limit


class LowestStrategy(_Strategy):
    """Snapshot when either the revision or the duration limit is reached."""

    name: Literal["lowest"]
    configuration: _LowestConfiguration

    def should_snapshot(self, events_since_snapshot: int, replay_duration_ms: float) -> bool:
        configuration = self.configuration
        return events_since_snapshot > 0 and (
            events_since_snapshot >= configuration.revision_limit
            or replay_duration_ms >= configuration.duration_limit
        )


class AlwaysStrategy(_Strategy):
    name: Literal["always"]

    def should_snapshot(self, events_since_snapshot: int, replay_duration_ms: float) -> bool:
        return events_since_snapshot > 0


class NeverStrategy(_Strategy):
    name: Literal["never"]

    def should_snapshot(self, events_since_snapshot: int, replay_duration_ms: float) -> bool:
        return False


SnapshotStrategy = Annotated[
    RevisionStrategy | DurationStrategy | LowestStrategy | AlwaysStrategy | NeverStrategy,
    Field(discriminator="name"),
]

_adapter: TypeAdapter[SnapshotStrategy] = TypeAdapter(SnapshotStrategy)

DEFAULT_SNAPSHOT_STRATEGY: SnapshotStrategy = RevisionStrategy(
    name="revision", configuration=_RevisionConfiguration(revision_limit=100)
)


def parse_snapshot_strategy(value: Any) -> SnapshotStrategy:
    """A strategy from its JSON form, e.g. ``{"name": "revision", "configuration":
    {"revisionLimit": 100}}``; raises ``pydantic.ValidationError`` when malformed."""
    return _adapter.validate_python(value)
