"""``/files/v2`` (reference §3.6): add, get and remove files, with the app's file hooks."""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from wolkenkit import errors
from wolkenkit.application.services import ErrorService, HookServices
from wolkenkit.awaiting import settled
from wolkenkit.errors import RequestTooLarge
from wolkenkit.files import FileAddMetadata
from wolkenkit.messages import UUID_PATTERN, ClientMetadata, Uuid
from wolkenkit.runtime.gateway import Gateway
from wolkenkit.runtime.http.file_headers import file_headers
from wolkenkit.runtime.http.requests import authenticate, parse_model, read_json_object

_UUID = re.compile(UUID_PATTERN)
logger = logging.getLogger("wolkenkit.app.hooks")


class RemoveFileBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: Uuid


def _services(runtime: Gateway, client: ClientMetadata) -> HookServices:
    return HookServices(
        client=client,
        error=ErrorService,
        infrastructure=runtime.infrastructure,
        logger=logger,
    )


async def _call_hook(hook: Any, *arguments: Any) -> Any:
    if hook is None:
        return None
    return await settled(hook(*arguments))


async def _call_after_hook(hook: Any, *arguments: Any) -> None:
    """The "-ed" hooks run after the fact: their errors are logged, never sent."""
    try:
        await _call_hook(hook, *arguments)
    except Exception:
        logger.exception("A file hook failed after the fact.")


async def add_file(request: Request) -> JSONResponse:
    runtime: Gateway = request.app.state.runtime
    client = authenticate(request, runtime.authenticator)
    headers = request.headers
    limit = runtime.settings.file_size_limit
    declared = headers.get("content-length")
    # A declared length over the limit is refused before a byte of the body is read.
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _too_large(limit)
    metadata: FileAddMetadata = parse_model(
        FileAddMetadata,
        {
            "id": headers.get("x-id"),
            "name": headers.get("x-name"),
            "contentType": headers.get("content-type"),
        },
        errors.RequestMalformed,
    )
    hooks = runtime.application.hooks
    services = _services(runtime, client)
    changes = await _call_hook(hooks.adding_file, metadata, services)
    if changes is not None:
        metadata = _merged(metadata, changes)
    stored = await runtime.file_store.add_file(
        metadata.id, metadata.name, metadata.content_type, _limited(request.stream(), limit)
    )
    await _call_after_hook(hooks.added_file, stored, services)
    return JSONResponse({})


async def _limited(stream: AsyncIterator[bytes], limit: int) -> AsyncIterator[bytes]:
    """The body, broken off once it brings more than ``limit`` bytes (a chunked upload
    declares no length); the file store then discards what it has written so far."""
    size = 0
    async for chunk in stream:
        size += len(chunk)
        if size > limit:
            raise _too_large(limit)
        yield chunk


def _too_large(limit: int) -> RequestTooLarge:
    return RequestTooLarge(f"File is larger than {limit} bytes.")


def _merged(metadata: FileAddMetadata, changes: Any) -> FileAddMetadata:
    """The ``adding_file`` hook may return a new name and content type."""
    if isinstance(changes, BaseModel):
        changes = changes.model_dump(by_alias=True)
    if not isinstance(changes, Mapping):
        raise TypeError("The adding_file hook must return a mapping or FileAddMetadata.")
    update = {**metadata.to_json(), **{key: changes[key] for key in changes if key != "id"}}
    result: FileAddMetadata = parse_model(FileAddMetadata, update, errors.RequestMalformed)
    return result


async def get_file(request: Request) -> Response:
    runtime: Gateway = request.app.state.runtime
    client = authenticate(request, runtime.authenticator)
    file_id: str = request.path_params["file_id"]
    if not _UUID.match(file_id):
        raise errors.RequestMalformed("Value does not satisfy format: uuid (at id).")
    metadata = await runtime.file_store.get_metadata(file_id)
    hooks = runtime.application.hooks
    services = _services(runtime, client)
    await _call_hook(hooks.getting_file, metadata, services)

    async def content() -> AsyncIterator[bytes]:
        async for chunk in runtime.file_store.get_file(file_id):
            yield chunk
        await _call_after_hook(hooks.got_file, metadata, services)

    return StreamingResponse(content(), headers=file_headers(metadata))


async def remove_file(request: Request) -> JSONResponse:
    runtime: Gateway = request.app.state.runtime
    client = authenticate(request, runtime.authenticator)
    body = await read_json_object(request, runtime.settings.request_body_limit)
    file_id = parse_model(RemoveFileBody, body, errors.RequestMalformed).id
    metadata = await runtime.file_store.get_metadata(file_id)
    hooks = runtime.application.hooks
    services = _services(runtime, client)
    await _call_hook(hooks.removing_file, metadata, services)
    await runtime.file_store.remove_file(file_id)
    await _call_after_hook(hooks.removed_file, metadata, services)
    return JSONResponse({})


routes = [
    Route("/files/v2/add-file", add_file, methods=["POST"]),
    Route("/files/v2/file/{file_id}", get_file, methods=["GET"]),
    Route("/files/v2/remove-file", remove_file, methods=["POST"]),
]
