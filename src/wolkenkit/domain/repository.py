"""Rehydrates aggregates from snapshot plus events, keeps hot ones cached, takes snapshots.

A snapshot taken under another state model (its fingerprint differs) is ignored: the aggregate
is rehydrated from its events, and a new snapshot replaces the old one when one is due.

The cache is only an optimisation: every load still reads the events stored after the cached
revision, so several processes writing the same aggregate never see stale state. A load for a
command reads that, the snapshot of an uncached aggregate and the command's idempotency check
in one call to the store (``get_replay_for_command``), one round trip on a database server.
The one load that needs no read is that of an aggregate a command creates (``new``).
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
        self._cache: OrderedDict[str, _Cached] = OrderedDict()
        self._cache_size = cache_size

    @staticmethod
    def _key(identifier: AggregateIdentifier) -> str:
        # The aggregate id alone, as the event stores key streams (so does the reference):
        # ids are uuids, unique across kinds. ``_cached`` also compares the aggregate entry.
        return identifier.aggregate.id

    async def load(self, identifier: AggregateIdentifier) -> AggregateInstance:
        """The aggregate at its latest stored revision."""
        entry = self._catalog.aggregate_of(identifier)
        cached = self._cached(identifier, entry)
        replay_started = time.perf_counter()
        if cached is None:
            instance = await self._from_snapshot(identifier, entry)
        else:
            instance = self._from_cache(identifier, entry, cached)
        revision_before = instance.revision
        async for domain_event in self._store.get_replay_for_aggregate(
            identifier.aggregate.id, from_revision=instance.revision + 1
        ):
            instance.apply_stored(domain_event)
        await self._loaded(instance, revision_before, cached is None, replay_started)
        return instance

    async def load_for_command(
        self, identifier: AggregateIdentifier, command_id: str
    ) -> tuple[AggregateInstance, bool]:
        """The aggregate at its latest stored revision, and whether events of the command
        are stored already (it was handled before), read from the store in one go."""
        entry = self._catalog.aggregate_of(identifier)
        cached = self._cached(identifier, entry)
        replay_started = time.perf_counter()
        replay = await self._store.get_replay_for_command(
            identifier, command_id, None if cached is None else cached.revision + 1
        )
        if replay.snapshot is not None and not _fits(replay.snapshot, entry):
            # Taken under another state model: the events from the start tell the truth.
            replay = await self._store.get_replay_for_command(identifier, command_id, 1)
        if cached is not None:
            instance = self._from_cache(identifier, entry, cached)
        elif replay.snapshot is not None:
            instance = self._from_state(identifier, entry, replay.snapshot)
        else:
            instance = self._pristine(identifier, entry)
        revision_before = instance.revision
        for domain_event in replay.domain_events:
            instance.apply_stored(domain_event)
        await self._loaded(instance, revision_before, cached is None, replay_started)
        return instance, replay.handled

    def new(
        self, identifier: AggregateIdentifier, entry: AggregateEntry
    ) -> AggregateInstance | None:
        """The aggregate (of the given entry) at revision 0 without reading the store, for a
        command that creates it; ``None`` if this process knows it already (then it must be
        loaded)."""
        if self._cached(identifier, entry) is not None:
            return None
        return self._pristine(identifier, entry)

    def _cached(self, identifier: AggregateIdentifier, entry: AggregateEntry) -> _Cached | None:
        cached = self._cache.get(self._key(identifier))
        return cached if cached is not None and cached.entry is entry else None

    def _from_cache(
        self, identifier: AggregateIdentifier, entry: AggregateEntry, cached: _Cached
    ) -> AggregateInstance:
        self._cache.move_to_end(self._key(identifier))
        return AggregateInstance(
            identifier,
            entry,
            self._event_services(entry),
            cached.state,
            cached.revision,
            cached.snapshot_revision,
            cached.state_json,
        )

    async def _loaded(
        self,
        instance: AggregateInstance,
        revision_before: int,
        full_replay: bool,
        replay_started: float,
    ) -> None:
        """Cache a freshly loaded instance, and snapshot it if a replay made that due."""
        if instance.revision != revision_before:
            duration_ms = (time.perf_counter() - replay_started) * 1000 if full_replay else 0.0
            await self._remember(instance, duration_ms)
        elif full_replay:
            self._put(self._key(instance.identifier), instance)

    async def _from_snapshot(
        self, identifier: AggregateIdentifier, entry: AggregateEntry
    ) -> AggregateInstance:
        snapshot = await self._store.get_snapshot(identifier)
        if snapshot is None or not _fits(snapshot, entry):
            return self._pristine(identifier, entry)
        return self._from_state(identifier, entry, snapshot)

    def _pristine(
        self, identifier: AggregateIdentifier, entry: AggregateEntry
    ) -> AggregateInstance:
        services = self._event_services(entry)
        return AggregateInstance(identifier, entry, services, entry.codec.initial(), 0, 0)

    def _from_state(
        self, identifier: AggregateIdentifier, entry: AggregateEntry, snapshot: Snapshot
    ) -> AggregateInstance:
        state = entry.codec.from_json(snapshot.state)
        return AggregateInstance(
            identifier,
            entry,
            self._event_services(entry),
            state,
            snapshot.revision,
            snapshot.revision,
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
        return instance.entry.codec.handed_out(instance.state)

    async def _remember(self, instance: AggregateInstance, replay_duration_ms: float) -> None:
        events_since_snapshot = instance.revision - instance.snapshot_revision
        if self._strategy.should_snapshot(events_since_snapshot, replay_duration_ms):
            await self._store.store_snapshot(
                Snapshot(
                    aggregate_identifier=instance.identifier,
                    revision=instance.revision,
                    state=instance.state_json(),
                    state_model=instance.entry.codec.fingerprint,
                )
            )
            instance.snapshot_revision = instance.revision
        self._put(self._key(instance.identifier), instance)

    def _put(self, key: str, instance: AggregateInstance) -> None:
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


def _fits(snapshot: Snapshot, entry: AggregateEntry) -> bool:
    """Whether the snapshot was taken under the aggregate's current state model; one of
    another model is never read, since its state may not mean what the fields now say."""
    return snapshot.state_model == entry.codec.fingerprint
