"""The domain's implementations of the services handlers receive (reference §1.3, §9.4)."""

from __future__ import annotations

import base64
import json
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from pydantic import BaseModel

from wolkenkit import errors
from wolkenkit.application.definitions import NotificationHandler
from wolkenkit.application.services import (
    AggregateService,
    AggregatesService,
    CommandService,
    LockService,
    NotificationService,
)
from wolkenkit.domain.aggregate_instance import AggregateInstance
from wolkenkit.domain.catalog import data_to_json, validate_data
from wolkenkit.domain.repository import Repository
from wolkenkit.messages import (
    AggregateIdentifier,
    ClientMetadata,
    Command,
    CommandMetadata,
    CommandWithMetadata,
    DomainEvent,
    Initiator,
    Notification,
    User,
    new_id,
    now_ms,
)
from wolkenkit.stores.lock_store import NEVER_EXPIRES, LockStore
from wolkenkit.stores.publish_subscribe import Publisher

#: Issues a command on behalf of a flow: the runtime enqueues it, the sandbox records it.
IssueCommand = Callable[[CommandWithMetadata[Any]], Awaitable[None]]

ANONYMOUS_ISSUER = "https://token.invalid"


def unsigned_token(claims: Mapping[str, Any]) -> str:
    """A JWT with algorithm ``none``: it identifies, it proves nothing."""

    def encode(part: Mapping[str, Any]) -> str:
        raw = json.dumps(part, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    return f"{encode({'alg': 'none', 'typ': 'JWT'})}.{encode(claims)}."


FLOW_CLIENT = ClientMetadata(
    token=unsigned_token({"iss": ANONYMOUS_ISSUER, "sub": "flow"}),
    user=User(id="flow", claims={"sub": "flow"}),
    ip="127.0.0.1",
)


class InstanceAggregateService(AggregateService[Any]):
    """``services.aggregate`` for one command on one instance."""

    __slots__ = ("_command", "_instance")

    def __init__(self, instance: AggregateInstance, command: CommandWithMetadata[Any]) -> None:
        self._instance = instance
        self._command = command

    def id(self) -> str:
        return self._instance.identifier.aggregate.id

    def is_pristine(self) -> bool:
        return self._instance.is_pristine()

    def publish_domain_event(
        self,
        name: str,
        data: BaseModel | Mapping[str, Any],
        tags: list[str] | None = None,
    ) -> Any:
        return self._instance.publish(self._command, name, data, tags)

    def publish(self, event: BaseModel, tags: list[str] | None = None) -> Any:
        name = self._instance.entry.definition.event_name_of(type(event))
        if name is None:
            raise TypeError(f"No event handler of this aggregate takes {type(event).__name__}.")
        return self._instance.publish(self._command, name, event, tags)


class RepositoryAggregatesService(AggregatesService):
    def __init__(self, repository: Repository) -> None:
        self._repository = repository

    async def read(self, aggregate_identifier: AggregateIdentifier) -> Any:
        return await self._repository.read_state(aggregate_identifier)


class StoreLockService(LockService):
    def __init__(self, lock_store: LockStore) -> None:
        self._store = lock_store

    async def acquire_lock(self, value: str, expires_at: int | None = None) -> None:
        await self._store.acquire_lock(value, NEVER_EXPIRES if expires_at is None else expires_at)

    async def is_locked(self, value: str) -> bool:
        return await self._store.is_locked(value)

    async def renew_lock(self, value: str, expires_at: int) -> None:
        await self._store.renew_lock(value, expires_at)

    async def release_lock(self, value: str) -> None:
        await self._store.release_lock(value)


def build_notification(
    definitions: Mapping[str, NotificationHandler[Any, Any]],
    notification: BaseModel | str,
    data: BaseModel | Mapping[str, Any] | None,
    metadata: BaseModel | Mapping[str, Any] | None,
) -> Notification:
    """A validated notification, given by its model or by name and data; raises
    ``NotificationNotFound`` or ``ValueError``."""
    if isinstance(notification, BaseModel):
        name = _name_of(definitions, type(notification))
        data = notification
    else:
        name = notification
    definition = definitions.get(name)
    if definition is None:
        raise errors.NotificationNotFound(f"Notification '{name}' not found.")
    data_json = data_to_json(validate_data(definition.data_schema(), {} if data is None else data))
    metadata_json = None
    if metadata is not None:
        metadata_json = data_to_json(validate_data(definition.metadata_schema(), metadata))
    return Notification.trusted(name=name, data=data_json, metadata=metadata_json)


def _name_of(definitions: Mapping[str, NotificationHandler[Any, Any]], model: type[Any]) -> str:
    for name, definition in definitions.items():
        if getattr(definition, "model", None) is model:
            return name
    raise errors.NotificationNotFound(f"No notification is defined by {model.__name__}.")


#: Where a published notification goes: see ``publishing_to``; the single-process runtime
#: hands notifications to its consumers directly instead.
SendNotification = Callable[[Notification], Awaitable[None]]


def publishing_to(publisher: Publisher, channel: str) -> SendNotification:
    """Sends notifications as JSON over publish/subscribe, to every process that serves them."""

    async def send(notification: Notification) -> None:
        await publisher.publish(channel, notification.to_json())

    return send


class PublishingNotificationService(NotificationService):
    """Validates notifications and sends them on."""

    def __init__(
        self,
        definitions: Mapping[str, NotificationHandler[Any, Any]],
        send: SendNotification,
    ) -> None:
        self._definitions = definitions
        self._send = send

    async def publish(
        self,
        notification: BaseModel | str,
        data: BaseModel | Mapping[str, Any] | None = None,
        metadata: BaseModel | Mapping[str, Any] | None = None,
    ) -> None:
        await self._send(build_notification(self._definitions, notification, data, metadata))


class CollectingNotificationService(NotificationService):
    """Collects what notification subscribers publish, to publish it after all have run."""

    def __init__(self, definitions: Mapping[str, NotificationHandler[Any, Any]]) -> None:
        self._definitions = definitions
        self.collected: list[Notification] = []

    async def publish(
        self,
        notification: BaseModel | str,
        data: BaseModel | Mapping[str, Any] | None = None,
        metadata: BaseModel | Mapping[str, Any] | None = None,
    ) -> None:
        self.collected.append(build_notification(self._definitions, notification, data, metadata))


class FlowCommandService(CommandService):
    """``services.command`` for a flow handling one event (reference §9.4)."""

    def __init__(self, domain_event: DomainEvent[Any], issue: IssueCommand) -> None:
        self._domain_event = domain_event
        self._issue = issue

    async def issue_command(self, command: Command[Any], initiator: Initiator | None = None) -> str:
        command_id = new_id()
        event = self._domain_event
        await self._issue(
            CommandWithMetadata(
                aggregate_identifier=command.aggregate_identifier,
                name=command.name,
                data=data_to_json(command.data),
                id=command_id,
                metadata=CommandMetadata(
                    causation_id=event.id,
                    correlation_id=event.metadata.correlation_id,
                    timestamp=now_ms(),
                    client=FLOW_CLIENT,
                    initiator=initiator or event.metadata.initiator,
                ),
            )
        )
        return command_id
