"""Fast lookups over a loaded application, prepared once so hot paths do no introspection.

The catalog answers "does this context / aggregate / command / view exist, and what is its
schema?" with the reference's errors and messages, for the engine and the APIs alike.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ValidationError

from wolkenkit import errors
from wolkenkit.application.application import Application
from wolkenkit.application.definitions import (
    Aggregate,
    CommandHandler,
    DomainEventHandler,
    QueryHandler,
    View,
    version_of,
)
from wolkenkit.application.subscriptions import resolve_subscriptions
from wolkenkit.application.upcasters import FunctionUpcaster, chain
from wolkenkit.domain.state import StateCodec
from wolkenkit.messages import AggregateIdentifier
from wolkenkit.serialization import json_object, validated


def describe_validation_error(error: ValidationError) -> str:
    """One readable sentence from a pydantic error: ``Field required (at text).``"""
    parts = []
    for detail in error.errors():
        location = ".".join(str(part) for part in detail["loc"])
        parts.append(f"{detail['msg']} (at {location})" if location else detail["msg"])
    return "; ".join(parts) + "."


def validate_data(schema: type[BaseModel] | None, data: Any) -> Any:
    """``data`` as the handler's schema model (or the plain mapping when there is no schema).

    Raises ``ValueError`` with a readable message when the data does not fit.
    """
    if schema is None:
        if isinstance(data, BaseModel):
            return json_object(data)
        if not isinstance(data, Mapping):
            raise ValueError("Data must be an object.")
        return dict(data)
    if isinstance(data, schema):
        return data
    if isinstance(data, BaseModel):
        data = json_object(data)
    try:
        return validated(schema, data)
    except ValidationError as error:
        raise ValueError(describe_validation_error(error)) from None


def data_to_json(data: Any) -> dict[str, Any]:
    """Typed data back to the JSON object that is stored and sent."""
    if isinstance(data, BaseModel):
        return json_object(data)
    return dict(data)


@dataclass(frozen=True, slots=True)
class CommandEntry:
    name: str
    handler: CommandHandler[Any, Any]
    schema: type[BaseModel] | None

    def typed_data(self, data: Any) -> Any:
        """The command's data as its schema model; raises ``CommandMalformed``."""
        try:
            return validate_data(self.schema, data)
        except ValueError as error:
            raise errors.CommandMalformed(str(error)) from None


@dataclass(frozen=True, slots=True)
class DomainEventEntry:
    name: str
    handler: DomainEventHandler[Any, Any]
    schema: type[BaseModel] | None
    #: ``filter`` and ``map`` are skipped entirely when the user did not override them.
    has_filter: bool
    has_map: bool
    #: The version of the data's model, and the upcasters that lead to it from version 1
    #: (the first lifts 1 to 2).
    version: int = 1
    upcasters: tuple[FunctionUpcaster, ...] = ()


@dataclass(frozen=True, slots=True)
class AggregateEntry:
    context_name: str
    name: str
    definition: Aggregate[Any]
    codec: StateCodec[Any]
    commands: dict[str, CommandEntry]
    domain_events: dict[str, DomainEventEntry]
    #: ``<command>Rejected`` / ``<command>Failed``: never stored, never fed to flows.
    system_event_names: frozenset[str]
    #: ``wolkenkit.app.domain.<context>.<aggregate>``: what the aggregate's handlers log to.
    logger: logging.Logger

    def command(self, command_name: str) -> CommandEntry:
        """Raises ``CommandNotFound``."""
        entry = self.commands.get(command_name)
        if entry is None:
            raise errors.CommandNotFound(
                f"Command '{self.context_name}.{self.name}.{command_name}' not found."
            )
        return entry


@dataclass(frozen=True, slots=True)
class QueryEntry:
    view_name: str
    name: str
    handler: QueryHandler[Any, Any]
    options_schema: type[BaseModel] | None
    item_schema: type[BaseModel] | None


