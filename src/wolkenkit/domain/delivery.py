"""Preparing a domain event for the clients of the live streams (reference §3.3).

The aggregate's current state is loaded once per event, however many clients stream it; then
the event handler's ``is_authorized``, ``filter`` and ``map`` decide, per client, whether and
how the client sees the event. Exceptions in these callbacks withhold the event and are logged,
never sent. The state and the typed event are shared by every client's callbacks: they read
them, as the handlers' signatures promise, and do not change them.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from functools import cached_property
from typing import Any, TypeVar

from wolkenkit.application.services import (
    AggregatesService,
    DomainEventAuthorizationServices,
    Infrastructure,
)
from wolkenkit.awaiting import settled
from wolkenkit.domain.catalog import Catalog, DomainEventEntry
from wolkenkit.domain.repository import Repository
from wolkenkit.domain.upcasting import Upcasting
from wolkenkit.errors import WolkenkitError
from wolkenkit.messages import ClientMetadata, DomainEvent, DomainEventWithState
from wolkenkit.serialization import json_object, validated

T = TypeVar("T")

logger = logging.getLogger("wolkenkit.domain.delivery")


@dataclass(frozen=True, slots=True)
class Loaded:
    """What every client's callbacks share: the state after loading, the typed event."""

    entry: DomainEventEntry
    state: Any
    typed_event: DomainEventWithState[Any]
    logger: logging.Logger


class DomainEventDelivery:
    def __init__(
        self,
        catalog: Catalog,
        repository: Repository,
        aggregates: AggregatesService,
        infrastructure: Infrastructure[Any, Any],
        upcasting: Upcasting,
    ) -> None:
        self._catalog = catalog
        self._repository = repository
        self._aggregates = aggregates
        self._infrastructure = infrastructure.ask_only()
        self._upcasting = upcasting

    def current(self, domain_event: DomainEventWithState[Any]) -> DomainEventWithState[Any]:
        """The event at the current version of its model (a process of an older version of
        the app may have published it); as it came if it cannot be lifted, which ``load``
        then reports."""
        try:
            return self._upcasting.current(domain_event)
        except WolkenkitError:
            return domain_event

    def for_clients(self, domain_event: DomainEventWithState[Any]) -> DomainEventForClients:
        """The event on its way to any number of clients; its state starts loading now."""
        return DomainEventForClients(self, domain_event)

    async def prepare_for_client(
        self, domain_event: DomainEventWithState[Any], client: ClientMetadata
    ) -> DomainEvent[Any] | None:
        """The event as this client may see it, or ``None`` if it is withheld."""
        return await self.for_clients(domain_event).for_client(client)

    async def load(self, domain_event: DomainEventWithState[Any]) -> Loaded | None:
        """What every client's decision starts from; ``None`` withholds the event from all."""
        try:
            domain_event = self._upcasting.current(domain_event)
            entry = self._catalog.domain_event(domain_event.aggregate_identifier, domain_event.name)
            instance = await self._repository.load(domain_event.aggregate_identifier)
            # One copy for all clients: whatever they do to it stays out of the cache.
            state = instance.entry.codec.handed_out(instance.state)
            typed_event = domain_event
            if entry.schema is not None:
                typed_event = domain_event.replaced(data=validated(entry.schema, domain_event.data))
        except Exception:
            logger.warning(
                "Withheld domain event '%s' from every client.", domain_event.id, exc_info=True
            )
            return None
        return Loaded(entry, state, typed_event, instance.entry.logger)

    async def admit(
        self, loaded: Loaded, client: ClientMetadata
    ) -> DomainEventWithState[Any] | None:
        """The typed event as ``map`` made it for this client, or ``None`` if withheld."""
        entry, state, typed_event = loaded.entry, loaded.state, loaded.typed_event
        try:
            services = DomainEventAuthorizationServices(
                aggregates=self._aggregates,
                client=client,
                infrastructure=self._infrastructure,
                logger=loaded.logger,
            )
            handler = entry.handler
            if await settled(handler.is_authorized(state, typed_event, services)) is not True:
                return None
            if entry.has_filter and (
                await settled(handler.filter(state, typed_event, services)) is not True
            ):
                return None
            if entry.has_map:
                mapped: DomainEventWithState[Any] = await settled(
                    handler.map(state, typed_event, services)
                )
                return mapped
        except Exception:
            logger.warning(
                "Withheld domain event '%s' from a client.", typed_event.id, exc_info=True
            )
            return None
        return typed_event


class DomainEventForClients:
    """One domain event for every client of the live streams: the aggregate's state is loaded
    once, and that one load serves them all. A client that goes away while it waits for the
    load does not cancel it for the others."""

    def __init__(
        self, delivery: DomainEventDelivery, domain_event: DomainEventWithState[Any]
    ) -> None:
        self._delivery = delivery
        self.domain_event = delivery.current(domain_event)
        # Started now, before any stream wakes to the event, so that each finds it loaded.
        self._loading = asyncio.ensure_future(delivery.load(self.domain_event))
        self._unmapped: DomainEvent[Any] | None = None
        self._renderings: dict[Callable[[DomainEvent[Any]], Any], Any] = {}

    @cached_property
    def public_json(self) -> dict[str, Any]:
        """The event as stored, without state: what stream filters match against."""
        return self.domain_event.without_state().to_json()

    async def for_client(self, client: ClientMetadata) -> DomainEvent[Any] | None:
        """The event as this client may see it, or ``None`` if it is withheld."""
        loading = self._loading
        loaded = loading.result() if loading.done() else await asyncio.shield(loading)
        if loaded is None:
            return None
        admitted = await self._delivery.admit(loaded, client)
        if admitted is None:
            return None
        if loaded.entry.has_map:
            return _public(loaded.entry, admitted)
        # Unmapped, the event looks the same to everyone who may see it: build it once.
        if self._unmapped is None:
            self._unmapped = _public(loaded.entry, admitted)
        return self._unmapped

    def rendered(self, event: DomainEvent[Any], render: Callable[[DomainEvent[Any]], T]) -> T:
        """``render(event)`` for an event ``for_client`` returned; computed once per ``render``
        (a module-level function) for the form that every client sees alike."""
        if event is not self._unmapped:
            return render(event)
        if render not in self._renderings:
            self._renderings[render] = render(event)
        rendering: T = self._renderings[render]
        return rendering


def _public(entry: DomainEventEntry, typed_event: DomainEventWithState[Any]) -> DomainEvent[Any]:
    event = typed_event.without_state()
    if entry.schema is not None and not isinstance(event.data, dict):
        event = event.replaced(data=json_object(event.data))
    return event
