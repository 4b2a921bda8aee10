"""The workloads of ``stores.py`` that run through our own stores and engine.

Every workload runs for a fixed time and counts what completed; concurrent clients are
asyncio tasks sharing one store, as command workers of one process do. Messages are made
from templates with ``replaced`` (a few µs), so the clock measures the stores, not pydantic.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from wolkenkit.application.application import Application
from wolkenkit.domain.domain import Domain
from wolkenkit.messages import AggregateIdentifier, CommandWithMetadata, DomainEvent, new_id
from wolkenkit.stores.domain_event_store import DomainEventStore
from wolkenkit.testing import build_command
from wolkenkit.testing.builders import build_domain_event
from wolkenkit.testing.sandbox import build_domain

#: Aggregates the ``like`` workload spreads its commands over.
LIKED_AGGREGATES = 100
#: Events of each aggregate in the ``like`` workload on long streams.
LONG_HISTORY = 500
#: Events per transaction of the append workload.
APPEND_BATCH = 100


@dataclass
class Rate:
    """``count`` units (commands, events, rows) in ``seconds``."""

    count: int
    seconds: float

    @property
    def per_second(self) -> float:
        return self.count / self.seconds

    def __add__(self, other: Rate) -> Rate:
        return Rate(self.count + other.count, self.seconds + other.seconds)


#: Measures for the given number of seconds.
Run = Callable[[float], Awaitable[Rate]]


async def interleaved(runs: dict[str, Run], seconds: float, turns: int) -> dict[str, Rate]:
    """Every run for ``seconds`` in all, in ``turns`` slices taken in alternating order, so
    that a disk or processor getting faster or slower meanwhile affects all runs alike."""
    totals: dict[str, Rate] = {}
    names = list(runs)
    for turn in range(turns):
        for name in names if turn % 2 == 0 else reversed(names):
            rate = await runs[name](seconds / turns)
            totals[name] = totals[name] + rate if name in totals else rate
    return totals


async def run_clients(
    clients: int, seconds: float, operation: Callable[[], Awaitable[int]]
) -> Rate:
    """``clients`` tasks call ``operation`` (which returns the units it did, 0 to stop)
    until ``seconds`` have passed."""
    clock = time.perf_counter
    count = 0
    started = clock()
    deadline = started + seconds

    async def client() -> None:
        nonlocal count
        while clock() < deadline:
            units = await operation()
            if units == 0:
                return
            count += units

    await asyncio.gather(*(client() for _ in range(clients)))
    return Rate(count, clock() - started)


def message(aggregate_id: str | None = None) -> AggregateIdentifier:
    return AggregateIdentifier.of("communication", "message", aggregate_id or new_id())


class Commands:
    """Fresh commands of the chat sample, cheaply: copies of a template with new ids."""

    def __init__(self) -> None:
        self._send = build_command(message(), "send", {"text": "Hello, world!"})
        self._like = build_command(message(), "like", {})

    def send(self) -> CommandWithMetadata[Any]:
        """A ``send`` as the APIs make it when the client names no aggregate: the new
        aggregate gets the command's id, so the engine has nothing to load."""
        id = new_id()
        template = self._send
        identifier = template.aggregate_identifier
        identifier = identifier.replaced(aggregate=identifier.aggregate.replaced(id=id))
        metadata = template.metadata.replaced(causation_id=id, correlation_id=id)
        return template.replaced(aggregate_identifier=identifier, id=id, metadata=metadata)

    def send_to_given_id(self) -> CommandWithMetadata[Any]:
        """A ``send`` to a new aggregate whose id the client chose: the engine reads first."""
        return self._renewed(self._send, message())

    def like(self, identifier: AggregateIdentifier) -> CommandWithMetadata[Any]:
        return self._renewed(self._like, identifier)

    @staticmethod
    def _renewed(
        template: CommandWithMetadata[Any], identifier: AggregateIdentifier
    ) -> CommandWithMetadata[Any]:
        id = new_id()
        metadata = template.metadata.replaced(causation_id=id, correlation_id=id)
        return template.replaced(aggregate_identifier=identifier, id=id, metadata=metadata)


