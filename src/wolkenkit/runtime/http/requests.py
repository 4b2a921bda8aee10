"""Reading requests: who sent it, its JSON body within limits, its query options."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError
from starlette.requests import HTTPConnection, Request

from wolkenkit import errors
from wolkenkit.domain.catalog import describe_validation_error
from wolkenkit.errors import JsonRefused, RequestTooLarge
from wolkenkit.messages import ClientMetadata
from wolkenkit.runtime.auth import Authenticator
from wolkenkit.runtime.client_json import parse_client_json

_HEADERS_KEY = "wolkenkit.headers"


def _headers(connection: HTTPConnection) -> dict[bytes, bytes]:
    """The request's headers by lower-case name, the first of repeated ones; made once per
    request: a lookup in it costs a fraction of one in Starlette's ``Headers``."""
    scope = connection.scope
    found: dict[bytes, bytes] | None = scope.get(_HEADERS_KEY)
    if found is None:
        # ASGI servers send header names in lower case; reversed, the first one wins.
        found = scope[_HEADERS_KEY] = dict(reversed(scope["headers"]))
    return found


def _header(connection: HTTPConnection, name: bytes) -> str | None:
    value = _headers(connection).get(name)
    return None if value is None else value.decode("latin-1")


def client_ip(request: HTTPConnection) -> str:
    forwarded = _header(request, b"x-forwarded-for")
    if forwarded:
        return forwarded.split(",")[0].strip()
    client = request.scope.get("client")
    if client and client[0]:
        return str(client[0])
    return "0.0.0.0"


def bearer_token(request: Request) -> str | None:
    """The token from ``Authorization: Bearer``, else from ``?token=``."""
    authorization = _header(request, b"authorization")
    if authorization:
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() != "bearer" or not value.strip():
            raise errors.NotAuthenticated("Authorization header is malformed.")
        return value.strip()
    if b"token" not in request.scope["query_string"]:
        return None
    tokens = request.query_params.getlist("token")
    if len(tokens) > 1:
        raise errors.RequestMalformed("Query parameter 'token' must be given once.")
    # An empty `?token=` is no token, as in the reference: the caller is anonymous.
    return tokens[0] if tokens and tokens[0] else None


def authenticate(request: Request, authenticator: Authenticator) -> ClientMetadata:
    return authenticator.authenticate(
        bearer_token(request),
        _header(request, b"x-anonymous-id"),
        client_ip(request),
    )


def require_json_content_type(request: Request) -> None:
    content_type = _header(request, b"content-type") or ""
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise errors.ContentTypeMismatch("Header content-type must be application/json.")


async def read_body(request: Request, limit: int) -> bytes:
    """The whole body, refusing more than ``limit`` bytes before reading them all."""
    declared = _header(request, b"content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise RequestTooLarge(f"Request body is larger than {limit} bytes.")
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise RequestTooLarge(f"Request body is larger than {limit} bytes.")
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: Request, limit: int) -> Any:
    """The body's JSON value, within ``limit`` bytes and the limits of ``client_json``; 413 or
    400 (``RequestMalformed``) otherwise."""
    body = await read_body(request, limit)
    try:
        return parse_client_json(body)
    except JsonRefused as error:
        raise errors.RequestMalformed(f"Request body is refused: {error}.") from None
    except ValueError as error:
        raise errors.RequestMalformed(f"Request body is not valid JSON: {error}.") from None


async def read_json_object(request: Request, limit: int) -> dict[str, Any]:
    """The body as a JSON object; 415, 413 or 400 (``RequestMalformed``) otherwise."""
    require_json_content_type(request)
    value = await read_json(request, limit)
    if not isinstance(value, dict):
        raise errors.RequestMalformed("Request body must be a JSON object.")
    return value


def parse_model(model: type[BaseModel], value: Any, error: type[errors.WolkenkitError]) -> Any:
    """``value`` validated as ``model``, or ``error`` with a readable message."""
    try:
        return model.model_validate(value)
    except ValidationError as validation_error:
        raise error(describe_validation_error(validation_error)) from None


def query_options(request: Request, exclude: tuple[str, ...] = ("token",)) -> dict[str, Any]:
    """The query string as an object, each value JSON-decoded where it is JSON (reference
    §3.1: ``?filter={"name":"sent"}`` gives an object); JSON beyond the limits of
    ``client_json`` is a ``RequestMalformed``."""
    return {
        key: _json_or_string(key, value) for key, value in _pairs(request.query_params, exclude)
    }


def _pairs(params: Mapping[str, str], exclude: tuple[str, ...]) -> list[tuple[str, str]]:
    return [(key, value) for key, value in params.items() if key not in exclude]


def _json_or_string(key: str, value: str) -> Any:
    try:
        return parse_client_json(value)
    except JsonRefused as error:
        raise errors.RequestMalformed(f"Query parameter '{key}' is refused: {error}.") from None
    except ValueError:
        return value
