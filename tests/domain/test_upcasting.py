"""The engine reads old events at the current version of their model, wherever they come from:
the event store (every read the domain offers), the flow queue, publish/subscribe."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.application.test_upcasters import received, with_flow
from wolkenkit.application.application import Application
from wolkenkit.domain.domain import Domain
from wolkenkit.messages import (
    AggregateIdentifier,
    DomainEvent,
    DomainEventState,
    DomainEventWithState,
    new_id,
)
from wolkenkit.serialization import json_object
from wolkenkit.stores.memory.domain_event_store import InMemoryDomainEventStore
from wolkenkit.testing import build_client, build_domain_event
from wolkenkit.testing.contracts._messages import collect
from wolkenkit.testing.sandbox import build_domain

#: What the upcasters make of ``{"body": "Hi"}`` at a timestamp of 7.
LIFTED = {"text": "Hi", "sent_at": 7}


@pytest.fixture
def store() -> InMemoryDomainEventStore:
    return InMemoryDomainEventStore()


@pytest.fixture
def application(tmp_path: Path) -> Application:
    return with_flow(tmp_path)


@pytest.fixture
def domain(application: Application, store: InMemoryDomainEventStore) -> Domain:
    return build_domain(application, domain_event_store=store)


def message() -> AggregateIdentifier:
    return AggregateIdentifier.of("communication", "message", new_id())


def old_sent(identifier: AggregateIdentifier, **more: Any) -> DomainEvent:
    """``sent`` as version 1 of the app stored it."""
    return build_domain_event(identifier, "sent", {"body": "Hi"}, timestamp=7, version=1, **more)


async def test_every_read_of_the_domains_store_lifts_old_events(
    domain: Domain, store: InMemoryDomainEventStore
) -> None:
    identifier = message()
    command_id = new_id()
    stored = old_sent(identifier, causation_id=command_id, correlation_id=command_id)
    await store.store_domain_events([stored])
    events = domain.domain_event_store
    aggregate_id = identifier.aggregate.id

    last = await events.get_last_domain_event(identifier)
    reads = [
        await collect(events.get_replay_for_aggregate(aggregate_id)),
        await collect(events.get_replay()),
        [positioned.domain_event for positioned in await collect(events.get_replay_by_position())],
        await collect(events.get_domain_events_by_causation_id(command_id)),
        await collect(events.get_domain_events_by_correlation_id(command_id)),
        (await events.get_replay_for_command(identifier, new_id())).domain_events,
    ]

    assert last is not None
    assert (last.data, last.version) == (LIFTED, 3)
    assert [[(event.data, event.version) for event in read] for read in reads] == [
        [(LIFTED, 3)]
    ] * len(reads)
    # What the store keeps stays as it was written.
    assert (stored.data, stored.version) == ({"body": "Hi"}, 1)


async def test_an_event_at_its_models_version_passes_as_it_is(
    domain: Domain, store: InMemoryDomainEventStore
) -> None:
    # No copy, no upcaster: reading current events costs nothing more.
    current = build_domain_event(message(), "sent", {"text": "Hi", "sent_at": 1}, version=3)
    liked = build_domain_event(current.aggregate_identifier, "liked", {"likes": 1}, revision=2)
    await store.store_domain_events([current, liked])

    read = await collect(domain.domain_event_store.get_replay())

    assert read[0] is current
    assert read[1] is liked


async def test_a_flow_lifts_an_event_an_older_process_queued(
    domain: Domain, application: Application
) -> None:
    # The flow queue outlives deploys: what an older version put there is lifted first.
    result = await domain.execute_flow("remembered", old_sent(message()))

    assert result == "acknowledge"
    assert [sent.model_dump() for sent in received(application)] == [LIFTED]


async def test_a_live_stream_lifts_an_event_an_older_process_published(
    domain: Domain, store: InMemoryDomainEventStore
) -> None:
    # A process of the older version published the event with its state; a client of this
    # one receives it at the current version, and without the version in its JSON.
    identifier = message()
    stored = old_sent(identifier)
    await store.store_domain_events([stored])
    published = DomainEventWithState.model_validate(
        {
            **json_object(stored),
            "state": DomainEventState(previous={}, next={"body": "Hi"}).to_json(),
        }
    )

    received = await domain.prepare_domain_event_for_client(published, build_client())

    assert received is not None
    assert received.data == LIFTED
    assert "version" not in received.to_json()
    assert received.to_json()["data"] == LIFTED


async def test_an_app_that_never_evolved_refuses_events_of_a_newer_version() -> None:
    # Version 2 of the chat stored this, then the deploy was rolled back to version 1.
    from tests.domain.chat_app import build_application
    from wolkenkit.errors import DomainEventVersionUnknown

    store = InMemoryDomainEventStore()
    await store.store_domain_events(
        [build_domain_event(message(), "sent", {"text": "Hi", "language": "en"}, version=2)]
    )
    domain = build_domain(build_application(), domain_event_store=store)

    with pytest.raises(DomainEventVersionUnknown, match="stored at version 2, but this app"):
        await collect(domain.domain_event_store.get_replay())
