"""Preparing a domain event for one client of the live streams (reference §3.3).

The aggregate's current state is loaded, then the event handler's ``is_authorized``,
``filter`` and ``map`` decide whether and how the client sees the event. Exceptions in these
callbacks withhold the event and are logged, never sent.
"""

from __future__ import annotations

import inspect
import logging
from typing import Any

from wolkenkit.application.services import (
    AggregatesService,
    DomainEventAuthorizationServices,
    Infrastructure,
)
from wolkenkit.domain.catalog import Catalog
from wolkenkit.domain.repository import Repository
from wolkenkit.messages import ClientMetadata, DomainEvent, DomainEventWithState
from wolkenkit.serialization import json_object, validated

logger = logging.getLogger("wolkenkit.domain.delivery")


async def _resolve(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


class DomainEventDelivery:
    def __init__(
        self,
        catalog: Catalog,
        repository: Repository,
        aggregates: AggregatesService,
        infrastructure: Infrastructure[Any, Any],
    ) -> None:
        self._catalog = catalog
        self._repository = repository
        self._aggregates = aggregates
        self._infrastructure = infrastructure.ask_only()

    async def prepare_for_client(
        self, domain_event: DomainEventWithState[Any], client: ClientMetadata
    ) -> DomainEvent[Any] | None:
        """The event as this client may see it, or ``None`` if it is withheld."""
        try:
            entry = self._catalog.domain_event(domain_event.aggregate_identifier, domain_event.name)
            instance = await self._repository.load(domain_event.aggregate_identifier)
            state = instance.entry.codec.handed_out(instance.state)
            typed_event = domain_event
            if entry.schema is not None:
                typed_event = domain_event.replaced(data=validated(entry.schema, domain_event.data))
            services = DomainEventAuthorizationServices(
                aggregates=self._aggregates,
                client=client,
                infrastructure=self._infrastructure,
                logger=instance.entry.logger,
            )
            handler = entry.handler
            if await _resolve(handler.is_authorized(state, typed_event, services)) is not True:
                return None
            if entry.has_filter and (
                await _resolve(handler.filter(state, typed_event, services)) is not True
            ):
                return None
            if entry.has_map:
                typed_event = await _resolve(handler.map(state, typed_event, services))
        except Exception:
            logger.warning(
                "Withheld domain event '%s' from a client.", domain_event.id, exc_info=True
            )
            return None
        event = typed_event.without_state()
        if entry.schema is not None and not isinstance(event.data, dict):
            event = event.replaced(data=json_object(event.data))
        return event
