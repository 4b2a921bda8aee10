"""Messages for the contract suites, with every field the suites do not care about filled in."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterable, AsyncIterator
from typing import TYPE_CHECKING, Any, TypeVar

from wolkenkit.messages import AggregateIdentifier, DomainEvent, Snapshot, new_id
from wolkenkit.testing import builders

if TYPE_CHECKING:
    from wolkenkit.stores.domain_event_store import DomainEventStore

T = TypeVar("T")


def build_aggregate_identifier(
    context_name: str = "sampleContext",
    aggregate_name: str = "sampleAggregate",
    aggregate_id: str | None = None,
) -> AggregateIdentifier:
    """An aggregate identifier with a fresh id unless one is given."""
    return AggregateIdentifier.of(context_name, aggregate_name, aggregate_id or new_id())


def build_domain_event(
    aggregate_identifier: AggregateIdentifier | None = None,
    revision: int = 1,
    *,
    data: dict[str, Any] | None = None,
    causation_id: str | None = None,
    correlation_id: str | None = None,
    timestamp: int | None = None,
    version: int = 1,
) -> DomainEvent:
    """A domain event with a fresh id; unset ids are fresh too, the timestamp is now."""
    return builders.build_domain_event(
        aggregate_identifier or build_aggregate_identifier(),
        "executed",
        {"strategy": "succeed"} if data is None else data,
        revision=revision,
        causation_id=causation_id,
        correlation_id=correlation_id,
        timestamp=timestamp,
        tags=["contract"],
        version=version,
    )


def build_domain_events(
    aggregate_identifier: AggregateIdentifier, count: int, first_revision: int = 1
) -> list[DomainEvent]:
    """``count`` consecutive events of one aggregate, starting at ``first_revision``."""
    return [
        build_domain_event(aggregate_identifier, revision)
        for revision in range(first_revision, first_revision + count)
    ]


def build_snapshot(
    aggregate_identifier: AggregateIdentifier,
    revision: int,
    state: dict[str, Any],
    state_model: str = "",
) -> Snapshot:
    return Snapshot(
        aggregate_identifier=aggregate_identifier,
        revision=revision,
        state=state,
        state_model=state_model,
    )


async def collect(iterable: AsyncIterable[T]) -> list[T]:
    """Everything an async iterator yields, as a list."""
    return [element async for element in iterable]


#: How long :func:`settle` waits for other clients' transactions to end.
SETTLE_SECONDS = 30.0


async def settle(store: DomainEventStore, count: int) -> None:
    """Waits until ``count`` events are readable by position.

    A reader by position sees nothing past a transaction that may still commit lower
    positions. On PostgreSQL that horizon spans the whole server, so any client's open
    transaction (another test suite's, say) briefly hides fresh events; a test that wants to
    read what it wrote waits for them rather than assume a quiet server."""
    deadline = time.monotonic() + SETTLE_SECONDS
    while len(await collect(store.get_replay_by_position())) < count:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{count} events did not become readable by position")
        await asyncio.sleep(0.01)


def ids(domain_events: list[DomainEvent]) -> list[str]:
    """The events' ids, to compare order without comparing whole events."""
    return [domain_event.id for domain_event in domain_events]


async def chunked(content: bytes, chunk_size: int) -> AsyncIterator[bytes]:
    """``content`` as a stream of chunks, the way an upload arrives."""
    for start in range(0, len(content), chunk_size):
        yield content[start : start + chunk_size]
