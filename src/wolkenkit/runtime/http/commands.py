"""``/command/v2`` (reference §3.2): submit commands, cancel them, describe them."""

from __future__ import annotations

import re

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from wolkenkit import errors
from wolkenkit.messages import (
    NAME_PATTERN,
    UUID_PATTERN,
    AggregateIdentifier,
    AggregateReference,
    ContextIdentifier,
    ItemIdentifier,
    new_command_ids,
)
from wolkenkit.runtime.gateway import Gateway
from wolkenkit.runtime.http.requests import authenticate, parse_model, read_json_object

_UUID = re.compile(UUID_PATTERN)
_NAME = re.compile(NAME_PATTERN)


def _runtime(request: Request) -> Gateway:
    runtime: Gateway = request.app.state.runtime
    return runtime


def _checked_identifier(
    context_name: str, aggregate_name: str, aggregate_id: str
) -> AggregateIdentifier:
    """The path's identifier, with the reference's wording for what is malformed."""
    for value, where in (
        (context_name, "command.aggregateIdentifier.context.name"),
        (aggregate_name, "command.aggregateIdentifier.aggregate.name"),
    ):
        if not _NAME.fullmatch(value):
            raise errors.RequestMalformed(f"Value does not satisfy format: name (at {where}).")
    if not _UUID.fullmatch(aggregate_id):
        raise errors.RequestMalformed(
            "Value does not satisfy format: uuid (at command.aggregateIdentifier.aggregate.id)."
        )
    # Checked above as the model would, so it is built without validating again.
    return AggregateIdentifier.trusted(
        context=ContextIdentifier.trusted(name=context_name),
        aggregate=AggregateReference.trusted(name=aggregate_name, id=aggregate_id),
    )


async def describe_commands(request: Request) -> JSONResponse:
    return JSONResponse(_runtime(request).description["commands"])


async def post_command(request: Request) -> Response:
    runtime = _runtime(request)
    client = authenticate(request, runtime.authenticator)
    params = request.path_params
    command_id, aggregate_id = new_command_ids(params.get("aggregate_id"))
    identifier = _checked_identifier(params["context_name"], params["aggregate_name"], aggregate_id)
    command_name: str = params["command_name"]
    if not _NAME.fullmatch(command_name):
        raise errors.RequestMalformed("Value does not satisfy format: name (at command.name).")
    data = await read_json_object(request, runtime.settings.request_body_limit)
    await runtime.receive_command(identifier, command_id, command_name, data, client)
    # Both ids are uuids, which need no escaping: formatted instead of encoded.
    return Response(
        f'{{"id":"{command_id}","aggregateIdentifier":{{"aggregate":{{"id":"{aggregate_id}"}}}}}}',
        media_type="application/json",
    )


async def cancel_command(request: Request) -> JSONResponse:
    runtime = _runtime(request)
    client = authenticate(request, runtime.authenticator)
    body = await read_json_object(request, runtime.settings.request_body_limit)
    identifier: ItemIdentifier = parse_model(ItemIdentifier, body, errors.RequestMalformed)
    await runtime.cancel_command(identifier, client.user.id)
    return JSONResponse({})


routes = [
    Route("/command/v2/description", describe_commands, methods=["GET"]),
    Route("/command/v2/cancel", cancel_command, methods=["POST"]),
    Route(
        "/command/v2/{context_name}/{aggregate_name}/{aggregate_id}/{command_name}",
        post_command,
        methods=["POST"],
    ),
    Route(
        "/command/v2/{context_name}/{aggregate_name}/{command_name}",
        post_command,
        methods=["POST"],
    ),
]
