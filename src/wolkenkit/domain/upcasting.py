"""Lifting stored events to the current version of their data's model.

Every event is stored with the version of its model it was written with. Whoever reads
events from outside the process (the event store, the flow queue, publish/subscribe) hands
them through ``Upcasting.current`` before anything else looks at their data: an event at its
model's version passes as it is (one dict lookup), an older one runs the upcasters of the
versions it lacks. An event of a version the app does not know yet is refused, never misread.
"""

from __future__ import annotations

from typing import Any, TypeVar

from pydantic import BaseModel

from wolkenkit import errors
from wolkenkit.domain.catalog import Catalog, DomainEventEntry
from wolkenkit.messages import DomainEvent
from wolkenkit.serialization import json_object

EventT = TypeVar("EventT", bound=DomainEvent[Any])


class Upcasting:
    """The app's events by ``(context, aggregate, event)``, each with its version and chain."""

    def __init__(self, catalog: Catalog) -> None:
        self._entries: dict[tuple[str, str, str], DomainEventEntry] = {
            (aggregate.context_name, aggregate.name, name): entry
            for aggregate in catalog.aggregates()
            for name, entry in aggregate.domain_events.items()
        }
        #: An app that never evolved reads events at version 1 without even a lookup.
        self._all_at_first_version = all(entry.version == 1 for entry in self._entries.values())

    def entry(self, domain_event: DomainEvent[Any]) -> DomainEventEntry | None:
        """The app's definition of the event, if it has one."""
        identifier = domain_event.aggregate_identifier
        return self._entries.get(
            (identifier.context.name, identifier.aggregate.name, domain_event.name)
        )

    def current(self, domain_event: EventT) -> EventT:
        """The event with its data at the current version of its model: the event itself
        if it is at that version, else a copy. An event the app does not define passes
        unchanged (its readers say that it is unknown).

        Raises ``DomainEventVersionUnknown`` for a version beyond the model's, and
        ``UpcasterFailed`` when an upcaster does."""
        if self._all_at_first_version and domain_event.version == 1:
            return domain_event
        entry = self._to_lift(domain_event)
        if entry is None:
            return domain_event
        return domain_event.replaced(data=_lifted_data(entry, domain_event), version=entry.version)

    def current_in_place(self, domain_event: EventT) -> EventT:
        """``current`` for an event nobody else holds (one a backend decoded for this read):
        lifted in place, which spares the copy of every old event a replay reads."""
        if self._all_at_first_version and domain_event.version == 1:
            return domain_event
        entry = self._to_lift(domain_event)
        if entry is not None:
            fields = domain_event.__dict__
            fields["data"] = _lifted_data(entry, domain_event)
            fields["version"] = entry.version
        return domain_event

    def _to_lift(self, domain_event: DomainEvent[Any]) -> DomainEventEntry | None:
        """The event's definition if its data is not at its model's version."""
        identifier = domain_event.aggregate_identifier
        entry = self._entries.get(
            (identifier.context.name, identifier.aggregate.name, domain_event.name)
        )
        return None if entry is None or entry.version == domain_event.version else entry


def _lifted_data(entry: DomainEventEntry, domain_event: DomainEvent[Any]) -> dict[str, Any]:
    """``lifted_data``, with errors that name the event."""
    try:
        return lifted_data(entry, domain_event)
    except (errors.DomainEventVersionUnknown, errors.UpcasterFailed) as error:
        raise type(error)(f"Reading {_described(domain_event)} failed: {error.message}") from error


def lifted_data(entry: DomainEventEntry, domain_event: DomainEvent[Any]) -> dict[str, Any]:
    """The event's data at ``entry``'s version, lifted by the upcasters of the versions it
    lacks. Raises ``DomainEventVersionUnknown`` for a version beyond the model's and
    ``UpcasterFailed`` when an upcaster fails; their messages do not name the event."""
    stored = domain_event.version
    if stored > entry.version:
        raise errors.DomainEventVersionUnknown(
            f"It is stored at version {stored}, but this app knows its data up to version "
            f"{entry.version}: a newer version of the app wrote it."
        )
    stored_data = domain_event.data
    # A copy: an upcaster that changes what it is given must not change the stored event
    # (the in-memory store hands out the events it keeps).
    data: dict[str, Any] = (
        stored_data.copy()
        if type(stored_data) is dict
        else json_object(stored_data)
        if isinstance(stored_data, BaseModel)
        else dict(stored_data)
    )
    for upcaster in entry.upcasters[stored - 1 :]:
        try:
            data = upcaster.lift(data, domain_event.metadata)
        except Exception as error:
            raise errors.UpcasterFailed(
                f"Upcaster '{upcaster.function.__name__}' ({upcaster.where}) failed: "
                f"{type(error).__name__}: {error}"
            ) from error
    return data


def _described(domain_event: DomainEvent[Any]) -> str:
    return (
        f"event '{domain_event.fully_qualified_name}' of aggregate "
        f"{domain_event.aggregate_identifier.aggregate.id} at revision "
        f"{domain_event.metadata.revision}"
    )
