"""The one place where errors become GraphQL errors: ``extensions.code`` by kind.

Our errors carry their wire code (``CommandMalformed``, ``NotAuthenticated``, …), as on HTTP.
Errors of GraphQL itself carry the codes the reference's Apollo Server gives them:
``GRAPHQL_PARSE_FAILED``, ``GRAPHQL_VALIDATION_FAILED`` (an unknown field, a literal of the
wrong type) and ``BAD_USER_INPUT`` (variables that do not fit). Anything unexpected, and
any of our errors that is the server's fault (a store that is down), is an ``UnknownError``
whose details stay in the log.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, MutableMapping
from typing import Any, TypeGuard

from graphql import (
    ASTValidationRule,
    DocumentNode,
    GraphQLError,
    GraphQLSchema,
    GraphQLSyntaxError,
    validate,
)

from wolkenkit import errors
from wolkenkit.runtime.http.errors import status_of, wire_code

PARSE_FAILED = "GRAPHQL_PARSE_FAILED"
VALIDATION_FAILED = "GRAPHQL_VALIDATION_FAILED"
BAD_USER_INPUT = "BAD_USER_INPUT"
INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR"
#: A request GraphQL over HTTP refuses to run, such as a mutation over GET (Apollo's code).
BAD_REQUEST = "BAD_REQUEST"

logger = logging.getLogger("wolkenkit.runtime.graphql")


def original_error(error: BaseException) -> BaseException | None:
    """What a resolver raised, below the ``GraphQLError`` wrappers; ``None`` for GraphQL's own
    errors."""
    while isinstance(error, GraphQLError):
        if error.original_error is None:
            return None
        error = error.original_error
    return error


def _is_clients_fault(error: BaseException) -> TypeGuard[errors.WolkenkitError]:
    return isinstance(error, errors.WolkenkitError) and status_of(error) < 500


def code_of(error: GraphQLError) -> str:
    original = original_error(error)
    if original is not None:
        return wire_code(original) if _is_clients_fault(original) else errors.UnknownError.code
    if isinstance(error, GraphQLSyntaxError):
        return PARSE_FAILED
    code = error.extensions.get("code") if error.extensions else None
    if isinstance(code, str):
        return code
    # Without a path the error came before execution: the request's variables or shape.
    return BAD_USER_INPUT if error.path is None else INTERNAL_SERVER_ERROR


def format_error(error: GraphQLError, debug: bool = False) -> dict[str, Any]:
    """The error as the response shows it (ariadne's ``error_formatter``)."""
    formatted: dict[str, Any] = dict(error.formatted)
    original = original_error(error)
    if original is not None and _is_clients_fault(original):
        formatted["message"] = original.message
    elif original is not None:
        formatted["message"] = "Unknown error."
    formatted["extensions"] = {**formatted.get("extensions", {}), "code": code_of(error)}
    return formatted


def validate_query(
    schema: GraphQLSchema,
    document_ast: DocumentNode,
    rules: Collection[type[ASTValidationRule]] | None = None,
    max_errors: int | None = None,
    **options: Any,
) -> list[GraphQLError]:
    """GraphQL's validation, with every error marked as one (ariadne's ``query_validator``)."""
    found = validate(schema, document_ast, rules, max_errors, **options)
    for error in found:
        error.extensions = {**(error.extensions or {}), "code": VALIDATION_FAILED}
    return found


class ErrorLog(logging.LoggerAdapter[logging.Logger]):
    """Where ariadne reports every error: a client's mistakes are not the server's errors, so
    they are logged at debug level, and only unexpected ones with their traceback."""

    def __init__(self) -> None:
        super().__init__(logger, {})

    def error(self, msg: object, *args: object, **kwargs: Any) -> None:
        # GraphQL's own errors are the client's, except those during execution (a value that
        # does not fit its field's type, such as an int beyond 32 bits), which the app causes.
        expected = isinstance(msg, GraphQLError) and code_of(msg) not in {
            INTERNAL_SERVER_ERROR,
            errors.UnknownError.code,
        }
        if expected:
            kwargs.pop("exc_info", None)
            self.logger.debug("GraphQL request failed: %s", msg)
        else:
            self.logger.error(msg, *args, **kwargs)

    def process(self, msg: Any, kwargs: MutableMapping[str, Any]) -> tuple[Any, Any]:
        return msg, kwargs


def error_payload(error: errors.WolkenkitError) -> dict[str, Any]:
    """A response body of one error, for failures before GraphQL runs (authentication)."""
    return {"errors": [{"message": error.message, "extensions": {"code": wire_code(error)}}]}
