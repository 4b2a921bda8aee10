"""PostgreSQL backends (asyncpg) for ``{"type": "Postgres", ...}``.

Options are the reference's: ``hostName``, ``port`` (5432), ``userName``, ``password`` (empty),
``database``, ``encryptConnection`` (``false``, ``true`` or ``{rejectUnauthorized, ca,
privateKey, certificate}`` with PEM strings) and ``tableNames``; the view store, whose tables
the app declares, takes ``tablePrefix`` (``view_``) instead. One option is ours:
``schema`` puts the tables into that schema (created by ``setup()``) instead of the connection's
default, so several applications or test runs can share a database. Each factory function
validates its options and connects before it returns.

Publishers and subscribers use LISTEN/NOTIFY; for them ``schema`` is a namespace that keeps
the channels of applications sharing a database apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel

from wolkenkit.stores.options import parse_options
from wolkenkit.stores.postgres.connection import (
    PostgresOptions,
    connector,
    create_pool,
    start,
)
from wolkenkit.stores.postgres.consumer_progress_store import STORE as PROGRESS_STORE
from wolkenkit.stores.postgres.consumer_progress_store import (
    ConsumerProgressStoreOptions,
    PostgresConsumerProgressStore,
)
from wolkenkit.stores.postgres.domain_event_store import STORE as DOMAIN_EVENT_STORE
from wolkenkit.stores.postgres.domain_event_store import (
    DomainEventStoreOptions,
    PostgresDomainEventStore,
)
from wolkenkit.stores.postgres.lock_store import STORE as LOCK_STORE
from wolkenkit.stores.postgres.lock_store import LockStoreOptions, PostgresLockStore
from wolkenkit.stores.postgres.priority_queue_store import STORE as QUEUE_STORE
from wolkenkit.stores.postgres.priority_queue_store import (
    PostgresPriorityQueueStore,
    PriorityQueueStoreOptions,
)
from wolkenkit.stores.postgres.publish_subscribe import (
    PUBLISHER,
    SUBSCRIBER,
    PostgresPublisher,
    PostgresSubscriber,
)
from wolkenkit.stores.postgres.view_store import STORE as VIEW_STORE
from wolkenkit.stores.postgres.view_store import PostgresViewStore, ViewStoreOptions
from wolkenkit.stores.priority_queue_store import DoesIdentifierMatchItem

__all__ = [
    "PostgresConsumerProgressStore",
    "PostgresDomainEventStore",
    "PostgresLockStore",
    "PostgresPriorityQueueStore",
    "PostgresPublisher",
    "PostgresSubscriber",
    "PostgresViewStore",
    "create_consumer_progress_store",
    "create_domain_event_store",
    "create_lock_store",
    "create_priority_queue_store",
    "create_publisher",
    "create_subscriber",
    "create_view_store",
]

ItemT = TypeVar("ItemT", bound=BaseModel)
IdentifierT = TypeVar("IdentifierT")


async def create_domain_event_store(options: Mapping[str, Any]) -> PostgresDomainEventStore:
    parsed = parse_options(DomainEventStoreOptions, options, DOMAIN_EVENT_STORE)
    return PostgresDomainEventStore(await create_pool(parsed, DOMAIN_EVENT_STORE), parsed)


async def create_lock_store(options: Mapping[str, Any]) -> PostgresLockStore:
    parsed = parse_options(LockStoreOptions, options, LOCK_STORE)
    return PostgresLockStore(await create_pool(parsed, LOCK_STORE), parsed)


async def create_consumer_progress_store(
    options: Mapping[str, Any],
) -> PostgresConsumerProgressStore:
    parsed = parse_options(ConsumerProgressStoreOptions, options, PROGRESS_STORE)
    return PostgresConsumerProgressStore(await create_pool(parsed, PROGRESS_STORE), parsed)


async def create_view_store(options: Mapping[str, Any]) -> PostgresViewStore:
    parsed = parse_options(ViewStoreOptions, options, VIEW_STORE)
    return PostgresViewStore(await create_pool(parsed, VIEW_STORE), parsed)


async def create_priority_queue_store(
    options: Mapping[str, Any],
    item_model: type[ItemT],
    does_identifier_match_item: DoesIdentifierMatchItem[ItemT, IdentifierT],
    expiration_time: int,
) -> PostgresPriorityQueueStore[ItemT, IdentifierT]:
    parsed = parse_options(PriorityQueueStoreOptions, options, QUEUE_STORE)
    return PostgresPriorityQueueStore(
        await create_pool(parsed, QUEUE_STORE),
        parsed,
        item_model,
        does_identifier_match_item,
        expiration_time,
    )


async def create_publisher(options: Mapping[str, Any]) -> PostgresPublisher:
    parsed = parse_options(PostgresOptions, options, PUBLISHER)
    return PostgresPublisher(await create_pool(parsed, PUBLISHER), parsed.schema_name)


async def create_subscriber(options: Mapping[str, Any]) -> PostgresSubscriber:
    parsed = parse_options(PostgresOptions, options, SUBSCRIBER)
    subscriber = PostgresSubscriber(connector(parsed, SUBSCRIBER), parsed.schema_name)
    await start(subscriber.start, parsed, SUBSCRIBER)
    return subscriber
