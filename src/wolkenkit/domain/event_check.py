"""The check before a deploy: does every stored event fit the app that is about to read it?

Each event is read by position, lifted by the app's upcasters and validated against its
current model, exactly as the engine will read it; what fails is reported with the event's
aggregate, revision and position. Events stream through one at a time, so the check runs in
constant memory however many there are.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError

from wolkenkit import errors
from wolkenkit.domain.catalog import Catalog, describe_validation_error
from wolkenkit.domain.upcasting import Upcasting, lifted_data
from wolkenkit.messages import DomainEvent
from wolkenkit.serialization import validated
from wolkenkit.stores.domain_event_store import DomainEventStore

#: Events between two reports of progress.
PROGRESS_STEP = 500


@dataclass(frozen=True, slots=True)
class EventProblem:
    """A stored event the app cannot read: where it is, and why."""

    position: int
    domain_event: DomainEvent[Any]
    problem: str


def event_problem(upcasting: Upcasting, domain_event: DomainEvent[Any]) -> str | None:
    """Why the app cannot read the event as stored, or ``None`` when it can."""
    entry = upcasting.entry(domain_event)
    if entry is None:
        return "The app defines no such event."
    try:
        data = lifted_data(entry, domain_event)
    except (errors.DomainEventVersionUnknown, errors.UpcasterFailed) as error:
        return error.message
    if entry.schema is None:
        return None
    try:
        validated(entry.schema, data)
    except ValidationError as error:
        return f"Its data does not fit {entry.schema.__name__}: {describe_validation_error(error)}"
    return None


async def check_events(
    store: DomainEventStore,
    catalog: Catalog,
    on_progress: Callable[[int], None] = lambda checked: None,
) -> AsyncIterator[EventProblem]:
    """The problems of every stored event, in the order of positions. ``on_progress`` hears
    how many more events were checked, every ``PROGRESS_STEP`` and at the end."""
    upcasting = Upcasting(catalog)
    unreported = 0
    async for positioned in store.get_replay_by_position():
        domain_event = positioned.domain_event
        problem = event_problem(upcasting, domain_event)
        if problem is not None:
            yield EventProblem(positioned.position, domain_event, problem)
        unreported += 1
        if unreported == PROGRESS_STEP:
            on_progress(unreported)
            unreported = 0
    if unreported:
        on_progress(unreported)
