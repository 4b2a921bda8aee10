"""The PostgreSQL view store: the contract, and how its tables lie in the database."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from wolkenkit.errors import ParameterInvalid, StoreOptionsInvalid
from wolkenkit.stores import factory, postgres, view_rows
from wolkenkit.stores.view_store import Column, Order, Query, Row, TableDefinition, ViewStore
from wolkenkit.testing.contracts.view_store import Reopen, ViewStoreContract

pytestmark = pytest.mark.postgres

ITEMS = TableDefinition(
    "items",
    key=Column("id", "text"),
    indexes=(
        Column("rank", "integer"),
        Column("score", "real"),
        Column("done", "boolean"),
        Column("title", "text"),
    ),
)


class TestPostgresViewStore(ViewStoreContract):
    @pytest.fixture
    async def store(self, options: dict[str, Any]) -> AsyncIterator[ViewStore]:
        store = await postgres.create_view_store(options)
        await store.setup(self.tables)
        try:
            yield store
        finally:
            await store.destroy()

    @pytest.fixture
    async def reopen(self, options: dict[str, Any]) -> AsyncIterator[Reopen]:
        opened: list[ViewStore] = []

        async def another() -> ViewStore:
            other = await postgres.create_view_store(options)
            opened.append(other)
            await other.setup(ViewStoreContract.tables)
            return other

        yield another
        for other in opened:
            await other.destroy()


async def test_a_table_has_typed_columns_and_an_index_per_indexed_field(
    options: dict[str, Any], connection: asyncpg.Connection
) -> None:
    store = await factory.create_view_store(options)
    try:
        await store.setup([ITEMS])
    finally:
        await store.destroy()

    # In the store's schema, named from the default prefix; text in byte order.
    columns = await connection.fetch(
        "SELECT column_name, data_type, collation_name FROM information_schema.columns"
        " WHERE table_schema = $1 AND table_name = 'view_items' ORDER BY ordinal_position",
        options["schema"],
    )
    assert [tuple(column) for column in columns] == [
        ("_row", "json", None),
        ("id", "text", "C"),
        ("rank", "bigint", None),
        ("score", "double precision", None),
        ("done", "boolean", None),
        ("title", "text", "C"),
    ]
    indexed = await connection.fetchval(
        "SELECT count(*) FROM pg_indexes WHERE schemaname = $1 AND tablename = 'view_items'",
        options["schema"],
    )
    assert indexed == 5  # the primary key and one per indexed field


async def test_a_row_keeps_the_order_of_its_fields(options: dict[str, Any]) -> None:
    # json text, unlike jsonb, gives back what was written: fields in their order.
    row = {"id": "a", "zebra": 1, "apple": {"yak": 2, "bee": 3}, "rank": 7, "m": 1.0}
    store = await postgres.create_view_store(options)
    try:
        await store.setup([ITEMS])
        await store.insert("items", row)
        stored = await store.get("items", "a")
        found = (await store.find("items")).rows
    finally:
        await store.destroy()

    assert stored is not None
    assert list(stored) == list(row)
    assert list(stored["apple"]) == ["yak", "bee"]
    assert isinstance(stored["m"], float)
    assert [list(found_row) for found_row in found] == [list(row)]


async def test_the_prefix_names_the_tables(
    options: dict[str, Any], connection: asyncpg.Connection
) -> None:
    store = await postgres.create_view_store({**options, "tablePrefix": "app1_"})
    try:
        await store.setup([ITEMS])
    finally:
        await store.destroy()

    tables = await connection.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = $1", options["schema"]
    )
    assert [table[0] for table in tables] == ["app1_items"]


async def test_long_names_give_distinct_indexes(
    options: dict[str, Any], connection: asyncpg.Connection
) -> None:
    # PostgreSQL cuts names at 63 bytes; cut index names would collide and one index would
    # silently not be made.
    long = TableDefinition(
        "t" * 48,
        key=Column("id", "text"),
        indexes=(Column("a" * 47 + "1", "integer"), Column("a" * 47 + "2", "integer")),
    )
    store = await postgres.create_view_store({**options, "tablePrefix": "p" * 15})
    try:
        await store.setup([long])
        await store.insert(long.name, {"id": "x", "a" * 47 + "2": 2})
        page = await store.find(long.name, Query(where={"a" * 47 + "2": 2}))
    finally:
        await store.destroy()

    assert [row["id"] for row in page.rows] == ["x"]
    indexed = await connection.fetchval(
        "SELECT count(*) FROM pg_indexes WHERE schemaname = $1", options["schema"]
    )
    assert indexed == 3


async def test_concurrent_setups_of_one_table_all_succeed(options: dict[str, Any]) -> None:
    # Several processes start at once and each sets up the tables it uses.
    stores = [await postgres.create_view_store(options) for _ in range(4)]
    try:
        await asyncio.gather(*(store.setup([ITEMS]) for store in stores))
        await stores[0].insert("items", {"id": "a"})
        assert await stores[3].get("items", "a") == {"id": "a"}
    finally:
        for store in stores:
            await store.destroy()


@pytest.mark.parametrize("prefix", ["with space", "x" * 16, 'quo"te'])
async def test_an_unusable_prefix_is_refused(options: dict[str, Any], prefix: str) -> None:
    with pytest.raises(StoreOptionsInvalid, match="tablePrefix"):
        await postgres.create_view_store({**options, "tablePrefix": prefix})


async def test_pages_follow_every_mix_of_directions_through_nulls(options: dict[str, Any]) -> None:
    # Ascending runs page by row-value comparison, other fields one by one; every mix of the
    # two, with nulls and ties in each field, must page exactly as the rules order.
    cycles: list[tuple[str, list[Any]]] = [("rank", [1, None, 2]), ("done", [None, True, False])]
    rows: list[Row] = []
    for number in range(30):
        row: Row = {"id": f"r{number * 11 % 30:02}"}
        for field, values in cycles:
            if values[number % len(values)] is not None:
                row[field] = values[number % len(values)]
        if number % 5:
            row["title"] = ["b", "B", "a"][number % 3]
        rows.append(row)
    store = await postgres.create_view_store(options)
    try:
        await store.setup([ITEMS])
        for row in rows:
            await store.insert("items", row)
        for directions in itertools.product([False, True], repeat=3):
            order = [
                Order(field, descending)
                for field, descending in zip(["rank", "done", "title"], directions, strict=True)
            ]
            full = view_rows.ordering(ITEMS, order)
            expected = sorted(
                rows, key=lambda row: view_rows.sort_key(full)(view_rows.ordered_values(full, row))
            )
            for limit in [1, 4]:
                paged: list[Row] = []
                after: str | None = None
                while True:
                    page = await store.find("items", Query(order=order, limit=limit, after=after))
                    paged.extend(page.rows)
                    if page.cursor is None:
                        break
                    after = page.cursor
                assert paged == expected, (directions, limit)
    finally:
        await store.destroy()


async def test_text_postgresql_cannot_hold_is_refused(options: dict[str, Any]) -> None:
    # PostgreSQL text has no NUL character; that is the caller's value, not a store failure.
    store = await postgres.create_view_store(options)
    try:
        await store.setup([ITEMS])
        with pytest.raises(ParameterInvalid):
            await store.insert("items", {"id": "a\x00b"})
        with pytest.raises(ParameterInvalid):
            await store.count("items", {"title": "\x00"})
        # In the JSON alone it is escaped, and comes back.
        await store.insert("items", {"id": "a", "note": "\x00"})
        assert await store.get("items", "a") == {"id": "a", "note": "\x00"}
    finally:
        await store.destroy()


async def test_a_rebuilt_table_keeps_its_indexes_and_leaves_no_shadow(
    options: dict[str, Any], connection: asyncpg.Connection
) -> None:
    # With the longest names, the shadow's name is cut to fit; its key and indexes take the
    # table's names when it takes the table's place, so the next shadow and setup find
    # theirs free and nothing doubles.
    long = TableDefinition("t" * 48, key=Column("id", "text"), indexes=(Column("rank", "integer"),))
    store = await postgres.create_view_store({**options, "tablePrefix": "p" * 15})
    try:
        await store.setup([long])
        for round_number in range(3):
            shadow = await store.create_shadow(long.name)
            await store.insert(shadow, {"id": f"r{round_number}", "rank": round_number})
            await store.swap_shadows([long.name])
            await store.setup([long])
        await store.create_shadow(long.name)
        await store.drop_shadow(long.name)
        found = await store.find(long.name, Query(where={"rank": 2}))
    finally:
        await store.destroy()

    assert [row["id"] for row in found.rows] == ["r2"]
    tables = await connection.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = $1", options["schema"]
    )
    assert [table[0] for table in tables] == ["p" * 15 + "t" * 48]
    indexed = await connection.fetchval(
        "SELECT count(*) FROM pg_indexes WHERE schemaname = $1", options["schema"]
    )
    assert indexed == 2
