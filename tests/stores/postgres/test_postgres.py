"""The PostgreSQL stores against every contract they support, each test in its own schema."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from wolkenkit.stores import postgres
from wolkenkit.stores.consumer_progress_store import ConsumerProgressStore
from wolkenkit.stores.domain_event_store import DomainEventStore
from wolkenkit.stores.lock_store import LockStore
from wolkenkit.stores.postgres import domain_event_store
from wolkenkit.testing.contracts.consumer_progress_store import ConsumerProgressStoreContract
from wolkenkit.testing.contracts.crash_safety import CrashSafetyContract
from wolkenkit.testing.contracts.domain_event_store import DomainEventStoreContract
from wolkenkit.testing.contracts.lock_store import LockStoreContract
from wolkenkit.testing.contracts.priority_queue_store import (
    MakePriorityQueueStore,
    PriorityQueueStoreContract,
    QueueItem,
    Store,
    does_identifier_match_item,
)
from wolkenkit.testing.queue_fuzz import FuzzSettings, fuzz_priority_queue_store

pytestmark = pytest.mark.postgres


class TestPostgresDomainEventStore(DomainEventStoreContract):
    @pytest.fixture
    async def store(self, options: dict[str, Any]) -> AsyncIterator[DomainEventStore]:
        store = await postgres.create_domain_event_store(options)
        await store.setup()
        yield store
        await store.destroy()


class TestPostgresDomainEventStoreInTinyPages(TestPostgresDomainEventStore):
    """The same contract with reads of two rows per page, so that every streamed read
    (replays, aggregate identifiers) continues across pages."""

    @pytest.fixture(autouse=True)
    def tiny_pages(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(domain_event_store, "PREFETCH", 2)


class TestPostgresLockStore(LockStoreContract):
    @pytest.fixture
    async def store(self, options: dict[str, Any]) -> AsyncIterator[LockStore]:
        store = await postgres.create_lock_store(options)
        await store.setup()
        yield store
        await store.destroy()


class TestPostgresConsumerProgressStore(ConsumerProgressStoreContract):
    @pytest.fixture
    async def store(self, options: dict[str, Any]) -> AsyncIterator[ConsumerProgressStore]:
        store = await postgres.create_consumer_progress_store(options)
        await store.setup()
        yield store
        await store.destroy()


class TestPostgresPriorityQueueStore(PriorityQueueStoreContract):
    @pytest.fixture
    async def make_store(self, options: dict[str, Any]) -> AsyncIterator[MakePriorityQueueStore]:
        made: list[Store] = []

        async def make_store(expiration_time: int) -> Store:
            store = await postgres.create_priority_queue_store(
                options, QueueItem, does_identifier_match_item, expiration_time
            )
            await store.setup()
            made.append(store)
            return store

        yield make_store
        for store in made:
            await store.destroy()

    async def test_the_fuzzer_finds_nothing_wrong(self, make_store: MakePriorityQueueStore) -> None:
        # Every store instance has a pool of its own, so the fuzzer's workers compete as
        # separate processes would.
        report = await fuzz_priority_queue_store(make_store, FuzzSettings.from_environment())

        assert report.unexercised() == []


class TestPostgresCrashSafety(CrashSafetyContract):
    pass
