"""The view store: the flow writes the messages view into it, the view reads it.

The app only talks to :class:`ViewStore`; to keep the messages somewhere else, write another
subclass and return it from ``get_infrastructure``. Under ``wk dev`` the messages live in a
SQLite file in the app's ``.wolkenkit/`` folder, beside the events, so they survive restarts;
in tests they live in memory.
"""

from __future__ import annotations

import os
import sqlite3
from abc import ABC, abstractmethod
from pathlib import Path

from pydantic import BaseModel
from wolkenkit import BigInt, Infrastructure, InfrastructureServices


class Message(BaseModel):
    """A message as the messages view lists it."""

    id: str
    # Milliseconds since 1970 need more than GraphQL's 32-bit Int.
    timestamp: BigInt
    text: str
    likes: int


class ViewStore(ABC):
    """The messages view's storage."""

    @abstractmethod
    async def add_message(self, message: Message) -> None: ...

    @abstractmethod
    async def set_likes(self, message_id: str, likes: int) -> None: ...

    @abstractmethod
    async def messages_newest_first(self) -> list[Message]: ...


class InMemoryViewStore(ViewStore):
    """Keeps the messages in a list; they are gone when the process ends."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def add_message(self, message: Message) -> None:
        self.messages.append(message)

    async def set_likes(self, message_id: str, likes: int) -> None:
        self.messages = [
            message.model_copy(update={"likes": likes})
            if message.id == message_id
            else message
            for message in self.messages
        ]

    async def messages_newest_first(self) -> list[Message]:
        # The flow adds messages in the order they were sent.
        return list(reversed(self.messages))


class SqliteViewStore(ViewStore):
    """Keeps the messages in a SQLite file. Each call is one short statement, quick enough to
    run on the event loop."""

    def __init__(self, path: Path) -> None:
        self._connection = sqlite3.connect(path, isolation_level=None)
        # A write-ahead log, flushed at checkpoints rather than on every statement: the
        # default journal rewrote and flushed whole pages for every message.
        self._connection.execute("PRAGMA journal_mode = WAL")
        self._connection.execute("PRAGMA synchronous = NORMAL")
        self._connection.execute(
            "CREATE TABLE IF NOT EXISTS messages ("
            "id TEXT PRIMARY KEY, timestamp INTEGER NOT NULL, text TEXT NOT NULL, "
            "likes INTEGER NOT NULL)"
        )

    async def add_message(self, message: Message) -> None:
        # A replayed event adds nothing twice.
        self._connection.execute(
            "INSERT OR IGNORE INTO messages VALUES (?, ?, ?, ?)",
            (message.id, message.timestamp, message.text, message.likes),
        )

    async def set_likes(self, message_id: str, likes: int) -> None:
        self._connection.execute(
            "UPDATE messages SET likes = ? WHERE id = ?", (likes, message_id)
        )

    async def messages_newest_first(self) -> list[Message]:
        rows = self._connection.execute(
            "SELECT id, timestamp, text, likes FROM messages "
            "ORDER BY timestamp DESC, rowid DESC"
        )
        return [
            Message(id=row[0], timestamp=row[1], text=row[2], likes=row[3])
            for row in rows
        ]


async def get_infrastructure(
    services: InfrastructureServices,
) -> Infrastructure[ViewStore, ViewStore]:
    """Called once when the app starts."""
    data_directory = os.environ.get("WOLKENKIT_DATA_DIRECTORY")
    store: ViewStore = (
        SqliteViewStore(Path(data_directory) / "views.db")
        if data_directory
        else InMemoryViewStore()
    )
    # Flows write through ``tell`` and queries read through ``ask``: both must see one store.
    return Infrastructure(ask=store, tell=store)


async def setup_infrastructure(services: InfrastructureServices) -> None:
    """Run by ``wk setup infrastructure``; a store in memory needs nothing set up."""
