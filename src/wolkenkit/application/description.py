"""The application's description: what clients can send, receive and query, with schemas.

It is the JSON the reference serves from its ``description`` endpoints (reference §2.3), and
what ``wk describe``, OpenAPI and GraphQL show. Keys without a value are left out, never null.
"""

from __future__ import annotations

from typing import Any, TypedDict

from pydantic import BaseModel

from wolkenkit.application.application import Application
from wolkenkit.application.definitions import (
    CommandHandler,
    DomainEventHandler,
    NotificationHandler,
    QueryHandler,
    version_of,
)
from wolkenkit.application.json_schema import JsonSchema, SchemaMode, json_schema


class MessageDescription(TypedDict, total=False):
    """A command or a domain event: its documentation and the schema of its ``data``; an
    event whose model is past version 1 also its ``version``."""

    documentation: str
    schema: JsonSchema
    version: int


class NotificationDescription(TypedDict, total=False):
    documentation: str
    dataSchema: JsonSchema
    metadataSchema: JsonSchema


class QueryDescription(TypedDict, total=False):
    documentation: str
    optionsSchema: JsonSchema
    itemSchema: JsonSchema


class ApplicationDescription(TypedDict):
    """``commands`` and ``domainEvents`` by context and aggregate; ``views`` by view and query."""

    commands: dict[str, dict[str, dict[str, MessageDescription]]]
    domainEvents: dict[str, dict[str, dict[str, MessageDescription]]]
    notifications: dict[str, NotificationDescription]
    views: dict[str, dict[str, QueryDescription]]


def describe_application(application: Application) -> ApplicationDescription:
    """Describe a loaded application; its ``json.dumps`` is the reference's description JSON."""
    return {
        "commands": {
            context_name: {
                aggregate_name: {
                    name: _message(handler) for name, handler in aggregate.command_handlers.items()
                }
                for aggregate_name, aggregate in aggregates.items()
            }
            for context_name, aggregates in application.domain.items()
        },
        "domainEvents": {
            context_name: {
                aggregate_name: {
                    name: _event(handler)
                    for name, handler in aggregate.domain_event_handlers.items()
                }
                for aggregate_name, aggregate in aggregates.items()
            }
            for context_name, aggregates in application.domain.items()
        },
        "notifications": {
            name: _notification(handler) for name, handler in application.notifications.items()
        },
        "views": {
            view_name: {name: _query(handler) for name, handler in view.query_handlers.items()}
            for view_name, view in application.views.items()
        },
    }


def _message(
    handler: CommandHandler[Any, Any] | DomainEventHandler[Any, Any],
) -> MessageDescription:
    description = MessageDescription()
    if documentation := handler.documentation():
        description["documentation"] = documentation
    if schema := _schema(handler.data_schema()):
        description["schema"] = _not_repeating(schema, documentation)
    return description


def _not_repeating(schema: JsonSchema, documentation: str | None) -> JsonSchema:
    """``schema`` without the description pydantic takes from its model's docstring where
    that docstring is the documentation already (an event declared by its class)."""
    if documentation is None or schema.get("description") != documentation:
        return schema
    return {key: value for key, value in schema.items() if key != "description"}


def _event(handler: DomainEventHandler[Any, Any]) -> MessageDescription:
    description = _message(handler)
    # Version 1 is every event's until its model says otherwise: left out, like the reference.
    if (version := version_of(handler.data_schema())) > 1:
        description["version"] = version
    return description


def _notification(handler: NotificationHandler[Any, Any]) -> NotificationDescription:
    description = NotificationDescription()
    if documentation := handler.documentation():
        description["documentation"] = documentation
    if data_schema := _schema(handler.data_schema()):
        description["dataSchema"] = data_schema
    if metadata_schema := _schema(handler.metadata_schema()):
        description["metadataSchema"] = metadata_schema
    return description


def _query(handler: QueryHandler[Any, Any]) -> QueryDescription:
    description = QueryDescription()
    if documentation := handler.documentation():
        description["documentation"] = documentation
    if options_schema := _schema(handler.options_schema()):
        description["optionsSchema"] = options_schema
    # Items go out to clients, so they are described as pydantic serializes them.
    if item_schema := _schema(handler.item_schema(), "serialization"):
        description["itemSchema"] = item_schema
    return description


def _schema(model: type[BaseModel] | None, mode: SchemaMode = "validation") -> JsonSchema | None:
    return json_schema(model, mode) if model is not None else None
