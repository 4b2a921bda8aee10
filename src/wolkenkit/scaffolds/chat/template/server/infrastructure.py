"""The view store: the flow writes the messages view into it, the view reads it.

The app only talks to :class:`ViewStore`; to keep the messages somewhere else, write another
subclass and return it from ``get_infrastructure``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

from pydantic import BaseModel
from wolkenkit import Infrastructure, InfrastructureServices


class Message(BaseModel):
    """A message as the messages view lists it."""

    id: str
    timestamp: int
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


async def get_infrastructure(
    services: InfrastructureServices,
) -> Infrastructure[ViewStore, ViewStore]:
    """Called once when the app starts."""
    store = InMemoryViewStore()
    # Flows write through ``tell`` and queries read through ``ask``: both must see one store.
    return Infrastructure(ask=store, tell=store)


async def setup_infrastructure(services: InfrastructureServices) -> None:
    """Run by ``wk setup infrastructure``; a store in memory needs nothing set up."""