def make_domain(application: Application, store: DomainEventStore) -> Domain:
    """The engine over the store measured; every other store is in memory."""
    return build_domain(application, domain_event_store=store)


async def _handled(domain: Domain, command: CommandWithMetadata[Any]) -> int:
    outcome = await domain.handle_command(command)
    if not outcome.stored:
        raise RuntimeError(f"Command was not stored: {outcome.domain_events}")
    return 1


async def sends(domain: Domain, clients: int, seconds: float, given_ids: bool = False) -> Rate:
    """``send`` commands, each creating a new aggregate: decide and append, and with
    ``given_ids`` (aggregate ids chosen by the client) load before."""
    commands = Commands()
    make = commands.send_to_given_id if given_ids else commands.send
    return await run_clients(clients, seconds, lambda: _handled(domain, make()))


async def liked_aggregates(
    domain: Domain, store: DomainEventStore, history: int
) -> list[AggregateIdentifier]:
    """``LIKED_AGGREGATES`` messages with ``history`` events each (sent, then liked), stored
    directly, then each liked once through the engine, which replays it and snapshots it:
    as a long-running process would have them."""
    sent = build_domain_event(message(), "sent", {"text": "Hot"})
    liked = build_domain_event(message(), "liked", {"likes": 1})
    aggregates = [message() for _ in range(LIKED_AGGREGATES)]
    for aggregate in aggregates:
        events = [
            (sent if revision == 1 else liked).replaced(
                aggregate_identifier=aggregate,
                id=new_id(),
                data={"text": "Hot"} if revision == 1 else {"likes": revision - 1},
                metadata=sent.metadata.replaced(revision=revision, causation_id=new_id()),
            )
            for revision in range(1, history + 1)
        ]
        for start in range(0, history, APPEND_BATCH):
            await store.store_domain_events(events[start : start + APPEND_BATCH])
        await domain.handle_command(build_command(aggregate, "like", {}))
    return aggregates


async def likes(
    domain: Domain, aggregates: list[AggregateIdentifier], clients: int, seconds: float
) -> Rate:
    """``like`` commands, each for one of the aggregates at random. (Taking turns instead
    would bring all of them to a snapshot, every 100 events, at the same moment.)"""
    commands = Commands()
    choose = random.Random(len(aggregates)).choice

    def next_like() -> Awaitable[int]:
        return _handled(domain, commands.like(choose(aggregates)))

    return await run_clients(clients, seconds, next_like)


def event_batches(count: int) -> list[list[DomainEvent]]:
    """``count`` batches of ``APPEND_BATCH`` events, each batch a new aggregate's first."""
    template = build_domain_event(message(), "sent", {"text": "Hello, world!"})
    batches = []
    for _ in range(count):
        identifier = message()
        batches.append(
            [
                template.replaced(
                    aggregate_identifier=identifier,
                    id=new_id(),
                    metadata=template.metadata.replaced(revision=revision),
                )
                for revision in range(1, APPEND_BATCH + 1)
            ]
        )
    return batches


async def appends(store: DomainEventStore, seconds: float, batches: int) -> Rate:
    """One client storing prepared batches of ``APPEND_BATCH`` events, one per transaction,
    until the time is up or the batches run out."""
    prepared = iter(event_batches(batches))

    async def append() -> int:
        batch = next(prepared, None)
        if batch is None:
            return 0
        await store.store_domain_events(batch)
        return len(batch)

    return await run_clients(1, seconds, append)


async def replay(store: DomainEventStore) -> Rate:
    """Everything the store holds, in global order, decoded into events."""
    started = time.perf_counter()
    count = 0
    async for _ in store.get_replay_by_position():
        count += 1
    return Rate(count, time.perf_counter() - started)
