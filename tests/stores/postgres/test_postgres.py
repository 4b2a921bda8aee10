"""The PostgreSQL stores against every contract they support, each test in its own schema."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.stores.helpers import FuzzedQueueStore, queue_stores, set_up
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

pytestmark = pytest.mark.postgres


class TestPostgresDomainEventStore(DomainEventStoreContract):
    @pytest.fixture
    async def store(self, options: dict[str, Any]) -> AsyncIterator[DomainEventStore]:
        async with set_up(await postgres.create_domain_event_store(options)) as store:
            yield store


class TestPostgresDomainEventStoreInTinyPages(TestPostgresDomainEventStore):
    """The same contract with reads of two rows per page, so that every streamed read
    (replays, aggregate identifiers) continues across pages."""

    @pytest.fixture(autouse=True)
    def tiny_pages(self, monkeypatch: pytest.MonkeyPatch) -> None:
        monkeypatch.setattr(domain_event_store, "PREFETCH", 2)


class TestPostgresLockStore(LockStoreContract):
    @pytest.fixture
    async def store(self, options: dict[str, Any]) -> AsyncIterator[LockStore]:
        async with set_up(await postgres.create_lock_store(options)) as store:
            yield store


class TestPostgresConsumerProgressStore(ConsumerProgressStoreContract):
    @pytest.fixture
    async def store(self, options: dict[str, Any]) -> AsyncIterator[ConsumerProgressStore]:
        async with set_up(await postgres.create_consumer_progress_store(options)) as store:
            yield store


class TestPostgresPriorityQueueStore(FuzzedQueueStore, PriorityQueueStoreContract):
    @pytest.fixture
    async def make_store(self, options: dict[str, Any]) -> AsyncIterator[MakePriorityQueueStore]:
        async def create(expiration_time: int) -> Store:
            return await postgres.create_priority_queue_store(
                options, QueueItem, does_identifier_match_item, expiration_time
            )

        async with queue_stores(create) as make_store:
            yield make_store


class TestPostgresCrashSafety(CrashSafetyContract):
    pass
