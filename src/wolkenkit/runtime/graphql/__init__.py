"""The GraphQL API at ``/graphql/v2`` (reference §4), served when ``GRAPHQL_API`` is set."""

from wolkenkit.runtime.graphql.endpoint import graphql_routes

__all__ = ["graphql_routes"]
