"""The in-memory stores against every contract, plus what only the in-memory stores promise."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.stores.helpers import queue_stores, set_up
from wolkenkit.stores.memory.consumer_progress_store import InMemoryConsumerProgressStore
from wolkenkit.stores.memory.domain_event_store import InMemoryDomainEventStore
from wolkenkit.stores.memory.file_store import InMemoryFileStore
from wolkenkit.stores.memory.lock_store import InMemoryLockStore
from wolkenkit.stores.memory.priority_queue_store import InMemoryPriorityQueueStore
from wolkenkit.stores.memory.publish_subscribe import (
    InMemoryPublisher,
    InMemoryPubSub,
    InMemorySubscriber,
)
from wolkenkit.stores.memory.view_store import InMemoryViewStore
from wolkenkit.testing.contracts._messages import (
    build_aggregate_identifier,
    build_domain_events,
    collect,
)
from wolkenkit.testing.contracts.consumer_progress_store import ConsumerProgressStoreContract
from wolkenkit.testing.contracts.domain_event_store import DomainEventStoreContract
from wolkenkit.testing.contracts.file_store import FileStoreContract
from wolkenkit.testing.contracts.lock_store import LockStoreContract
from wolkenkit.testing.contracts.priority_queue_store import (
    MakePriorityQueueStore,
    PriorityQueueStoreContract,
    QueueItem,
    Store,
    does_identifier_match_item,
)
from wolkenkit.testing.contracts.publish_subscribe import PublishSubscribeContract
from wolkenkit.testing.contracts.view_store import Reopen, ViewStoreContract


class TestInMemoryDomainEventStore(DomainEventStoreContract):
    @pytest.fixture
    async def store(self) -> AsyncIterator[InMemoryDomainEventStore]:
        async with set_up(InMemoryDomainEventStore()) as store:
            yield store

    async def test_positions_count_from_one_without_gaps(
        self, store: InMemoryDomainEventStore
    ) -> None:
        # In memory nothing can fail half-way, so positions are exactly 1, 2, 3, ...
        await store.store_domain_events(build_domain_events(build_aggregate_identifier(), 4))

        replay = await collect(store.get_replay_by_position())

        assert [positioned.position for positioned in replay] == [1, 2, 3, 4]

    async def test_destroying_forgets_everything(self, store: InMemoryDomainEventStore) -> None:
        aggregate_identifier = build_aggregate_identifier()
        await store.store_domain_events(build_domain_events(aggregate_identifier, 2))

        await store.destroy()

        assert await store.get_last_domain_event(aggregate_identifier) is None
        assert await collect(store.get_replay_by_position()) == []


class TestInMemoryLockStore(LockStoreContract):
    @pytest.fixture
    async def store(self) -> AsyncIterator[InMemoryLockStore]:
        async with set_up(InMemoryLockStore()) as store:
            yield store


class TestInMemoryConsumerProgressStore(ConsumerProgressStoreContract):
    @pytest.fixture
    async def store(self) -> AsyncIterator[InMemoryConsumerProgressStore]:
        async with set_up(InMemoryConsumerProgressStore()) as store:
            yield store


class TestInMemoryPriorityQueueStore(PriorityQueueStoreContract):
    @pytest.fixture
    async def make_store(self) -> AsyncIterator[MakePriorityQueueStore]:
        async def create(expiration_time: int) -> Store:
            return InMemoryPriorityQueueStore[QueueItem, str](
                does_identifier_match_item, expiration_time=expiration_time
            )

        async with queue_stores(create) as make_store:
            yield make_store


class TestInMemoryFileStore(FileStoreContract):
    @pytest.fixture
    async def store(self) -> AsyncIterator[InMemoryFileStore]:
        async with set_up(InMemoryFileStore()) as store:
            yield store


class TestInMemoryPublishSubscribe(PublishSubscribeContract):
    @pytest.fixture
    def hub(self) -> InMemoryPubSub:
        return InMemoryPubSub()

    @pytest.fixture
    async def publisher(self, hub: InMemoryPubSub) -> AsyncIterator[InMemoryPublisher]:
        publisher = InMemoryPublisher(hub)
        yield publisher
        await publisher.destroy()

    @pytest.fixture
    async def subscriber(self, hub: InMemoryPubSub) -> AsyncIterator[InMemorySubscriber]:
        subscriber = InMemorySubscriber(hub)
        yield subscriber
        await subscriber.destroy()


class TestInMemoryViewStore(ViewStoreContract):
    @pytest.fixture
    async def store(self) -> AsyncIterator[InMemoryViewStore]:
        store = InMemoryViewStore()
        await store.setup(ViewStoreContract.tables)
        yield store
        await store.destroy()

    @pytest.fixture
    def reopen(self, store: InMemoryViewStore) -> Reopen:
        async def same() -> InMemoryViewStore:
            return store

        return same
