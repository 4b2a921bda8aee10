"""Publish/subscribe: fire-and-forget messages on named channels."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable
from typing import Any

Message = dict[str, Any]
Callback = Callable[[Message], Awaitable[None]]


class Publisher(ABC):
    @abstractmethod
    async def publish(self, channel: str, message: Message) -> None: ...

    @abstractmethod
    async def destroy(self) -> None: ...


class Subscription(ABC):
    @abstractmethod
    async def unsubscribe(self) -> None:
        """Stop delivery; no callback runs after this returns."""


class Subscriber(ABC):
    @abstractmethod
    async def subscribe(self, channel: str, callback: Callback) -> Subscription:
        """Call ``callback`` for every message published on ``channel`` from now on, one at a
        time and in publication order."""

    @abstractmethod
    async def destroy(self) -> None: ...
