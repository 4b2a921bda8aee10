"""Snapshots are taken as each strategy says, and rehydration starts from them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.domain.chat_app import build_application
from wolkenkit.domain.domain import Domain
from wolkenkit.domain.snapshot_strategy import parse_snapshot_strategy
from wolkenkit.messages import AggregateIdentifier, DomainEvent, Snapshot, new_id
from wolkenkit.stores.domain_event_store import MAX_REVISION
from wolkenkit.stores.memory.domain_event_store import InMemoryDomainEventStore
from wolkenkit.testing.builders import build_command
from wolkenkit.testing.sandbox import build_domain


class ObservedStore(InMemoryDomainEventStore):
    """Records snapshots stored and where replays start."""

    def __init__(self, replay_delay: float = 0.0) -> None:
        super().__init__()
        self.snapshots: list[Snapshot] = []
        self.replays_from: list[int] = []
        self.replay_delay = replay_delay

    async def store_snapshot(self, snapshot: Snapshot) -> None:
        self.snapshots.append(snapshot)
        await super().store_snapshot(snapshot)

    async def get_replay_for_aggregate(
        self, aggregate_id: str, from_revision: int = 1, to_revision: int = MAX_REVISION
    ) -> AsyncIterator[DomainEvent]:
        self.replays_from.append(from_revision)
        async for event in super().get_replay_for_aggregate(
            aggregate_id, from_revision, to_revision
        ):
            await asyncio.sleep(self.replay_delay)
            yield event


def make_domain(store: InMemoryDomainEventStore, strategy: Any) -> Domain:
    return build_domain(
        build_application(),
        domain_event_store=store,
        snapshot_strategy=parse_snapshot_strategy(strategy),
    )


async def send_and_like(domain: Domain, identifier: AggregateIdentifier, likes: int) -> None:
    await domain.handle_command(build_command(identifier, "send", {"text": "Hello"}))
    for _ in range(likes):
        await domain.handle_command(build_command(identifier, "like"))


def message_id() -> AggregateIdentifier:
    return AggregateIdentifier.of("communication", "message", new_id())


async def test_revision_strategy_snapshots_every_limit_events() -> None:
    store = ObservedStore()
    domain = make_domain(store, {"name": "revision", "configuration": {"revisionLimit": 3}})
    identifier = message_id()

    await send_and_like(domain, identifier, likes=6)

    assert [snapshot.revision for snapshot in store.snapshots] == [3, 6]
    assert store.snapshots[-1].state == {"text": "Hello", "likes": 5}


async def test_rehydration_starts_from_the_latest_snapshot() -> None:
    store = ObservedStore()
    writer = make_domain(store, {"name": "revision", "configuration": {"revisionLimit": 3}})
    identifier = message_id()
    await send_and_like(writer, identifier, likes=4)

    # A fresh engine (nothing cached) reads only the events after the snapshot.
    store.replays_from.clear()
    reader = make_domain(store, {"name": "never"})
    state = await reader.read_aggregate(identifier)

    assert store.replays_from == [4]
    assert state.likes == 4


async def test_always_strategy_snapshots_after_every_change_and_never_does_not() -> None:
    always, never = ObservedStore(), ObservedStore()
    identifier = message_id()

    await send_and_like(make_domain(always, {"name": "always"}), identifier, likes=2)
    await send_and_like(make_domain(never, {"name": "never"}), identifier, likes=2)

    assert [snapshot.revision for snapshot in always.snapshots] == [1, 2, 3]
    assert never.snapshots == []


@pytest.mark.parametrize(
    "strategy",
    [
        {"name": "duration", "configuration": {"durationLimit": 5}},
        {"name": "lowest", "configuration": {"revisionLimit": 1000, "durationLimit": 5}},
    ],
)
async def test_duration_strategies_snapshot_when_a_replay_was_slow(
    strategy: dict[str, Any],
) -> None:
    store = ObservedStore()
    identifier = message_id()
    await send_and_like(make_domain(store, {"name": "never"}), identifier, likes=3)

    # Replaying four events at 2 ms each takes longer than the 5 ms limit.
    store.replay_delay = 0.002
    await make_domain(store, strategy).read_aggregate(identifier)

    assert [snapshot.revision for snapshot in store.snapshots] == [4]


async def test_a_fast_replay_takes_no_duration_snapshot() -> None:
    store = ObservedStore()
    identifier = message_id()
    await send_and_like(make_domain(store, {"name": "never"}), identifier, likes=3)

    await make_domain(
        store, {"name": "duration", "configuration": {"durationLimit": 10_000}}
    ).read_aggregate(identifier)

    assert store.snapshots == []


def test_malformed_strategies_are_refused() -> None:
    from pydantic import ValidationError

    for value in (
        {"name": "sometimes"},
        {"name": "revision"},
        {"name": "revision", "configuration": {"revisionLimit": 0}},
    ):
        with pytest.raises(ValidationError):
            parse_snapshot_strategy(value)


def _snapshot_of_another_model(identifier: AggregateIdentifier, revision: int) -> Snapshot:
    """What an older state model left: it would even validate, with the wrong numbers."""
    return Snapshot(
        aggregate_identifier=identifier,
        revision=revision,
        state={"text": "misread", "likes": 99},
        state_model="the fingerprint of an older state model",
    )


async def test_a_snapshot_of_another_state_model_is_ignored_and_replaced() -> None:
    # Once the state model changed, an old snapshot may not mean what the fields now say:
    # rehydration replays the events instead, and the next snapshot of that revision takes
    # the old one's place.
    store = ObservedStore()
    identifier = message_id()
    await send_and_like(make_domain(store, {"name": "never"}), identifier, likes=3)
    await store.store_snapshot(_snapshot_of_another_model(identifier, 4))
    store.replays_from.clear()
    reader = make_domain(store, {"name": "revision", "configuration": {"revisionLimit": 3}})

    state = await reader.read_aggregate(identifier)

    assert (state.text, state.likes) == ("Hello", 3)
    assert store.replays_from == [1]
    snapshot = await store.get_snapshot(identifier)
    assert snapshot is not None
    assert snapshot.state == {"text": "Hello", "likes": 3}
    assert (
        snapshot.state_model
        == reader.catalog.aggregate("communication", "message").codec.fingerprint
    )


async def test_a_command_ignores_a_snapshot_of_another_state_model() -> None:
    # The command's one read brings the snapshot along; it is of another model, so the
    # events are read from the start before the command is decided.
    store = ObservedStore()
    identifier = message_id()
    await send_and_like(make_domain(store, {"name": "never"}), identifier, likes=3)
    await store.store_snapshot(_snapshot_of_another_model(identifier, 4))
    domain = make_domain(store, {"name": "never"})

    outcome = await domain.handle_command(build_command(identifier, "like"))

    assert [(event.name, event.data) for event in outcome.domain_events] == [
        ("liked", {"likes": 4})
    ]


def test_the_fingerprint_of_a_state_model_follows_its_schema() -> None:
    from pydantic import BaseModel

    from wolkenkit.domain.state import StateCodec, fingerprint

    class Before(BaseModel):
        text: str = ""

    class Renamed(BaseModel):
        body: str = ""

    class Widened(BaseModel):
        text: str | None = ""

    fingerprints = {fingerprint(model) for model in (Before, Renamed, Widened)}

    assert len(fingerprints) == 3
    assert fingerprint(Before) == StateCodec(Before).fingerprint
    assert StateCodec(dict).fingerprint == ""
