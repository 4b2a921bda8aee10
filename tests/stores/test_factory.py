"""Stores from options and URLs: the right backend, or one clear error."""

from __future__ import annotations

import pytest

from wolkenkit import errors
from wolkenkit.stores import factory
from wolkenkit.stores.memory.domain_event_store import InMemoryDomainEventStore
from wolkenkit.stores.memory.priority_queue_store import InMemoryPriorityQueueStore
from wolkenkit.stores.memory.view_store import InMemoryViewStore
from wolkenkit.testing.contracts.priority_queue_store import QueueItem, does_identifier_match_item


def test_urls_become_the_references_options() -> None:
    assert factory.options_from_url("postgresql://wolkenkit:s%40cret@db:5433/app") == {
        "type": "Postgres",
        "hostName": "db",
        "port": 5433,
        "userName": "wolkenkit",
        "password": "s@cret",
        "database": "app",
    }
    assert factory.options_from_url("mysql://root@127.0.0.1/test") == {
        "type": "MySql",
        "hostName": "127.0.0.1",
        "userName": "root",
        "database": "test",
    }
    assert factory.options_from_url("redis://localhost:6379/2")["database"] == 2
    assert factory.options_from_url("sqlite:///var/app/events.db") == {
        "type": "Sqlite",
        "fileName": "/var/app/events.db",
    }


async def test_in_memory_options_give_in_memory_stores() -> None:
    store = await factory.create_domain_event_store({"type": "InMemory"})
    queue = await factory.create_priority_queue_store(
        {"type": "InMemory", "expirationTime": 1000}, QueueItem, does_identifier_match_item
    )

    assert isinstance(store, InMemoryDomainEventStore)
    assert isinstance(queue, InMemoryPriorityQueueStore)


async def test_view_stores_come_from_the_backends_that_offer_them() -> None:
    # The file system keeps files, not tables: asking it for a view store names the gap.
    assert isinstance(await factory.create_view_store({"type": "InMemory"}), InMemoryViewStore)
    with pytest.raises(errors.StoreOptionsInvalid, match="view store"):
        await factory.create_view_store({"type": "InMemory", "prefix": "x"})
    with pytest.raises(errors.DatabaseTypeInvalid, match="offers no view store"):
        await factory.create_view_store({"type": "FileSystem", "directory": "/nowhere"})


async def test_unknown_types_and_schemes_are_named_in_the_error() -> None:
    with pytest.raises(errors.DatabaseTypeInvalid, match="'Oracle' is unknown"):
        await factory.create_lock_store({"type": "Oracle"})
    with pytest.raises(errors.DatabaseTypeInvalid, match="'ftp' is unknown"):
        await factory.create_lock_store("ftp://somewhere")
    with pytest.raises(errors.StoreOptionsInvalid, match="hostName"):
        await factory.create_lock_store({"type": "InMemory", "hostName": "x"})
