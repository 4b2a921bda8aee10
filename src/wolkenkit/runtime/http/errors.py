"""The one place where errors become HTTP responses: status by wire code, JSON body.

Every error body is ``{"code": ..., "message": ...}`` with the reference's codes. Where the
reference answers with an HTML page (malformed JSON, oversized bodies, unknown routes), we
answer with the same JSON shape.

A client's mistakes answer 4xx with what went wrong. The server's own faults (a store that is
down, a bug) answer 500 ``UnknownError``: their details, a driver's message for one, are for
the log, not for clients.
"""

from __future__ import annotations

import logging

from starlette.exceptions import HTTPException
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wolkenkit import errors
from wolkenkit.errors import RequestTooLarge, RouteNotFound

logger = logging.getLogger("wolkenkit.runtime.http")

STATUS_BY_ERROR: dict[type[errors.WolkenkitError], int] = {
    errors.NotAuthenticated: 401,
    errors.ContentTypeMismatch: 415,
    errors.ItemNotFound: 404,
    errors.FileNotFound: 404,
    errors.NotFound: 404,
    errors.FileAlreadyExists: 409,
    # Only ever raised to a request when the tables are being rebuilt already.
    errors.RebuildFailed: 409,
    # The store errors a client's request can cause; any other store error is an outage.
    errors.ParameterInvalid: 400,
}


def status_of(error: errors.WolkenkitError) -> int:
    if isinstance(error, RequestTooLarge):
        return 413
    for error_type in type(error).__mro__:
        status = STATUS_BY_ERROR.get(error_type)
        if status is not None:
            return status
    if isinstance(error, errors.RequestError):
        return 400
    return 500


def wire_code(error: errors.WolkenkitError) -> str:
    """The reference's code: our own subclasses answer with their parent's code."""
    if isinstance(error, RequestTooLarge):
        return errors.RequestMalformed.code
    if isinstance(error, RouteNotFound):
        return errors.NotFound.code
    return error.code


def error_response(error: errors.WolkenkitError) -> JSONResponse:
    status = status_of(error)
    if status == 500:
        logger.error("Request failed: %s", error.message, exc_info=error)
        return unknown_error_response()
    return JSONResponse({"code": wire_code(error), "message": error.message}, status_code=status)


def routing_error_response(error: HTTPException, method: str) -> JSONResponse:
    """Starlette's own errors (no route matches, the method is not allowed, ...) in our JSON
    shape, with the headers their status needs (a 405's ``Allow``)."""
    status = error.status_code
    if status == 404:
        code, message = errors.NotFound.code, "Route not found."
    elif status == 405:
        code, message = errors.RequestMalformed.code, f"Method {method} is not allowed."
    else:
        code, message = errors.RequestMalformed.code, str(error)
    return JSONResponse({"code": code, "message": message}, status, error.headers)


class UnexpectedErrorMiddleware:
    """Answers what nothing else handled (a bug) with 500 ``UnknownError`` from inside the
    other middleware, so the answer carries their headers (CORS, no-cache) like every other:
    Starlette's last-resort handler sits outside all of them."""

    def __init__(self, app: ASGIApp) -> None:
        self._app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        started = False

        async def sending(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self._app(scope, receive, sending)
        except Exception:
            if started:  # too late for an answer of ours: let the server log and close
                raise
            logger.exception("Request failed unexpectedly.")
            await unknown_error_response()(scope, receive, send)


def unknown_error_response() -> JSONResponse:
    return JSONResponse({"code": "UnknownError", "message": "Unknown error."}, status_code=500)


def not_found_response() -> JSONResponse:
    """A value query that failed in any of the ways the reference folds into 404."""
    return JSONResponse({"code": "NotFound", "message": "Not found."}, status_code=404)
