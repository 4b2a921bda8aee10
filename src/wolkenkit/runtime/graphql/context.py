"""Who sends a GraphQL operation, as on HTTP (reference §4.1), and the resolvers' context.

Over HTTP the client is who the request's ``Authorization: Bearer`` header or ``?token=``
says, or an anonymous user (``x-anonymous-id``), exactly as on the HTTP API. Over a
WebSocket, browsers cannot set headers, so the token may also come in the connection's
parameters: the ``token`` upgrade header, ``Authorization: Bearer``, ``?token=``, then
``connectionParams.token`` (or ``connectionParams.authorization``); the anonymous id from the
``x-anonymous-id`` header or ``connectionParams['x-anonymous-id']``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from graphql import GraphQLResolveInfo
from starlette.requests import HTTPConnection

from wolkenkit import errors
from wolkenkit.messages import ClientMetadata
from wolkenkit.runtime.gateway import Gateway
from wolkenkit.runtime.http.requests import client_ip

#: Where a connection's authentication outcome is kept between its upgrade and its operations.
CLIENT_SCOPE_KEY = "wolkenkit.graphql.client"


@dataclass(frozen=True, slots=True)
class GraphqlContext:
    """What every resolver gets as ``info.context``."""

    runtime: Gateway
    connection: HTTPConnection
    authentication: ClientMetadata | errors.WolkenkitError

    def client(self) -> ClientMetadata:
        """The authenticated client; raises why there is none (``NotAuthenticated``)."""
        if isinstance(self.authentication, errors.WolkenkitError):
            raise type(self.authentication)(self.authentication.message)
        return self.authentication


#: What resolvers get as their ``info``.
Info = GraphQLResolveInfo[GraphqlContext]


def context_of(info: Info) -> GraphqlContext:
    return info.context


def make_context(runtime: Gateway, connection: HTTPConnection) -> GraphqlContext:
    """The context of an operation, from what the connection's authentication found."""
    outcome = connection.scope.get(CLIENT_SCOPE_KEY)
    if outcome is None:
        # A WebSocket operation before ``connection_init``: the protocols refuse it anyway.
        outcome = errors.NotAuthenticated("The connection was not initialised.")
    return GraphqlContext(runtime, connection, outcome)


def _bearer(value: Any) -> str | None:
    """The token of ``Bearer <token>``, or a raw token; ``NotAuthenticated`` for another
    scheme."""
    if not isinstance(value, str) or not value.strip():
        return None
    scheme, _, token = value.strip().partition(" ")
    if not token:
        return scheme
    if scheme.lower() != "bearer" or not token.strip():
        raise errors.NotAuthenticated("Authorization is malformed.")
    return token.strip()


def websocket_token(connection: HTTPConnection, parameters: Mapping[str, Any]) -> str | None:
    headers = connection.headers
    for candidate in (
        headers.get("token"),
        headers.get("authorization"),
        connection.query_params.get("token"),
        parameters.get("token"),
        parameters.get("authorization") or parameters.get("Authorization"),
    ):
        token = _bearer(candidate)
        if token is not None:
            return token
    return None


def authenticate_websocket(
    runtime: Gateway, connection: HTTPConnection, connection_params: Any
) -> None:
    """Authenticates a WebSocket's ``connection_init``; keeps the client, or why there is
    none, for the connection's operations, which fail with that error."""
    parameters: Mapping[str, Any] = (
        connection_params if isinstance(connection_params, Mapping) else {}
    )
    anonymous_id = connection.headers.get("x-anonymous-id") or parameters.get("x-anonymous-id")
    outcome: ClientMetadata | errors.WolkenkitError
    try:
        outcome = runtime.authenticator.authenticate(
            websocket_token(connection, parameters),
            anonymous_id if isinstance(anonymous_id, str) and anonymous_id else None,
            client_ip(connection),
        )
    except errors.WolkenkitError as error:
        outcome = error
    connection.scope[CLIENT_SCOPE_KEY] = outcome
