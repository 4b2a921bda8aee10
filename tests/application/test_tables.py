"""View tables as apps use them: typed rows over a real view store."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel, Field

from wolkenkit.application.tables import Rows, Table
from wolkenkit.errors import (
    ApplicationError,
    ParameterInvalid,
    RowAlreadyExists,
    RowNotFound,
    StoreError,
    TableDefinitionMalformed,
)
from wolkenkit.stores import memory, sqlite
from wolkenkit.stores.view_store import Column, TableDefinition, ViewStore


class Author(BaseModel):
    name: str
    since: datetime


class Message(BaseModel):
    id: str
    text: str
    timestamp: int
    likes: int = Field(default=0, ge=0)
    score: float = 0.0
    pinned: bool = False
    topic: str | None = None
    author: Author | None = None


class Listing(BaseModel):
    id: int
    tags: list[str]


class Profile(BaseModel):
    id: str
    user_name: str = Field(alias="userName")


PROFILES = Table(Profile, key="id", indexes=("user_name",))
MESSAGES = Table(Message, key="id", indexes=("timestamp", "score", "pinned", "topic"))


def _message(id: str, timestamp: int, **fields: Any) -> Message:
    return Message(id=id, text=f"text of {id}", timestamp=timestamp, **fields)


async def _postgres_store() -> tuple[ViewStore, Any]:
    from tests.stores.postgres.conftest import SERVER, _connect
    from wolkenkit.messages import new_id
    from wolkenkit.stores import postgres

    schema = f"test_{new_id().replace('-', '')}"

    async def drop() -> None:
        connection = await _connect()
        try:
            await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await connection.close()

    return await postgres.create_view_store({**SERVER, "schema": schema}), drop


@pytest.fixture(params=["memory", "sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def store(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[ViewStore]:
    """A fresh view store of each backend, with the messages table set up."""
    cleanup = None
    if request.param == "memory":
        created: ViewStore = await memory.create_view_store({"type": "InMemory"})
    elif request.param == "sqlite":
        created = await sqlite.create_view_store(
            {"type": "Sqlite", "fileName": str(tmp_path / "views.db")}
        )
    else:
        created, cleanup = await _postgres_store()
    try:
        await created.setup([MESSAGES.definition("messages")])
        yield created
    finally:
        await created.destroy()
        if cleanup is not None:
            await cleanup()


@pytest.fixture
def rows(store: ViewStore) -> Rows[Message]:
    return Rows(store, "messages", MESSAGES)


async def _ids(found: AsyncIterator[Message]) -> list[str]:
    return [message.id async for message in found]


# The definition a model gives.


def test_columns_take_their_kinds_from_the_model() -> None:
    assert MESSAGES.definition("messages") == TableDefinition(
        "messages",
        key=Column("id", "text"),
        indexes=(
            Column("timestamp", "integer"),
            Column("score", "real"),
            Column("pinned", "boolean"),
            Column("topic", "text"),
        ),
    )


@pytest.mark.parametrize(
    ("table", "words"),
    [
        (Table(Message, key="id", indexes=("author",)), ["Message", "'author'", "Author | None"]),
        (Table(Listing, key="id", indexes=("tags",)), ["Listing", "'tags'", "list[str]"]),
        (Table(Message, key="id", indexes=("text", "missing")), ["Message", "missing"]),
        (Table(Message, key="nothing"), ["Message", "nothing"]),
        (Table(Message, key="topic"), ["Message", "topic", "optional"]),
    ],
    ids=["model type", "generic type", "unknown index", "unknown key", "optional key"],
)
def test_a_table_the_model_cannot_back_is_refused_in_one_line(
    table: Table[Message], words: list[str]
) -> None:
    # The app's author learns which model and which field, in one line.
    with pytest.raises(TableDefinitionMalformed) as raised:
        table.definition("messages")
    assert isinstance(raised.value, ApplicationError)
    assert "\n" not in raised.value.message
    for word in words:
        assert word in raised.value.message


def test_a_table_name_the_store_cannot_use_is_refused() -> None:
    with pytest.raises(TableDefinitionMalformed, match="'Message': Table name 'bad-name'"):
        MESSAGES.definition("bad-name")


# Writing and reading typed rows.


async def test_a_row_comes_back_as_the_model_it_was(rows: Rows[Message]) -> None:
    since = datetime(2024, 5, 1, 12, 30, tzinfo=UTC)
    message = _message("a", 1, score=0.5, topic="news", author=Author(name="Jane", since=since))
    await rows.insert(message)

    found: Message | None = await rows.get("a")

    assert found == message
    assert await rows.get("missing") is None


async def test_insert_refuses_a_taken_key_and_upsert_replaces(rows: Rows[Message]) -> None:
    await rows.insert(_message("a", 1))
    with pytest.raises(RowAlreadyExists):
        await rows.insert(_message("a", 2))

    await rows.upsert(_message("a", 3, topic="replaced"))

    assert await rows.get("a") == _message("a", 3, topic="replaced")


async def test_update_returns_the_row_as_it_is_now(rows: Rows[Message]) -> None:
    await rows.insert(_message("a", 1))

    updated = await rows.update("a", likes=2, topic="news")

    assert updated == _message("a", 1, likes=2, topic="news")
    assert await rows.get("a") == updated
    assert await rows.count(topic="news") == 1


async def test_update_stores_changes_as_the_model_json(rows: Rows[Message]) -> None:
    # Nested models and datetimes go to the store as JSON and come back as the model.
    await rows.insert(_message("a", 1))
    author = Author(name="Jane", since=datetime(2024, 5, 1, tzinfo=UTC))

    updated = await rows.update("a", author=author)

    assert updated.author == author


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"colour": "red"}, "no field 'colour'"),
        ({"likes": "many"}, "Field 'likes' of table 'messages'"),
        ({"likes": -1}, "Field 'likes' of table 'messages'.*greater than or equal"),
    ],
    ids=["unknown field", "wrong type", "constraint"],
)
async def test_update_refuses_what_the_model_does_not_take(
    rows: Rows[Message], changes: dict[str, Any], match: str
) -> None:
    await rows.insert(_message("a", 1))

    with pytest.raises(ParameterInvalid, match=match):
        await rows.update("a", **changes)

    assert await rows.get("a") == _message("a", 1)


async def test_update_of_a_missing_row_is_refused(rows: Rows[Message]) -> None:
    with pytest.raises(RowNotFound):
        await rows.update("missing", likes=1)


async def test_delete_and_delete_where_say_what_they_removed(rows: Rows[Message]) -> None:
    for index in range(5):
        await rows.insert(_message(f"m{index}", index, topic="old" if index < 3 else "new"))

    assert await rows.delete("m4") is True
    assert await rows.delete("m4") is False
    assert await rows.delete_where(topic="old") == 3
    assert await rows.count() == 1
    assert await rows.count(topic="new") == 1
    assert await rows.count(topic="old") == 0


async def test_a_stored_row_that_no_longer_fits_names_table_and_key(
    store: ViewStore, rows: Rows[Message]
) -> None:
    # Written by an older model, say: it lacks a field the model requires now.
    await store.insert("messages", {"id": "old", "timestamp": 1})

    with pytest.raises(StoreError, match=r"Row 'old' of table 'messages'.*'Message'.*text"):
        await rows.get("old")


async def test_a_model_with_aliases_round_trips(store: ViewStore) -> None:
    # Rows are stored under field names, which the key and indexes name too.
    await store.setup([PROFILES.definition("profiles")])
    profiles = Rows(store, "profiles", PROFILES)
    await profiles.insert(Profile(id="a", userName="Jane"))

    assert await profiles.get("a") == Profile(id="a", userName="Jane")
    assert [profile.id async for profile in profiles.find(where={"user_name": "Jane"})] == ["a"]


# Finding rows in order, page by page.


async def test_find_orders_ascending_and_descending(rows: Rows[Message]) -> None:
    for id, timestamp in [("b", 2), ("a", 3), ("c", 1), ("d", 2)]:
        await rows.insert(_message(id, timestamp))

    assert await _ids(rows.find(order_by=("timestamp",))) == ["c", "b", "d", "a"]
    # The key breaks ties ascending, also when the field before it descends.
    assert await _ids(rows.find(order_by=("-timestamp",))) == ["a", "b", "d", "c"]
    assert await _ids(rows.find(order_by=("-id",))) == ["d", "c", "b", "a"]
    assert await _ids(rows.find()) == ["a", "b", "c", "d"]


async def test_find_reads_every_matching_row_across_pages(rows: Rows[Message]) -> None:
    # More rows than a page holds, some not matching: every match comes, once, in order.
    for index in range(23):
        await rows.insert(_message(f"m{index:02}", 100 - index, pinned=index % 2 == 0))

    found = await _ids(rows.find(where={"pinned": True}, order_by=("timestamp",), page_size=4))

    assert found == [f"m{index:02}" for index in range(22, -1, -2)]


async def test_page_hands_out_cursors_until_the_last_page(rows: Rows[Message]) -> None:
    for index in range(5):
        await rows.insert(_message(f"m{index}", index))

    first, cursor = await rows.page(order_by=("-timestamp",), limit=2)
    second, cursor = await rows.page(order_by=("-timestamp",), limit=2, after=cursor)
    last, end = await rows.page(order_by=("-timestamp",), limit=2, after=cursor)

    assert [message.id for message in first + second + last] == ["m4", "m3", "m2", "m1", "m0"]
    assert end is None


async def test_queries_on_fields_that_are_not_indexed_are_refused(rows: Rows[Message]) -> None:
    with pytest.raises(ParameterInvalid, match="text"):
        await rows.count(text="hello")
    with pytest.raises(ParameterInvalid, match="likes"):
        await rows.page(order_by=("-likes",), limit=1)
