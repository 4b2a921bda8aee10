"""MariaDB/MySQL backends: domain events, locks, consumer progress, priority queues and views.

The factory functions below serve ``wolkenkit.stores.factory`` for ``{"type": "MariaDb"}``
and ``{"type": "MySql"}``, which share this one implementation (MariaDB 10.6+ or MySQL 8+:
``SKIP LOCKED`` is needed). Each validates its options and connects before it returns, so bad
options and unreachable servers fail at start-up in one line.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel

from wolkenkit.stores.mariadb.consumer_progress_store import MariaDbConsumerProgressStore
from wolkenkit.stores.mariadb.database import PRODUCT_NAMES, connect
from wolkenkit.stores.mariadb.domain_event_store import MariaDbDomainEventStore
from wolkenkit.stores.mariadb.lock_store import MariaDbLockStore
from wolkenkit.stores.mariadb.options import (
    ConsumerProgressStoreOptions,
    DomainEventStoreOptions,
    LockStoreOptions,
    PriorityQueueStoreOptions,
    ViewStoreOptions,
)
from wolkenkit.stores.mariadb.priority_queue_store import MariaDbPriorityQueueStore
from wolkenkit.stores.mariadb.view_store import MariaDbViewStore
from wolkenkit.stores.options import parse_options
from wolkenkit.stores.priority_queue_store import DoesIdentifierMatchItem

__all__ = [
    "MariaDbConsumerProgressStore",
    "MariaDbDomainEventStore",
    "MariaDbLockStore",
    "MariaDbPriorityQueueStore",
    "MariaDbViewStore",
    "create_consumer_progress_store",
    "create_domain_event_store",
    "create_lock_store",
    "create_priority_queue_store",
    "create_view_store",
]

ItemT = TypeVar("ItemT", bound=BaseModel)
IdentifierT = TypeVar("IdentifierT")


def _store_name(options: Mapping[str, Any], kind: str) -> str:
    """``MariaDB lock store``, or ``MySQL lock store`` for ``{"type": "MySql"}``."""
    return f"{PRODUCT_NAMES.get(str(options.get('type')), 'MariaDB')} {kind}"


async def create_domain_event_store(options: Mapping[str, Any]) -> MariaDbDomainEventStore:
    store = _store_name(options, "domain event store")
    parsed = parse_options(DomainEventStoreOptions, options, store)
    return MariaDbDomainEventStore(await connect(parsed, store), parsed.table_names)


async def create_lock_store(options: Mapping[str, Any]) -> MariaDbLockStore:
    store = _store_name(options, "lock store")
    parsed = parse_options(LockStoreOptions, options, store)
    return MariaDbLockStore(await connect(parsed, store), parsed.table_names)


async def create_consumer_progress_store(
    options: Mapping[str, Any],
) -> MariaDbConsumerProgressStore:
    store = _store_name(options, "consumer progress store")
    parsed = parse_options(ConsumerProgressStoreOptions, options, store)
    return MariaDbConsumerProgressStore(await connect(parsed, store), parsed.table_names)


async def create_priority_queue_store(
    options: Mapping[str, Any],
    item_model: type[ItemT],
    does_identifier_match_item: DoesIdentifierMatchItem[ItemT, IdentifierT],
    expiration_time: int,
) -> MariaDbPriorityQueueStore[ItemT, IdentifierT]:
    store = _store_name(options, "priority queue store")
    parsed = parse_options(PriorityQueueStoreOptions, options, store)
    return MariaDbPriorityQueueStore(
        await connect(parsed, store),
        parsed.table_names,
        item_model,
        does_identifier_match_item,
        expiration_time,
    )


async def create_view_store(options: Mapping[str, Any]) -> MariaDbViewStore:
    store = _store_name(options, "view store")
    parsed = parse_options(ViewStoreOptions, options, store)
    return MariaDbViewStore(await connect(parsed, store), parsed.table_prefix)
