"""In-memory backends: everything lives in this process and is gone when it ends.

The factory functions below serve ``wolkenkit.stores.factory`` for ``{"type": "InMemory"}``.
Publishers and subscribers made here share one process-wide hub, as the reference's do.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel

from wolkenkit import errors
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
from wolkenkit.stores.priority_queue_store import DoesIdentifierMatchItem

ItemT = TypeVar("ItemT", bound=BaseModel)
IdentifierT = TypeVar("IdentifierT")

#: The hub that in-memory publishers and subscribers made from options share.
PROCESS_HUB = InMemoryPubSub()


def _check(options: Mapping[str, Any], kind: str) -> None:
    unknown = sorted(set(options) - {"type"})
    if unknown:
        raise errors.StoreOptionsInvalid(
            f"The in-memory {kind} takes no options, but got {', '.join(unknown)}."
        )


async def create_domain_event_store(options: Mapping[str, Any]) -> InMemoryDomainEventStore:
    _check(options, "domain event store")
    return InMemoryDomainEventStore()


async def create_lock_store(options: Mapping[str, Any]) -> InMemoryLockStore:
    _check(options, "lock store")
    return InMemoryLockStore()


async def create_consumer_progress_store(
    options: Mapping[str, Any],
) -> InMemoryConsumerProgressStore:
    _check(options, "consumer progress store")
    return InMemoryConsumerProgressStore()


async def create_priority_queue_store(
    options: Mapping[str, Any],
    item_model: type[ItemT],
    does_identifier_match_item: DoesIdentifierMatchItem[ItemT, IdentifierT],
    expiration_time: int,
) -> InMemoryPriorityQueueStore[ItemT, IdentifierT]:
    _check(options, "priority queue store")
    return InMemoryPriorityQueueStore(does_identifier_match_item, expiration_time)


async def create_file_store(options: Mapping[str, Any]) -> InMemoryFileStore:
    _check(options, "file store")
    return InMemoryFileStore()


async def create_publisher(options: Mapping[str, Any]) -> InMemoryPublisher:
    _check(options, "publisher")
    return InMemoryPublisher(PROCESS_HUB)


async def create_subscriber(options: Mapping[str, Any]) -> InMemorySubscriber:
    _check(options, "subscriber")
    return InMemorySubscriber(PROCESS_HUB)


async def create_view_store(options: Mapping[str, Any]) -> InMemoryViewStore:
    _check(options, "view store")
    return InMemoryViewStore()