def _aggregate_entry(
    context_name: str, aggregate_name: str, aggregate: Aggregate[Any]
) -> AggregateEntry:
    commands = {
        name: CommandEntry(name, handler, handler.data_schema())
        for name, handler in aggregate.command_handlers.items()
    }
    domain_events = {
        name: DomainEventEntry(
            name,
            handler,
            handler.data_schema(),
            has_filter=handler.has_filter(),
            has_map=handler.has_map(),
            version=version_of(handler.data_schema()),
            upcasters=chain(aggregate, handler.data_schema()),
        )
        for name, handler in aggregate.domain_event_handlers.items()
    }
    system_event_names = frozenset(
        name for command in commands for name in (f"{command}Rejected", f"{command}Failed")
    )
    return AggregateEntry(
        context_name=context_name,
        name=aggregate_name,
        definition=aggregate,
        codec=StateCodec(aggregate.initial_state),
        commands=commands,
        domain_events=domain_events,
        system_event_names=system_event_names,
        logger=logging.getLogger(f"wolkenkit.app.domain.{context_name}.{aggregate_name}"),
    )


class Catalog:
    """Lookups by name over one application."""

    def __init__(self, application: Application) -> None:
        # An app built in code rather than loaded has its subscriptions resolved here.
        resolve_subscriptions(application)
        self.application = application
        self._aggregates: dict[str, dict[str, AggregateEntry]] = {
            context_name: {
                aggregate_name: _aggregate_entry(context_name, aggregate_name, aggregate)
                for aggregate_name, aggregate in aggregates.items()
            }
            for context_name, aggregates in application.domain.items()
        }
        self._queries: dict[str, dict[str, QueryEntry]] = {
            view_name: {
                query_name: QueryEntry(
                    view_name,
                    query_name,
                    handler,
                    handler.options_schema(),
                    handler.item_schema(),
                )
                for query_name, handler in view.query_handlers.items()
            }
            for view_name, view in application.views.items()
        }

    def aggregate(self, context_name: str, aggregate_name: str) -> AggregateEntry:
        """Raises ``ContextNotFound`` or ``AggregateNotFound``."""
        aggregates = self._aggregates.get(context_name)
        if aggregates is None:
            raise errors.ContextNotFound(f"Context '{context_name}' not found.")
        entry = aggregates.get(aggregate_name)
        if entry is None:
            raise errors.AggregateNotFound(
                f"Aggregate '{context_name}.{aggregate_name}' not found."
            )
        return entry

    def aggregate_of(self, identifier: AggregateIdentifier) -> AggregateEntry:
        return self.aggregate(identifier.context.name, identifier.aggregate.name)

    def command(self, identifier: AggregateIdentifier, command_name: str) -> CommandEntry:
        """Raises ``ContextNotFound``, ``AggregateNotFound`` or ``CommandNotFound``."""
        return self.aggregate_of(identifier).command(command_name)

    def validate_command_data(
        self, identifier: AggregateIdentifier, command_name: str, data: Any
    ) -> Any:
        """The command's data as its schema model; raises the not-found errors or
        ``CommandMalformed``."""
        return self.command(identifier, command_name).typed_data(data)

    def domain_event(self, identifier: AggregateIdentifier, event_name: str) -> DomainEventEntry:
        aggregate = self.aggregate_of(identifier)
        entry = aggregate.domain_events.get(event_name)
        if entry is None:
            raise errors.DomainEventNotFound(
                f"Domain event '{aggregate.context_name}.{aggregate.name}.{event_name}' not found."
            )
        return entry

    def view(self, view_name: str) -> View:
        view = self.application.views.get(view_name)
        if view is None:
            raise errors.ViewNotFound(f"View '{view_name}' not found.")
        return view

    def query(self, view_name: str, query_name: str) -> QueryEntry:
        """Raises ``ViewNotFound`` or ``QueryHandlerNotFound``."""
        self.view(view_name)
        entry = self._queries[view_name].get(query_name)
        if entry is None:
            raise errors.QueryHandlerNotFound(
                f"Query handler '{view_name}.{query_name}' not found."
            )
        return entry

    def flow_names(self) -> list[str]:
        return list(self.application.flows)

    def aggregates(self) -> list[AggregateEntry]:
        return [entry for context in self._aggregates.values() for entry in context.values()]
