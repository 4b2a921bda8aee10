"""Builders for test messages, filling in what a test does not care about."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from wolkenkit.messages import (
    AggregateIdentifier,
    ClientMetadata,
    CommandMetadata,
    CommandWithMetadata,
    DomainEvent,
    DomainEventMetadata,
    Initiator,
    User,
    new_id,
    now_ms,
)

#: The user every sandbox command comes from unless a test says otherwise.
JANE_DOE = User(id="jane.doe", claims={"sub": "jane.doe"})


def build_client(
    user: User = JANE_DOE, ip: str = "127.0.0.1", token: str = "token"
) -> ClientMetadata:
    return ClientMetadata(token=token, user=user, ip=ip)


def _json(data: BaseModel | Mapping[str, Any] | None) -> dict[str, Any]:
    if data is None:
        return {}
    if isinstance(data, BaseModel):
        return data.model_dump(mode="json")
    return dict(data)


def build_command(
    aggregate_identifier: AggregateIdentifier,
    name: str,
    data: BaseModel | Mapping[str, Any] | None = None,
    *,
    id: str | None = None,
    client: ClientMetadata | None = None,
    initiator: Initiator | None = None,
    causation_id: str | None = None,
    correlation_id: str | None = None,
    timestamp: int | None = None,
) -> CommandWithMetadata:
    """A command as a client would send it; by default Jane Doe's, with fresh ids."""
    command_id = id or new_id()
    client = client or build_client()
    return CommandWithMetadata(
        aggregate_identifier=aggregate_identifier,
        name=name,
        data=_json(data),
        id=command_id,
        metadata=CommandMetadata(
            causation_id=causation_id or command_id,
            correlation_id=correlation_id or command_id,
            timestamp=now_ms() if timestamp is None else timestamp,
            client=client,
            initiator=initiator or Initiator(user=client.user),
        ),
    )


def build_domain_event(
    aggregate_identifier: AggregateIdentifier,
    name: str,
    data: BaseModel | Mapping[str, Any] | None = None,
    *,
    revision: int = 1,
    id: str | None = None,
    initiator: Initiator | None = None,
    causation_id: str | None = None,
    correlation_id: str | None = None,
    timestamp: int | None = None,
    tags: list[str] | None = None,
    version: int = 1,
) -> DomainEvent:
    """A stored-looking domain event; by default caused by Jane Doe, with fresh ids, its data
    at version 1 of its model."""
    event_id = id or new_id()
    return DomainEvent(
        aggregate_identifier=aggregate_identifier,
        name=name,
        data=_json(data),
        id=event_id,
        metadata=DomainEventMetadata(
            causation_id=causation_id or new_id(),
            correlation_id=correlation_id or new_id(),
            timestamp=now_ms() if timestamp is None else timestamp,
            revision=revision,
            initiator=initiator or Initiator(user=JANE_DOE),
            tags=tags or [],
        ),
        version=version,
    )
