"""The GraphQL schema of an application, made once at start-up (reference §4.2).

Types come from the JSON Schemas of the app's pydantic models (see ``types``), descriptions
from its docstrings. A schema GraphQL cannot express stops the start with ``GraphQlError``
naming the command or query, as the reference does.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from graphql import GraphQLField, GraphQLSchema, assert_valid_schema

from wolkenkit import errors
from wolkenkit.errors import SchemaNotExpressible
from wolkenkit.runtime.gateway import Gateway
from wolkenkit.runtime.graphql.commands import (
    aggregate_identifier_types,
    command_field,
    mutation_type,
)
from wolkenkit.runtime.graphql.subscriptions import subscription_type
from wolkenkit.runtime.graphql.types import BigInt, TypeFactory
from wolkenkit.runtime.graphql.views import query_field, query_type

#: Names the schema gives to types of its own; an app's types never take them.
RESERVED_TYPE_NAMES = (
    "Query",
    "Mutation",
    "Subscription",
    "String",
    "Int",
    "Float",
    "Boolean",
    "ID",
    "JSON",
    BigInt.name,
)


def build_schema(runtime: Gateway) -> GraphQLSchema:
    """Raises ``GraphQlError`` for what GraphQL cannot express."""
    factory = TypeFactory(RESERVED_TYPE_NAMES)
    description = runtime.description
    identifier_types = aggregate_identifier_types(factory)
    command_fields: dict[str, GraphQLField] = {}
    for context_name, aggregates in description["commands"].items():
        for aggregate_name, commands in aggregates.items():
            for command_name, command in commands.items():
                names = (context_name, aggregate_name, command_name)
                with _naming(f"command '{'.'.join(names)}'"):
                    command_fields["_".join(names)] = command_field(
                        runtime, factory, identifier_types, names, command
                    )
    # The types of the reference's fixed names first, so they keep them; an app's own types
    # (views, items, options) give way with a suffix.
    mutation = mutation_type(runtime, factory, command_fields)
    subscription = subscription_type(runtime, factory)
    view_fields: dict[str, dict[str, GraphQLField]] = {}
    for view_name, queries in description["views"].items():
        view_fields[view_name] = {}
        for query_name, query in queries.items():
            with _naming(f"query '{view_name}.{query_name}'"):
                view_fields[view_name][query_name] = query_field(
                    runtime, factory, view_name, query_name, query
                )
    with _naming("the schema"):
        schema = GraphQLSchema(
            query=query_type(factory, view_fields),
            mutation=mutation,
            subscription=subscription,
        )
        assert_valid_schema(schema)
    return schema


@contextmanager
def _naming(subject: str) -> Iterator[None]:
    """Turns what GraphQL cannot express into ``GraphQlError`` naming ``subject``."""
    try:
        yield
    except SchemaNotExpressible as error:
        raise errors.GraphQlError(
            f"The schema of {subject} cannot be expressed in GraphQL: {error}."
        ) from None
    except TypeError as error:
        # graphql-core's own checks (a name twice, an invalid name) raise TypeError.
        raise errors.GraphQlError(
            f"The GraphQL schema cannot be made for {subject}: {error}"
        ) from None
