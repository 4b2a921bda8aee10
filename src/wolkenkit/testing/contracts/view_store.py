"""The contract every view store keeps: typed tables of JSON rows, one ordering everywhere,
keyset pagination.

Decisions the interface leaves open and this contract fixes:
- ``update`` with changes that give the key another value raises ``ParameterInvalid`` (the
  same value is allowed and changes nothing).
- The key's tie-breaker is ascending, whatever the direction of the fields before it, unless
  the order names the key itself. Descending is the exact reverse of ascending for its field:
  nulls last.
- A page that ends at the last matching row has no cursor, also when it holds ``limit`` rows.
- Integer columns hold signed 64-bit integers; reals are finite; a key, a ``where`` value, a
  cursor or a column value of the wrong kind is ``ParameterInvalid``.
- A shadow is read and written under ``shadow_name(table)``, like any table; once swapped in,
  that name is unknown again until the next ``create_shadow``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar

import pytest

from wolkenkit.errors import ParameterInvalid, RowAlreadyExists, RowNotFound, StoreError
from wolkenkit.stores.transactions import shared_database
from wolkenkit.stores.view_store import (
    Column,
    Order,
    Query,
    Row,
    TableDefinition,
    ViewStore,
    shadow_name,
)

#: Opens another store on the same database as the ``store`` fixture's, set up like it (as
#: another process would); the in-memory store has no other, so it gives the same one.
Reopen = Callable[[], Awaitable[ViewStore]]

MESSAGES = TableDefinition(
    "messages",
    key=Column("id", "text"),
    indexes=(
        Column("timestamp", "integer"),
        Column("author", "text"),
        Column("score", "real"),
        Column("pinned", "boolean"),
    ),
)
COUNTERS = TableDefinition(
    "counters", key=Column("number", "integer"), indexes=(Column("label", "text"),)
)


def _keys(rows: list[Row], key: str = "id") -> list[Any]:
    return [row[key] for row in rows]


async def _all_pages(store: ViewStore, table: str, query: Query) -> list[Row]:
    """Every row of ``query``, page by page from its ``after``, following the cursors."""
    rows: list[Row] = []
    after = query.after
    for _ in range(1_000):
        page = await store.find(
            table, Query(where=query.where, order=query.order, limit=query.limit, after=after)
        )
        assert query.limit is None or len(page.rows) <= query.limit
        rows.extend(page.rows)
        if page.cursor is None:
            return rows
        assert page.rows, "a page with a cursor must hold rows"
        after = page.cursor
    raise AssertionError("the cursors never ended")


class _Undo(Exception):
    """Raised to undo a unit of work."""


async def _undone(store: ViewStore, changes: Callable[[], Awaitable[None]]) -> bool:
    """Make ``changes`` in a unit of work of the store's database, and undo them; ``False``
    (and nothing done) for a store that takes part in no units of work."""
    database = shared_database(store)
    if database is None:
        return False
    try:
        async with database.transaction():
            await changes()
            raise _Undo
    except _Undo:
        return True


class ViewStoreContract:
    """Everything a view store must do. Provide an async ``store`` fixture that yields a
    fresh store on which ``setup(ViewStoreContract.tables)`` has run, and a ``reopen``
    fixture (see ``Reopen``) whose stores the fixture closes again."""

    #: The tables the tests use; the ``store`` fixture sets them up.
    tables: ClassVar[tuple[TableDefinition, ...]] = (MESSAGES, COUNTERS)

    # Writing and reading by key.

    async def test_a_row_comes_back_as_it_was_inserted(self, store: ViewStore) -> None:
        # Everything beyond the columns lives in the JSON: nested, unicode, any shape.
        row: Row = {
            "id": "Grüße, 世界 🙂 'quoted'",
            "timestamp": 1_700_000_000_000,
            "author": "jane",
            "score": 0.5,
            "pinned": True,
            "text": 'Line one\nline two "quoted" \\ backslash',
            "reactions": {"👍": ["jane", "john"], "nested": {"deep": [1, 2.5, None, False]}},
            "empty": {},
            "nothing": None,
        }
        await store.insert("messages", row)

        assert await store.get("messages", row["id"]) == row
        assert await store.get("messages", "missing") is None
        assert (await store.find("messages", Query(where={"author": "jane"}))).rows == [row]

    async def test_changing_a_row_got_or_inserted_changes_nothing_stored(
        self, store: ViewStore
    ) -> None:
        row: Row = {"id": "a", "tags": ["x"]}
        await store.insert("messages", row)
        row["tags"].append("inserted")
        got = await store.get("messages", "a")
        assert got is not None
        got["tags"].append("got")

        assert await store.get("messages", "a") == {"id": "a", "tags": ["x"]}

    async def test_indexed_fields_may_be_missing_or_null(self, store: ViewStore) -> None:
        await store.insert("messages", {"id": "missing"})
        await store.insert("messages", {"id": "null", "author": None, "score": None})

        assert await store.get("messages", "missing") == {"id": "missing"}
        assert await store.get("messages", "null") == {"id": "null", "author": None, "score": None}

    async def test_inserting_a_taken_key_fails_and_keeps_the_old_row(
        self, store: ViewStore
    ) -> None:
        await store.insert("messages", {"id": "a", "author": "jane"})

        with pytest.raises(RowAlreadyExists):
            await store.insert("messages", {"id": "a", "author": "john"})
        assert await store.get("messages", "a") == {"id": "a", "author": "jane"}

    async def test_upsert_adds_and_replaces(self, store: ViewStore) -> None:
        # Replacing is whole: fields the new row lacks are gone.
        await store.upsert("messages", {"id": "a", "author": "jane", "text": "first"})
        assert await store.get("messages", "a") == {"id": "a", "author": "jane", "text": "first"}

        await store.upsert("messages", {"id": "a", "timestamp": 2})
        assert await store.get("messages", "a") == {"id": "a", "timestamp": 2}
        assert await store.count("messages", {"author": "jane"}) == 0
        assert await store.count("messages", {"timestamp": 2}) == 1

    async def test_update_merges_shallowly_and_returns_the_row(self, store: ViewStore) -> None:
        await store.insert(
            "messages",
            {"id": "a", "author": "jane", "score": 1.5, "meta": {"x": 1, "y": 2}, "keep": True},
        )

        updated = await store.update(
            "messages", "a", {"author": "john", "score": None, "meta": {"x": 3}, "new": [1]}
        )

        expected = {
            "id": "a",
            "author": "john",
            "score": None,
            "meta": {"x": 3},
            "keep": True,
            "new": [1],
        }
        assert updated == expected
        assert await store.get("messages", "a") == expected
        assert _keys((await store.find("messages", Query(where={"author": "john"}))).rows) == ["a"]
        assert _keys((await store.find("messages", Query(where={"score": None}))).rows) == ["a"]

    async def test_updating_a_missing_row_fails(self, store: ViewStore) -> None:
        with pytest.raises(RowNotFound):
            await store.update("messages", "missing", {"author": "jane"})
        assert await store.get("messages", "missing") is None

    async def test_update_cannot_change_the_key(self, store: ViewStore) -> None:
        # Giving the key its own value again is no change; another value is refused.
        await store.insert("messages", {"id": "a", "author": "jane"})

        assert await store.update("messages", "a", {"id": "a", "author": "john"}) == {
            "id": "a",
            "author": "john",
        }
        with pytest.raises(ParameterInvalid):
            await store.update("messages", "a", {"id": "b"})
        assert await store.get("messages", "a") == {"id": "a", "author": "john"}
        assert await store.get("messages", "b") is None

    async def test_an_update_that_breaks_a_column_is_refused(self, store: ViewStore) -> None:
        await store.insert("messages", {"id": "a", "timestamp": 1})

        with pytest.raises(ParameterInvalid):
            await store.update("messages", "a", {"timestamp": "soon"})
        assert await store.get("messages", "a") == {"id": "a", "timestamp": 1}

    async def test_delete_says_whether_there_was_a_row(self, store: ViewStore) -> None:
        await store.insert("messages", {"id": "a"})

        assert await store.delete("messages", "a") is True
        assert await store.get("messages", "a") is None
        assert await store.delete("messages", "a") is False

    async def test_delete_where_removes_the_matching_rows(self, store: ViewStore) -> None:
        for key, author in [("a", "jane"), ("b", "john"), ("c", "jane"), ("d", None)]:
            await store.insert("messages", {"id": key, "author": author})

        assert await store.delete_where("messages", {"author": "jane"}) == 2
        assert _keys((await store.find("messages")).rows) == ["b", "d"]
        assert await store.delete_where("messages", {"author": "nobody"}) == 0
        assert await store.delete_where("messages", {"author": None}) == 1
        assert _keys((await store.find("messages")).rows) == ["b"]

    async def test_delete_where_without_conditions_removes_all(self, store: ViewStore) -> None:
        for key in ["a", "b", "c"]:
            await store.insert("messages", {"id": key})
        await store.insert("counters", {"number": 1})

        assert await store.delete_where("messages", {}) == 3
        assert await store.count("messages") == 0
        assert await store.count("counters") == 1

    async def test_count_counts_the_matching_rows(self, store: ViewStore) -> None:
        assert await store.count("messages") == 0
        for key, pinned in [("a", True), ("b", False), ("c", True), ("d", None)]:
            await store.insert("messages", {"id": key, "pinned": pinned})

        assert await store.count("messages") == 4
        assert await store.count("messages", {}) == 4
        assert await store.count("messages", {"pinned": True}) == 2
        assert await store.count("messages", {"pinned": False}) == 1
        assert await store.count("messages", {"pinned": None}) == 1
        assert await store.count("messages", {"pinned": True, "id": "c"}) == 1

    # Rows and values the store refuses.

    async def test_a_row_without_its_key_is_refused(self, store: ViewStore) -> None:
        rows: list[Row] = [{"author": "jane"}, {"id": None, "author": "jane"}]
        for row in rows:
            with pytest.raises(ParameterInvalid):
                await store.insert("messages", row)
            with pytest.raises(ParameterInvalid):
                await store.upsert("messages", row)
        assert await store.count("messages") == 0

    @pytest.mark.parametrize(
        "row",
        [
            {"id": 1},
            {"id": "a", "timestamp": "yesterday"},
            {"id": "a", "timestamp": 1.5},
            {"id": "a", "timestamp": True},
            {"id": "a", "timestamp": 2**63},
            {"id": "a", "author": 7},
            {"id": "a", "score": "high"},
            {"id": "a", "score": False},
            {"id": "a", "score": float("nan")},
            {"id": "a", "score": float("inf")},
            {"id": "a", "score": 10**400},
            {"id": "a", "pinned": 1},
            {"id": "a", "pinned": "true"},
            {"id": "a", "author": {"name": "jane"}},
        ],
    )
    async def test_a_value_of_the_wrong_kind_is_refused(self, store: ViewStore, row: Row) -> None:
        # A value that does not fit its column would order differently on each backend.
        with pytest.raises(ParameterInvalid):
            await store.insert("messages", row)
        with pytest.raises(ParameterInvalid):
            await store.upsert("messages", row)
        assert await store.count("messages") == 0

    async def test_integer_columns_hold_64_bit_integers(self, store: ViewStore) -> None:
        for key, value in [("min", -(2**63)), ("max", 2**63 - 1), ("beyond53", 2**53 + 1)]:
            await store.insert("messages", {"id": key, "timestamp": value})

        assert await store.get("messages", "min") == {"id": "min", "timestamp": -(2**63)}
        assert await store.get("messages", "max") == {"id": "max", "timestamp": 2**63 - 1}
        found = await store.find("messages", Query(where={"timestamp": 2**53 + 1}))
        assert _keys(found.rows) == ["beyond53"]
        assert found.rows[0]["timestamp"] == 2**53 + 1

    async def test_a_key_of_the_wrong_kind_is_refused(self, store: ViewStore) -> None:
        await store.insert("counters", {"number": 1})

        with pytest.raises(ParameterInvalid):
            await store.get("counters", "1")
        with pytest.raises(ParameterInvalid):
            await store.delete("messages", 1)
        with pytest.raises(ParameterInvalid):
            await store.update("counters", "1", {"label": "one"})
        assert await store.get("counters", 1) == {"number": 1}

    async def test_a_table_that_was_not_set_up_is_an_error(self, store: ViewStore) -> None:
        with pytest.raises(StoreError):
            await store.insert("unknown", {"id": "a"})
        with pytest.raises(StoreError):
            await store.find("unknown")

    # Tables.

    async def test_setting_up_again_keeps_the_rows(self, store: ViewStore) -> None:
        await store.insert("messages", {"id": "a", "author": "jane"})

        await store.setup(self.tables)
        await store.setup(self.tables)

        assert await store.get("messages", "a") == {"id": "a", "author": "jane"}
        assert _keys((await store.find("messages", Query(where={"author": "jane"}))).rows) == ["a"]

    async def test_setting_up_a_table_with_other_columns_names_it(self, store: ViewStore) -> None:
        changed = TableDefinition(
            "messages", key=Column("id", "text"), indexes=(Column("timestamp", "text"),)
        )

        with pytest.raises(StoreError, match="messages"):
            await store.setup([changed])

    async def test_tables_are_independent(self, store: ViewStore) -> None:
        other = TableDefinition("others", key=Column("id", "text"))
        await store.setup([other])
        await store.insert("messages", {"id": "a", "in": "messages"})
        await store.insert("others", {"id": "a", "in": "others"})

        assert await store.delete("others", "a") is True
        assert await store.get("messages", "a") == {"id": "a", "in": "messages"}
        assert await store.delete_where("messages", {}) == 1
        await store.insert("others", {"id": "b"})
        assert await store.count("others") == 1
        assert await store.count("messages") == 0

    async def test_concurrent_inserts_of_one_key_have_one_winner(self, store: ViewStore) -> None:
        results = await asyncio.gather(
            *(store.insert("messages", {"id": "a", "writer": writer}) for writer in range(8)),
            return_exceptions=True,
        )

        winners = [writer for writer, result in enumerate(results) if result is None]
        assert len(winners) == 1
        assert all(isinstance(result, RowAlreadyExists) for result in results if result is not None)
        assert await store.get("messages", "a") == {"id": "a", "writer": winners[0]}

    # Finding.

    async def test_find_without_a_query_finds_all_rows_in_key_order(self, store: ViewStore) -> None:
        for key in ["b", "a", "c"]:
            await store.insert("messages", {"id": key})

        page = await store.find("messages")

        assert _keys(page.rows) == ["a", "b", "c"]
        assert page.cursor is None

    async def test_find_filters_on_the_key_and_indexed_fields(self, store: ViewStore) -> None:
        rows: list[Row] = [
            {"id": "a", "author": "jane", "timestamp": 1, "score": 1.5, "pinned": True},
            {"id": "b", "author": "john", "timestamp": 1, "score": 2, "pinned": False},
            {"id": "c", "author": "jane", "timestamp": 2, "pinned": True},
            {"id": "d", "author": None},
        ]
        for row in rows:
            await store.insert("messages", row)

        async def keys(where: dict[str, Any]) -> list[Any]:
            return _keys((await store.find("messages", Query(where=where))).rows)

        assert await keys({"id": "b"}) == ["b"]
        assert await keys({"author": "jane"}) == ["a", "c"]
        assert await keys({"author": "jane", "timestamp": 2}) == ["c"]
        assert await keys({"timestamp": 1}) == ["a", "b"]
        assert await keys({"score": 2.0}) == ["b"]
        assert await keys({"score": 1.5}) == ["a"]
        assert await keys({"pinned": False}) == ["b"]
        assert await keys({"pinned": True}) == ["a", "c"]
        assert await keys({"author": None}) == ["d"]
        assert await keys({"score": None}) == ["c", "d"]
        assert await keys({"author": "Jane"}) == []
        assert await keys({"id": None}) == []

    async def test_find_refuses_a_field_that_is_not_indexed(self, store: ViewStore) -> None:
        await store.insert("messages", {"id": "a", "text": "hello"})

        with pytest.raises(ParameterInvalid):
            await store.find("messages", Query(where={"text": "hello"}))
        with pytest.raises(ParameterInvalid):
            await store.find("messages", Query(order=[Order("text")]))
        with pytest.raises(ParameterInvalid):
            await store.count("messages", {"text": "hello"})
        with pytest.raises(ParameterInvalid):
            await store.delete_where("messages", {"text": "hello"})
        assert await store.count("messages") == 1

    async def test_a_where_value_of_the_wrong_kind_is_refused(self, store: ViewStore) -> None:
        with pytest.raises(ParameterInvalid):
            await store.find("messages", Query(where={"timestamp": "1"}))
        with pytest.raises(ParameterInvalid):
            await store.count("messages", {"pinned": 1})

    async def test_a_limit_below_one_is_refused(self, store: ViewStore) -> None:
        await store.insert("messages", {"id": "a"})

        for limit in [0, -1]:
            with pytest.raises(ParameterInvalid):
                await store.find("messages", Query(limit=limit))

    # Ordering: the same on every backend.

    @pytest.mark.parametrize(
        ("field", "values", "ascending"),
        [
            pytest.param(
                "author",
                # Binary collation, no padding: "a" < "a\t" < "a " < "a!".
                [
                    "é",
                    "b",
                    "B",
                    "a ",
                    "ab",
                    "",
                    "A",
                    "a",
                    "a\t",
                    "a!",
                    "z",
                    "ß",
                    "日本",
                    None,
                    "🙂",
                ],
                ["", "A", "B", "a", "a\t", "a ", "a!", "ab", "b", "z", "ß", "é", "日本", "🙂"],
                id="text",
            ),
            pytest.param(
                "timestamp",
                [2**40, -1, 0, None, 3, 2**31, -(2**40), 2**31 - 1, 2**53 + 1, 2**62],
                [-(2**40), -1, 0, 3, 2**31 - 1, 2**31, 2**40, 2**53 + 1, 2**62],
                id="integer",
            ),
            pytest.param(
                "score",
                [2.5, -1.5, 0.25, None, 2, 1e10, 0.0, -1e-3, 10],
                [-1.5, -1e-3, 0.0, 0.25, 2, 2.5, 10, 1e10],
                id="real",
            ),
            pytest.param("pinned", [True, None, False], [False, True], id="boolean"),
        ],
    )
    async def test_rows_are_ordered_by_each_column_kind(
        self, store: ViewStore, field: str, values: list[Any], ascending: list[Any]
    ) -> None:
        # Nulls (here: a missing field) come first ascending and last descending.
        for number, value in enumerate(values):
            row: Row = {"id": f"row{number:02}"}
            if value is not None:
                row[field] = value
            await store.insert("messages", row)

        up = await store.find("messages", Query(order=[Order(field)]))
        down = await store.find("messages", Query(order=[Order(field, descending=True)]))

        assert [row.get(field) for row in up.rows] == [None, *ascending]
        assert [row.get(field) for row in down.rows] == [*reversed(ascending), None]

    async def test_the_key_breaks_ties_ascending(self, store: ViewStore) -> None:
        for key, author in [("c", "x"), ("B", "x"), ("a", "y"), ("é", "x"), ("b", None)]:
            await store.insert("messages", {"id": key, "author": author})

        up = await store.find("messages", Query(order=[Order("author")]))
        down = await store.find("messages", Query(order=[Order("author", descending=True)]))
        by_key = await store.find("messages", Query(order=[Order("id", descending=True)]))

        assert _keys(up.rows) == ["b", "B", "c", "é", "a"]
        assert _keys(down.rows) == ["a", "B", "c", "é", "b"]
        assert _keys(by_key.rows) == ["é", "c", "b", "a", "B"]

    async def test_integer_keys_order_by_value(self, store: ViewStore) -> None:
        for number in [10, -3, 2**40, 2, 0]:
            await store.insert("counters", {"number": number})

        page = await store.find("counters")

        assert _keys(page.rows, "number") == [-3, 0, 2, 10, 2**40]

    async def test_an_order_may_mix_directions(self, store: ViewStore) -> None:
        rows: list[Row] = [
            {"id": "a", "pinned": True, "timestamp": 1},
            {"id": "b", "pinned": False, "timestamp": 5},
            {"id": "c", "pinned": True, "timestamp": 3},
            {"id": "d", "pinned": False, "timestamp": 2},
            {"id": "e", "pinned": True, "timestamp": 3},
            {"id": "f", "timestamp": 9},
        ]
        for row in rows:
            await store.insert("messages", row)
        query = Query(order=[Order("pinned", descending=True), Order("timestamp")])

        page = await store.find("messages", query)

        assert _keys(page.rows) == ["a", "c", "e", "d", "b", "f"]
        for limit in [1, 2, 4]:
            paged = await _all_pages(store, "messages", Query(order=query.order, limit=limit))
            assert _keys(paged) == _keys(page.rows)

    # Pagination.

    @pytest.mark.parametrize(
        "order",
        [
            [],
            [Order("id", descending=True)],
            [Order("author")],
            [Order("author", descending=True)],
            [Order("timestamp")],
            [Order("timestamp", descending=True)],
            [Order("score")],
            [Order("score", descending=True)],
            [Order("pinned"), Order("score", descending=True)],
            [Order("pinned", descending=True), Order("author")],
        ],
        ids=repr,
    )
    async def test_pages_visit_every_row_once_in_order(
        self, store: ViewStore, order: list[Order]
    ) -> None:
        # Many ties and nulls, so that cursors must tell rows apart by their key.
        authors = ["jane", None, "John", "jane", "é"]
        for number in range(23):
            row: Row = {"id": f"m{number * 7 % 23:02}"}
            if number % 4:
                row["author"] = authors[number % 5]
                row["timestamp"] = (number % 3) * 2**33
                row["score"] = (number % 4) / 4
            if number % 3:
                row["pinned"] = number % 2 == 0
            await store.insert("messages", row)
        everything = (await store.find("messages", Query(order=order))).rows
        assert len(everything) == 23

        for limit in [1, 2, 5, 22, 23, 100]:
            paged = await _all_pages(store, "messages", Query(order=order, limit=limit))
            assert paged == everything

    async def test_the_last_page_has_no_cursor(self, store: ViewStore) -> None:
        for key in ["a", "b", "c", "d"]:
            await store.insert("messages", {"id": key})

        first = await store.find("messages", Query(limit=2))
        second = await store.find("messages", Query(limit=2, after=first.cursor))

        assert _keys(first.rows) == ["a", "b"]
        assert first.cursor is not None
        assert _keys(second.rows) == ["c", "d"]
        assert second.cursor is None
        assert (await store.find("messages", Query(limit=4))).cursor is None

    async def test_a_cursor_combines_with_a_filter(self, store: ViewStore) -> None:
        for number in range(10):
            await store.insert("messages", {"id": f"m{number}", "pinned": number % 2 == 0})
        query = Query(where={"pinned": True}, order=[Order("id", descending=True)], limit=2)

        paged = await _all_pages(store, "messages", query)

        assert _keys(paged) == ["m8", "m6", "m4", "m2", "m0"]

    async def test_a_cursor_names_a_place_not_a_position(self, store: ViewStore) -> None:
        # Keyset pagination: rows written behind the cursor are not visited, rows ahead of it
        # are, and deleting the last row of a page does not shift the next page.
        for timestamp in [10, 20, 30, 40, 50]:
            await store.insert("messages", {"id": f"t{timestamp}", "timestamp": timestamp})
        query = Query(order=[Order("timestamp")], limit=2)
        first = await store.find("messages", query)
        assert _keys(first.rows) == ["t10", "t20"]

        await store.insert("messages", {"id": "t05", "timestamp": 5})
        await store.insert("messages", {"id": "t15", "timestamp": 15})
        await store.insert("messages", {"id": "t25", "timestamp": 25})
        await store.insert("messages", {"id": "t20b", "timestamp": 20})
        await store.delete("messages", "t20")
        rest = await _all_pages(
            store, "messages", Query(order=query.order, limit=2, after=first.cursor)
        )

        assert _keys(rest) == ["t20b", "t25", "t30", "t40", "t50"]

    async def test_orders_follow_every_change_between_queries(self, store: ViewStore) -> None:
        # Queries in several orders, then rows inserted, moved by an update or upsert of an
        # indexed field, deleted, and changes of a unit of work that is undone: each order
        # is still what the rows are now (a store may keep its orders between queries).
        orders = [[Order("timestamp")], [Order("author", descending=True)], []]

        async def check() -> None:
            rows = (await store.find("messages")).rows
            by_key = sorted(rows, key=lambda row: row["id"])
            # Nulls first ascending, last descending; the key ascending breaks ties.
            by_time = sorted(
                by_key,
                key=lambda row: (row.get("timestamp") is not None, row.get("timestamp") or 0),
            )
            authors = [row for row in by_key if row.get("author") is not None]
            by_author = sorted(authors, key=lambda row: row["author"], reverse=True) + [
                row for row in by_key if row.get("author") is None
            ]
            expected = [by_time, by_author, by_key]
            for order, rows_in_order in zip(orders, expected, strict=True):
                paged = await _all_pages(store, "messages", Query(order=order, limit=3))
                assert _keys(paged) == _keys(rows_in_order), order

        for number in range(8):
            await store.insert(
                "messages", {"id": f"m{number}", "timestamp": number * 10, "author": f"a{number}"}
            )
        await check()
        await store.insert("messages", {"id": "m8", "timestamp": 35, "author": "a35"})
        await store.update("messages", "m0", {"timestamp": 100, "author": None})
        await store.upsert("messages", {"id": "m5", "timestamp": 1, "author": "a99"})
        await store.delete("messages", "m3")
        await store.delete_where("messages", {"author": "a6"})
        # A row changed twice, one that came and went.
        await store.update("messages", "m4", {"timestamp": 5})
        await store.update("messages", "m4", {"timestamp": 75})
        await store.insert("messages", {"id": "m10", "timestamp": 15})
        await store.delete("messages", "m10")
        await check()

        async def changes() -> None:
            await store.insert("messages", {"id": "m9", "timestamp": 2})
            await store.update("messages", "m1", {"timestamp": 200})
            await store.delete("messages", "m2")
            await check()

        if not await _undone(store, changes):
            return
        await check()
        assert await store.get("messages", "m9") is None

    async def test_a_query_inside_an_undone_unit_leaves_no_trace(self, store: ViewStore) -> None:
        # The first query in an order comes inside a unit of work, after the unit's writes,
        # and sees them; once the unit is undone, queries see the rows as they were.
        await store.insert("messages", {"id": "kept", "timestamp": 2})

        async def changes() -> None:
            await store.insert("messages", {"id": "gone", "timestamp": 1})
            await store.update("messages", "kept", {"timestamp": 3})
            query = Query(order=[Order("timestamp")])
            assert _keys((await store.find("messages", query)).rows) == ["gone", "kept"]

        if not await _undone(store, changes):
            return
        page = await store.find("messages", Query(order=[Order("timestamp")], limit=5))
        assert page.rows == [{"id": "kept", "timestamp": 2}]

    async def test_a_cursor_from_another_order_is_refused(self, store: ViewStore) -> None:
        for key in ["a", "b", "c"]:
            await store.insert("messages", {"id": key, "timestamp": 1, "author": "x"})
        cursor = (await store.find("messages", Query(order=[Order("timestamp")], limit=1))).cursor
        assert cursor is not None

        for order in [
            [Order("timestamp", descending=True)],
            [Order("author")],
            [],
            [Order("timestamp"), Order("author")],
        ]:
            with pytest.raises(ParameterInvalid):
                await store.find("messages", Query(order=order, limit=1, after=cursor))
        with pytest.raises(ParameterInvalid):
            await store.find("counters", Query(limit=1, after=cursor))

    @pytest.mark.parametrize("cursor", ["", "not a cursor", "eyJ4IjoxfQ", "%%%"])
    async def test_a_cursor_the_store_did_not_make_is_refused(
        self, store: ViewStore, cursor: str
    ) -> None:
        await store.insert("messages", {"id": "a"})

        with pytest.raises(ParameterInvalid):
            await store.find("messages", Query(limit=1, after=cursor))

    # Rebuilding beside the table: shadows.

    async def test_a_shadow_starts_empty_while_the_table_keeps_serving(
        self, store: ViewStore
    ) -> None:
        await store.insert("messages", {"id": "old", "author": "jane"})

        shadow = await store.create_shadow("messages")
        await store.insert(shadow, {"id": "new", "author": "john"})

        assert shadow == shadow_name("messages")
        assert _keys((await store.find("messages")).rows) == ["old"]
        assert _keys((await store.find(shadow)).rows) == ["new"]

    async def test_a_shadow_is_a_table_like_its_own(self, store: ViewStore) -> None:
        shadow = await store.create_shadow("messages")
        for number in range(5):
            await store.insert(
                shadow, {"id": f"m{number}", "timestamp": number % 3, "author": "jane"}
            )
        await store.update(shadow, "m1", {"pinned": True})
        await store.upsert(shadow, {"id": "m4", "timestamp": 9})
        assert await store.delete(shadow, "m0")

        newest_first = Query(
            where={"author": "jane"}, order=[Order("timestamp", descending=True)], limit=1
        )
        assert _keys(await _all_pages(store, shadow, newest_first)) == ["m2", "m1", "m3"]
        assert await store.count(shadow, {"pinned": True}) == 1
        assert await store.get(shadow, "m1") == {
            "id": "m1",
            "timestamp": 1,
            "author": "jane",
            "pinned": True,
        }
        with pytest.raises(RowAlreadyExists):
            await store.insert(shadow, {"id": "m1"})
        with pytest.raises(ParameterInvalid):
            await store.insert(shadow, {"id": "bad", "timestamp": "soon"})

    async def test_swapping_puts_the_shadow_in_the_tables_place(self, store: ViewStore) -> None:
        await store.insert("messages", {"id": "old", "author": "jane"})
        shadow = await store.create_shadow("messages")
        await store.insert(shadow, {"id": "new", "author": "john", "timestamp": 1})

        await store.swap_shadows(["messages"])

        assert await store.get("messages", "old") is None
        assert await store.get("messages", "new") == {
            "id": "new",
            "author": "john",
            "timestamp": 1,
        }
        assert _keys((await store.find("messages", Query(where={"author": "john"}))).rows) == [
            "new"
        ]
        await store.insert("messages", {"id": "later"})
        assert await store.count("messages") == 2
        with pytest.raises(ParameterInvalid):
            await store.get(shadow, "new")

    async def test_tables_swap_together(self, store: ViewStore) -> None:
        await store.insert("messages", {"id": "old"})
        await store.insert("counters", {"number": 1})
        messages = await store.create_shadow("messages")
        counters = await store.create_shadow("counters")
        await store.insert(messages, {"id": "new"})
        await store.insert(counters, {"number": 2, "label": "new"})

        await store.swap_shadows(["messages", "counters"])

        assert _keys((await store.find("messages")).rows) == ["new"]
        assert _keys((await store.find("counters")).rows, "number") == [2]

    async def test_a_table_is_rebuilt_again_and_again(self, store: ViewStore) -> None:
        # Each shadow gets what it needs afresh (names of indexes, keys, ...), also after the
        # one before took the table's place, and setting the tables up again keeps the rows.
        for round_number in range(3):
            shadow = await store.create_shadow("messages")
            for number in range(3):
                await store.insert(shadow, {"id": f"r{round_number}-{number}", "timestamp": number})
            await store.swap_shadows(["messages"])
            await store.setup(self.tables)

        found = await store.find("messages", Query(order=[Order("timestamp", descending=True)]))
        assert _keys(found.rows) == ["r2-2", "r2-1", "r2-0"]
        with pytest.raises(RowAlreadyExists):
            await store.insert("messages", {"id": "r2-0"})

    async def test_a_new_shadow_replaces_one_left_from_before(self, store: ViewStore) -> None:
        shadow = await store.create_shadow("messages")
        await store.insert(shadow, {"id": "left"})

        shadow = await store.create_shadow("messages")

        assert await store.count(shadow) == 0

    async def test_dropping_a_shadow_leaves_the_table(self, store: ViewStore) -> None:
        await store.insert("messages", {"id": "kept"})
        shadow = await store.create_shadow("messages")
        await store.insert(shadow, {"id": "dropped"})

        await store.drop_shadow("messages")
        await store.drop_shadow("messages")

        assert _keys((await store.find("messages")).rows) == ["kept"]
        with pytest.raises(ParameterInvalid):
            await store.count(shadow)
        with pytest.raises(ParameterInvalid):
            await store.swap_shadows(["messages"])

    async def test_a_swap_without_a_shadow_changes_nothing(self, store: ViewStore) -> None:
        await store.insert("messages", {"id": "old"})
        shadow = await store.create_shadow("messages")
        await store.insert(shadow, {"id": "new"})

        with pytest.raises(ParameterInvalid):
            await store.swap_shadows(["messages", "counters"])
        with pytest.raises(ParameterInvalid):
            await store.swap_shadows(["messages", "messages"])

        assert _keys((await store.find("messages")).rows) == ["old"]
        assert _keys((await store.find(shadow)).rows) == ["new"]

    async def test_only_a_set_up_table_has_a_shadow(self, store: ViewStore) -> None:
        with pytest.raises(ParameterInvalid):
            await store.create_shadow("unknown")
        shadow = await store.create_shadow("messages")
        with pytest.raises(ParameterInvalid):
            await store.create_shadow(shadow)

    async def test_another_store_on_the_database_reads_the_swapped_table(
        self, store: ViewStore, reopen: Reopen
    ) -> None:
        # Another process keeps serving queries, by the table's name, across the swap.
        await store.insert("messages", {"id": "old", "author": "jane", "timestamp": 1})
        other = await reopen()
        assert await other.get("messages", "old") is not None
        assert await other.count("messages", {"author": "jane"}) == 1
        shadow = await store.create_shadow("messages")
        await store.insert(shadow, {"id": "new", "author": "jane", "timestamp": 2})
        assert _keys((await other.find("messages", Query(order=[Order("timestamp")]))).rows) == [
            "old"
        ]

        await store.swap_shadows(["messages"])

        assert await other.get("messages", "old") is None
        assert await other.get("messages", "new") is not None
        assert await other.count("messages", {"author": "jane"}) == 1
        assert _keys((await other.find("messages", Query(order=[Order("timestamp")]))).rows) == [
            "new"
        ]
        await other.upsert("messages", {"id": "new", "author": "john"})
        assert await store.get("messages", "new") == {"id": "new", "author": "john"}
