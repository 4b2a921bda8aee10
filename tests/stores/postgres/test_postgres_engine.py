"""The engine's creating commands on PostgreSQL: stored without a read, and only once, since
the store's revision check is what catches a command that was handled before."""

from __future__ import annotations

from typing import Any

import pytest

from tests.domain.chat_app import build_application
from tests.stores.helpers import set_up
from wolkenkit.domain.domain import Domain
from wolkenkit.messages import AggregateIdentifier, new_command_ids
from wolkenkit.stores import postgres
from wolkenkit.stores.domain_event_store import DomainEventStore
from wolkenkit.testing.builders import build_command
from wolkenkit.testing.contracts._messages import collect
from wolkenkit.testing.sandbox import build_domain

pytestmark = pytest.mark.postgres


def engine(store: DomainEventStore) -> Domain:
    """An engine of its own over the store, as another process would have."""
    return build_domain(build_application(), domain_event_store=store)


async def test_a_creating_command_delivered_twice_is_stored_once(
    options: dict[str, Any],
) -> None:
    command_id, aggregate_id = new_command_ids(None)
    identifier = AggregateIdentifier.of("communication", "message", aggregate_id)
    send = build_command(identifier, "send", {"text": "Hello"}, id=command_id)
    assert send.creates_aggregate()
    async with set_up(await postgres.create_domain_event_store(options)) as store:
        first = await engine(store).handle_command(send)
        await engine(store).handle_command(build_command(identifier, "like"))
        # Redelivered to an engine that does not know the aggregate: it tries the command
        # as new, PostgreSQL refuses revision 1, and the read then finds it handled.
        again = await engine(store).handle_command(send)

        events = await collect(store.get_replay_for_aggregate(aggregate_id))

    assert first.stored
    assert (again.domain_events, again.stored) == ([], False)
    assert [event.name for event in events] == ["sent", "liked"]
