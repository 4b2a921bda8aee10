"""Rehydrates aggregates from snapshot plus events, keeps hot ones cached, takes snapshots.

The cache is only an optimisation: every load still reads the events stored after the cached
revision, so several processes writing the same aggregate never see stale state.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from wolkenkit import errors
from wolkenkit.application.services import DomainEventServices
from wolkenkit.domain.aggregate_instance import AggregateInstance
from wolkenkit.domain.catalog import AggregateEntry, Catalog
from wolkenkit.domain.snapshot_strategy import SnapshotStrategy
from wolkenkit.messages import AggregateIdentifier, Snapshot
from wolkenkit.stores.domain_event_store import DomainEventStore

DEFAULT_CACHE_SIZE = 10_000

logger = logging.getLogger("wolkenkit.domain.repository")


@dataclass(slots=True)
class _Cached:
    entry: AggregateEntry
    state: Any
    state_json: dict[str, Any] | None
    revision: int
    snapshot_revision: int


class Repository:
    def __init__(
        self,
        catalog: Catalog,
        domain_event_store: DomainEventStore,
        snapshot_strategy: SnapshotStrategy,
        event_services: Callable[[AggregateEntry], DomainEventServices],
        cache_size: int = DEFAULT_CACHE_SIZE,
    ) -> None:
        self._catalog = catalog
        self._store = domain_event_store
        self._strategy = snapshot_strategy
        self._event_services = event_services
        self._cache: OrderedDict[tuple[str, str, str], _Cached] = OrderedDict()
        self._cache_size = cache_size

    @staticmethod
    def _key(identifier: AggregateIdentifier) -> tuple[str, str, str]:
        return (identifier.context.name, identifier.aggregate.name, identifier.aggregate.id)

    async def load(self, identifier: AggregateIdentifier) -> AggregateInstance:
        """The aggregate at its latest stored revision."""
        entry = self._catalog.aggregate_of(identifier)
        key = self._key(identifier)
        cached = self._cache.get(key)
        replay_started = time.perf_counter()
        if cached is not None and cached.entry is entry:
            self._cache.move_to_end(key)
            instance = AggregateInstance(
                identifier,
                entry,
                self._event_services(entry),
                cached.state,
                cached.revision,
                cached.snapshot_revision,
                cached.state_json,
            )
            full_replay = False
        else:
            instance = await self._from_snapshot(identifier, entry)
            full_replay = True
        revision_before = instance.revision
        async for domain_event in self._store.get_replay_for_aggregate(
            identifier.aggregate.id, from_revision=instance.revision + 1
        ):
            instance.apply_stored(domain_event)
        if instance.revision != revision_before:
            duration_ms = (time.perf_counter() - replay_started) * 1000 if full_replay else 0.0
            await self._remember(instance, duration_ms)
        elif full_replay:
            self._put(key, instance)
        return instance

    async def _from_snapshot(
        self, identifier: AggregateIdentifier, entry: AggregateEntry
    ) -> AggregateInstance:
        snapshot = await self._store.get_snapshot(identifier)
        services = self._event_services(entry)
        if snapshot is None:
            return AggregateInstance(identifier, entry, services, entry.codec.initial(), 0, 0)
        state = entry.codec.from_json(snapshot.state)
        return AggregateInstance(
            identifier, entry, services, state, snapshot.revision, snapshot.revision
        )

    async def committed(self, instance: AggregateInstance) -> None:
        """The instance's pending events were stored: cache it and snapshot if due."""
        await self._remember(instance, 0.0)

    def forget(self, identifier: AggregateIdentifier) -> None:
        self._cache.pop(self._key(identifier), None)

    async def read_state(self, identifier: AggregateIdentifier) -> Any:
        """For ``services.aggregates.read``: raises ``AggregateNotFound`` if pristine."""
        instance = await self.load(identifier)
        if instance.is_pristine():
            raise errors.AggregateNotFound(
                f"Aggregate '{identifier.context.name}.{identifier.aggregate.name}."
                f"{identifier.aggregate.id}' not found."
            )
        return instance.state

    async def _remember(self, instance: AggregateInstance, replay_duration_ms: float) -> None:
        events_since_snapshot = instance.revision - instance.snapshot_revision
        if self._strategy.should_snapshot(events_since_snapshot, replay_duration_ms):
            await self._store.store_snapshot(
                Snapshot(
                    aggregate_identifier=instance.identifier,
                    revision=instance.revision,
                    state=instance.state_json(),
                )
            )
            instance.snapshot_revision = instance.revision
        self._put(self._key(instance.identifier), instance)

    def _put(self, key: tuple[str, str, str], instance: AggregateInstance) -> None:
        self._cache[key] = _Cached(
            instance.entry,
            instance.state,
            instance.cached_state_json(),
            instance.revision,
            instance.snapshot_revision,
        )
        self._cache.move_to_end(key)
        if len(self._cache) > self._cache_size:
            self._cache.popitem(last=False)
