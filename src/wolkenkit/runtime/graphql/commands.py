"""The ``Mutation`` type (reference §4.2): ``command`` with one field per command, and ``cancel``.

``command { <context>_<aggregate>_<command>(aggregateIdentifier: {id}, data: {...}) { id
aggregateIdentifier { id } } }`` queues a command exactly as ``POST /command/v2/...`` does.
``data`` is the input type of the command's schema; it is left out where the schema has no
properties, and is ``JSON`` (any object) for a command without a schema.
"""

from __future__ import annotations

import re
from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLBoolean,
    GraphQLField,
    GraphQLInputField,
    GraphQLInputObjectType,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLString,
)

from wolkenkit import errors
from wolkenkit.application.description import MessageDescription
from wolkenkit.application.json_schema import json_schema
from wolkenkit.messages import (
    UUID_PATTERN,
    AggregateIdentifier,
    ItemIdentifier,
    new_command_ids,
)
from wolkenkit.runtime.gateway import Gateway
from wolkenkit.runtime.graphql.context import Info, context_of
from wolkenkit.runtime.graphql.types import JSON, JsonSchema, TypeFactory
from wolkenkit.runtime.http.requests import parse_model

_UUID = re.compile(UUID_PATTERN)
NO_DOCUMENTATION = "No documentation available."


def aggregate_identifier_types(factory: TypeFactory) -> tuple[Any, Any]:
    only_id = {"id": GraphQLNonNull(GraphQLString)}
    identifier_input = GraphQLInputObjectType(
        factory.claim("AggregateIdentifier"),
        {name: GraphQLInputField(kind) for name, kind in only_id.items()},
        description="The aggregate instance; a new id is made when it is left out.",
    )
    identifier_output = GraphQLObjectType(
        factory.claim("AggregateIdentifierOutput"),
        {name: GraphQLField(kind) for name, kind in only_id.items()},
    )
    return identifier_input, identifier_output


def _has_no_properties(schema: JsonSchema) -> bool:
    return schema.get("type") == "object" and not schema.get("properties")


def command_field(
    runtime: Gateway,
    factory: TypeFactory,
    identifier_types: tuple[Any, Any],
    names: tuple[str, str, str],
    description: MessageDescription,
) -> GraphQLField:
    """The field ``<context>_<aggregate>_<command>`` of the ``command`` type."""
    context_name, aggregate_name, command_name = names
    field_name = "_".join(names)
    identifier_input, identifier_output = identifier_types
    arguments = {"aggregateIdentifier": GraphQLArgument(identifier_input)}
    schema = description.get("schema")
    if schema is None:
        arguments["data"] = GraphQLArgument(JSON, description="The command's data (an object).")
    elif not _has_no_properties(schema):
        # Named after the field, as in the reference: ``Communication_message_sendT0``.
        arguments["data"] = GraphQLArgument(factory.input(schema, field_name))
    result_type = GraphQLObjectType(
        factory.claim(field_name),
        {"id": GraphQLField(GraphQLString), "aggregateIdentifier": GraphQLField(identifier_output)},
    )

    async def resolve(_source: Any, info: Info, **given: Any) -> dict[str, Any]:
        client = context_of(info).client()
        command_id, aggregate_id = new_command_ids(
            (given.get("aggregateIdentifier") or {}).get("id")
        )
        if not _UUID.match(aggregate_id):
            raise errors.CommandMalformed(
                "Value does not satisfy format: uuid (at command.aggregateIdentifier.aggregate.id)."
            )
        identifier = AggregateIdentifier.of(context_name, aggregate_name, aggregate_id)
        data = given.get("data")
        await runtime.receive_command(
            identifier, command_id, command_name, {} if data is None else data, client
        )
        return {"id": command_id, "aggregateIdentifier": {"id": aggregate_id}}

    return GraphQLField(
        result_type,
        args=arguments,
        resolve=resolve,
        description=description.get("documentation") or NO_DOCUMENTATION,
    )


def cancel_field(runtime: Gateway, factory: TypeFactory) -> GraphQLField:
    """``cancel(commandIdentifier)``: ``success`` is whether a waiting command was removed."""
    identifier_type = factory.input(json_schema(ItemIdentifier), "CommandIdentifier")
    result_type = GraphQLObjectType(
        factory.claim("cancel"), {"success": GraphQLField(GraphQLBoolean)}
    )

    async def resolve(_source: Any, info: Info, commandIdentifier: Any = None) -> dict[str, bool]:
        client = context_of(info).client()
        if commandIdentifier is None:
            raise errors.ItemIdentifierMalformed("Missing required property: commandIdentifier.")
        identifier: ItemIdentifier = parse_model(
            ItemIdentifier, commandIdentifier, errors.ItemIdentifierMalformed
        )
        try:
            # The not-found errors for a command the app lacks are raised, not answered.
            await runtime.cancel_command(identifier, client.user.id)
        except errors.ItemNotFound:
            return {"success": False}
        return {"success": True}

    return GraphQLField(
        result_type,
        args={"commandIdentifier": GraphQLArgument(identifier_type)},
        resolve=resolve,
        description="Cancels a command of yours that waits in the queue, not yet handled.",
    )


def mutation_type(
    runtime: Gateway, factory: TypeFactory, command_fields: dict[str, GraphQLField]
) -> GraphQLObjectType:
    fields: dict[str, GraphQLField] = {}
    if command_fields:
        command_type = GraphQLObjectType(factory.claim("command"), command_fields)
        # Nullable, as in the reference.
        fields["command"] = GraphQLField(
            command_type,
            resolve=lambda *_: {},
            description="Sends a command; its outcome arrives as domain events.",
        )
    fields["cancel"] = cancel_field(runtime, factory)
    return GraphQLObjectType("Mutation", fields)
