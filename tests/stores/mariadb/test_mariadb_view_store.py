"""The MariaDB view store against the view store contract, plus what only it shows: table
names, text compared byte for byte, index limits, and rows that outlive a store."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncmy
import pytest

from wolkenkit import errors
from wolkenkit.stores import factory
from wolkenkit.stores.mariadb import MariaDbViewStore, create_view_store
from wolkenkit.stores.mariadb.view_store import MAX_FIELD_BYTES, MAX_KEY_BYTES
from wolkenkit.stores.view_store import Column, Order, Query, TableDefinition, ViewStore
from wolkenkit.testing.contracts.view_store import Reopen, ViewStoreContract

pytestmark = pytest.mark.mariadb

NOTES = TableDefinition("notes", key=Column("id", "text"), indexes=(Column("title", "text"),))


class TestMariaDbViewStore(ViewStoreContract):
    @pytest.fixture
    async def store(self, options: dict[str, Any]) -> AsyncIterator[MariaDbViewStore]:
        store = await create_view_store(options)
        await store.setup(self.tables)
        try:
            yield store
        finally:
            await store.destroy()

    @pytest.fixture
    async def reopen(self, options: dict[str, Any]) -> AsyncIterator[Reopen]:
        opened: list[ViewStore] = []

        async def another() -> ViewStore:
            other = await create_view_store(options)
            opened.append(other)
            await other.setup(ViewStoreContract.tables)
            return other

        yield another
        for other in opened:
            await other.destroy()


@pytest.fixture
async def notes(options: dict[str, Any]) -> AsyncIterator[MariaDbViewStore]:
    store = await create_view_store(options)
    await store.setup([NOTES])
    try:
        yield store
    finally:
        await store.destroy()


async def _tables(connection: asyncmy.Connection) -> list[str]:
    async with connection.cursor() as cursor:
        await cursor.execute("SHOW TABLES")
        return sorted(name for (name,) in await cursor.fetchall())


async def test_tables_are_named_by_the_prefix(
    options: dict[str, Any], connection: asyncmy.Connection
) -> None:
    # One physical table per declared one: `view_` unless the options say otherwise.
    for prefix_options in ({}, {"tablePrefix": "app-1_"}):
        store = await create_view_store({**options, **prefix_options})
        try:
            await store.setup([NOTES])
        finally:
            await store.destroy()

    assert await _tables(connection) == ["app-1_notes", "view_notes"]


async def test_text_is_compared_byte_for_byte(notes: MariaDbViewStore) -> None:
    # A padding collation would take 'a ' for the key 'a' and sort 'a\t' before 'a'.
    for key in ["a ", "a", "a\t"]:
        await notes.insert("notes", {"id": key, "title": key})

    by_key = await notes.find("notes")
    by_title = await notes.find("notes", Query(order=[Order("title")]))

    assert [row["id"] for row in by_key.rows] == ["a", "a\t", "a "]
    assert [row["id"] for row in by_title.rows] == ["a", "a\t", "a "]
    assert await notes.count("notes", {"title": "a"}) == 1


async def test_text_fits_up_to_what_an_index_holds(notes: MariaDbViewStore) -> None:
    # Four-byte characters: the limits are bytes, and a key and a title at their limits
    # together fill one index entry.
    key, title = "🙂" * (MAX_KEY_BYTES // 4), "🙂" * (MAX_FIELD_BYTES // 4)
    await notes.insert("notes", {"id": key, "title": title})

    with pytest.raises(errors.ParameterInvalid):
        await notes.insert("notes", {"id": key + "a"})
    with pytest.raises(errors.ParameterInvalid):
        await notes.insert("notes", {"id": "b", "title": title + "a"})
    assert await notes.get("notes", key) == {"id": key, "title": title}


async def test_rows_outlive_the_store_and_concurrent_setups_agree(
    notes: MariaDbViewStore, options: dict[str, Any]
) -> None:
    # Another process's stores on the same tables, set up at the same time, see the rows.
    await notes.insert("notes", {"id": "a", "title": "kept"})
    others = [await create_view_store(options) for _ in range(3)]
    try:
        await asyncio.gather(*(other.setup([NOTES]) for other in others))

        assert await others[0].get("notes", "a") == {"id": "a", "title": "kept"}
    finally:
        for other in others:
            await other.destroy()


async def test_the_factory_makes_it_and_checks_the_prefix(server: dict[str, Any]) -> None:
    options = {**server, "database": "test"}
    store = await factory.create_view_store(options)
    await store.destroy()

    assert isinstance(store, MariaDbViewStore)
    with pytest.raises(errors.StoreOptionsInvalid, match=r"MariaDB view store.*tablePrefix"):
        await factory.create_view_store({**options, "tablePrefix": "x" * 17})
    with pytest.raises(errors.StoreOptionsInvalid, match=r"MySQL view store.*tablePrefix"):
        await factory.create_view_store({**options, "type": "MySql", "tablePrefix": "a`b"})


async def test_a_rebuilt_table_leaves_no_shadow_or_old_table(
    options: dict[str, Any], connection: asyncmy.Connection
) -> None:
    # The longest names: the shadow's and the old table's are cut to fit.
    long = TableDefinition("t" * 48, key=Column("id", "text"), indexes=(Column("title", "text"),))
    store = await create_view_store({**options, "tablePrefix": "p" * 16})
    try:
        await store.setup([long])
        for round_number in range(2):
            shadow = await store.create_shadow(long.name)
            await store.insert(shadow, {"id": f"r{round_number}", "title": "x"})
            await store.swap_shadows([long.name])
        await store.create_shadow(long.name)
        await store.drop_shadow(long.name)
        found = await store.find(long.name, Query(where={"title": "x"}))
    finally:
        await store.destroy()

    assert [row["id"] for row in found.rows] == ["r1"]
    assert await _tables(connection) == ["p" * 16 + "t" * 48]
