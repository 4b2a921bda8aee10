"""The ``Query`` type (reference §4.2): one field per view, with one field per query.

``messages { all { text } }`` runs the query ``all`` of the view ``messages`` as ``GET
/views/v2/messages/stream/all`` does. A query's ``options`` argument is the input type of its
options schema; its items have the type of its item schema (``JSON`` without one). A stream
query gives a list of every item; a value query gives its item, or the error ``NotFound``
where HTTP answers 404.
"""

from __future__ import annotations

from typing import Any

from graphql import (
    GraphQLArgument,
    GraphQLBoolean,
    GraphQLField,
    GraphQLList,
    GraphQLObjectType,
    GraphQLOutputType,
)

from wolkenkit import errors
from wolkenkit.application.description import QueryDescription
from wolkenkit.runtime.gateway import Gateway
from wolkenkit.runtime.graphql.commands import NO_DOCUMENTATION
from wolkenkit.runtime.graphql.context import Info, context_of
from wolkenkit.runtime.graphql.types import JSON, TypeFactory


def query_field(
    runtime: Gateway,
    factory: TypeFactory,
    view_name: str,
    query_name: str,
    description: QueryDescription,
) -> GraphQLField:
    """The field ``<query>`` of the view's type."""
    is_stream = runtime.is_stream_query(view_name, query_name)
    item_schema = description.get("itemSchema")
    item_type: GraphQLOutputType = (
        JSON
        if item_schema is None
        else factory.output(item_schema, f"{view_name}_{query_name}_resultItem")
    )
    arguments: dict[str, GraphQLArgument] = {}
    options_schema = description.get("optionsSchema")
    if options_schema is not None and options_schema.get("properties"):
        arguments["options"] = GraphQLArgument(
            factory.input(options_schema, f"{view_name}_{query_name}_options")
        )

    async def resolve(_source: Any, info: Info, options: Any = None) -> Any:
        client = context_of(info).client()
        given = {} if options is None else options
        if is_stream:
            items = await runtime.query_stream(view_name, query_name, given, client)
            return [item async for item in items]
        try:
            return await runtime.query_value(view_name, query_name, given, client)
        except (errors.QueryResultInvalid, errors.QueryNotAuthorized, errors.NotFound):
            # What HTTP folds into a 404 (reference §3.4).
            raise errors.NotFound("Not found.") from None

    return GraphQLField(
        # A list with nullable items, as in the reference.
        GraphQLList(item_type) if is_stream else item_type,
        args=arguments,
        resolve=resolve,
        description=description.get("documentation") or NO_DOCUMENTATION,
    )


def query_type(
    factory: TypeFactory, view_fields: dict[str, dict[str, GraphQLField]]
) -> GraphQLObjectType:
    """``Query`` with a field per view that has queries; ``_`` (always false) without any, as
    GraphQL needs a query type with a field."""
    fields = {
        # Nullable, as in the reference.
        view_name: GraphQLField(
            GraphQLObjectType(factory.claim(view_name), queries),
            resolve=lambda *_: {},
        )
        for view_name, queries in view_fields.items()
        if queries
    }
    if not fields:
        fields["_"] = GraphQLField(GraphQLBoolean, resolve=lambda *_: False)
    return GraphQLObjectType("Query", fields)
