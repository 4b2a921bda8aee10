"""The services handlers receive, typed so that editors complete them.

Each handler kind gets a small frozen bundle with exactly the services the reference gives it
(reference §1.3). The bundles hold interfaces; the domain supplies the implementations.
"""

from __future__ import annotations

import logging
from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, Generic

from pydantic import BaseModel
from typing_extensions import TypeVar

from wolkenkit import errors
from wolkenkit.application.tables import Tables
from wolkenkit.messages import AggregateIdentifier, ClientMetadata, Command, Initiator
from wolkenkit.records import frozen_record

StateT = TypeVar("StateT", default=Any)
AskT = TypeVar("AskT", default=Any)
TellT = TypeVar("TellT", default=Any)


@frozen_record
class Infrastructure(Generic[AskT, TellT]):
    """What ``get_infrastructure`` returns: read handles in ``ask``, write handles in ``tell``.

    Authorization callbacks and queries get an instance whose ``tell`` is ``None``.
    """

    ask: AskT
    tell: TellT

    def ask_only(self) -> Infrastructure[AskT, None]:
        return Infrastructure(ask=self.ask, tell=None)


class ErrorService:
    """The error classes a handler may raise, as the reference's ``error`` service offers them.

    They are the same classes ``wolkenkit`` exports, so ``raise CommandRejected(...)`` works too.
    """

    CommandRejected = errors.CommandRejected
    NotFound = errors.NotFound
    NotAuthenticated = errors.NotAuthenticated


class AggregateService(ABC, Generic[StateT]):
    """The aggregate a command handler works on."""

    @abstractmethod
    def id(self) -> str:
        """The aggregate's id."""

    @abstractmethod
    def is_pristine(self) -> bool:
        """True while the aggregate has no stored events (revision 0)."""

    @abstractmethod
    def publish_domain_event(
        self,
        name: str,
        data: BaseModel | Mapping[str, Any],
        tags: list[str] | None = None,
    ) -> StateT:
        """Publish an event of this aggregate, apply it at once and return the next state.

        The data is validated against the event's schema; nothing is stored until the
        command handler returns without raising.
        """

    @abstractmethod
    def publish(self, event: BaseModel, tags: list[str] | None = None) -> StateT:
        """Publish the event whose handler takes ``event``'s model, apply it at once and
        return the next state (what returning the event does, for when the handler needs the
        state in between)."""


class AggregatesService(ABC):
    """Read access to other aggregates."""

    @abstractmethod
    async def read(self, aggregate_identifier: AggregateIdentifier) -> Any:
        """The current state of an aggregate; raises ``AggregateNotFound`` if it is pristine."""


class LockService(ABC):
    """Distributed locks, backed by the lock store."""

    @abstractmethod
    async def acquire_lock(self, value: str, expires_at: int | None = None) -> None:
        """Take the lock named ``value`` until ``expires_at`` (ms); raises ``LockAcquireFailed``."""

    @abstractmethod
    async def is_locked(self, value: str) -> bool: ...

    @abstractmethod
    async def renew_lock(self, value: str, expires_at: int) -> None: ...

    @abstractmethod
    async def release_lock(self, value: str) -> None: ...


class NotificationService(ABC):
    """Publishes notifications to clients and to views' notification subscribers."""

    @abstractmethod
    async def publish(
        self,
        notification: BaseModel | str,
        data: BaseModel | Mapping[str, Any] | None = None,
        metadata: BaseModel | Mapping[str, Any] | None = None,
    ) -> None:
        """Validate and publish: a notification's model (``publish(MessagesUpdated())``), or
        its name and data; raises ``NotificationNotFound`` for one that is not defined."""


class CommandService(ABC):
    """Lets flows issue commands."""

    @abstractmethod
    async def issue_command(self, command: Command[Any], initiator: Initiator | None = None) -> str:
        """Issue a command caused by the event being handled; returns the new command's id."""


@frozen_record
class CommandAuthorizationServices:
    """For ``CommandHandler.is_authorized``."""

    aggregates: AggregatesService
    client: ClientMetadata
    infrastructure: Infrastructure[Any, None]
    logger: logging.Logger


@frozen_record
class CommandServices(Generic[StateT]):
    """For ``CommandHandler.handle``."""

    aggregate: AggregateService[StateT]
    aggregates: AggregatesService
    client: ClientMetadata
    error: type[ErrorService]
    infrastructure: Infrastructure[Any, Any]
    lock: LockService
    logger: logging.Logger
    notification: NotificationService


@frozen_record
class DomainEventServices:
    """For ``DomainEventHandler.handle``; it must stay a pure state transition."""

    infrastructure: Infrastructure[Any, Any]
    logger: logging.Logger


@frozen_record
class DomainEventAuthorizationServices:
    """For ``DomainEventHandler.is_authorized``, ``filter`` and ``map``."""

    aggregates: AggregatesService
    client: ClientMetadata
    infrastructure: Infrastructure[Any, None]
    logger: logging.Logger


@frozen_record
class FlowServices:
    """For ``FlowHandler.handle``."""

    aggregates: AggregatesService
    command: CommandService
    infrastructure: Infrastructure[Any, Any]
    lock: LockService
    logger: logging.Logger
    notification: NotificationService
    tables: Tables


@frozen_record
class QueryServices:
    """For ``StreamQueryHandler.handle`` and ``ValueQueryHandler.handle``."""

    client: ClientMetadata
    error: type[ErrorService]
    infrastructure: Infrastructure[Any, Any]
    logger: logging.Logger
    tables: Tables


@frozen_record
class QueryAuthorizationServices:
    """For ``QueryHandler.is_authorized``."""

    client: ClientMetadata
    logger: logging.Logger


@frozen_record
class NotificationSubscriberServices:
    """For ``NotificationSubscriber.handle``."""

    infrastructure: Infrastructure[Any, Any]
    logger: logging.Logger
    notification: NotificationService
    tables: Tables


@frozen_record
class NotificationAuthorizationServices:
    """For ``NotificationHandler.is_authorized``."""

    client: ClientMetadata
    infrastructure: Infrastructure[Any, None]
    logger: logging.Logger


@frozen_record
class HookServices:
    """For the file hooks."""

    client: ClientMetadata
    error: type[ErrorService]
    infrastructure: Infrastructure[Any, Any]
    logger: logging.Logger


@frozen_record
class InfrastructureServices:
    """For ``get_infrastructure`` and ``setup_infrastructure``."""

    logger: logging.Logger
