"""Building blocks of the OpenAPI document, and the operations that are the same for every
app: the file API and replays."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from wolkenkit.application.json_schema import JsonSchema, json_schema
from wolkenkit.messages import UUID_PATTERN
from wolkenkit.runtime.http.files import RemoveFileBody
from wolkenkit.runtime.http.replay import _ReplayBody
from wolkenkit.runtime.http.streaming import NDJSON

Operation = dict[str, Any]
Security = list[dict[str, list[str]]]

# Authenticated routes serve anonymous users too: a request without a token is anonymous.
AUTHENTICATED: Security = [{"bearerToken": []}, {"queryToken": []}]
ANYONE: Security = [*AUTHENTICATED, {}]

UUID: JsonSchema = {"type": "string", "format": "uuid", "pattern": UUID_PATTERN}
OBJECT: JsonSchema = {"type": "object"}
EMPTY_OBJECT: JsonSchema = {"type": "object", "additionalProperties": False}
BINARY: JsonSchema = {"type": "string", "format": "binary"}
TOKEN = "NotAuthenticated (the token is not valid)"
HOOK = "NotAuthenticated (an invalid token, or refused by the app's hook)"
TOO_LARGE = "RequestMalformed (the body is too large)"
MALFORMED = "RequestMalformed"


def operation(
    tag: str,
    operation_id: str,
    summary: str,
    description: str | None,
    success: dict[str, Any],
    errors: dict[int, str],
    *,
    parameters: list[dict[str, Any]] | None = None,
    body: dict[str, Any] | None = None,
    security: Security | None = None,
) -> Operation:
    """One operation; ``errors`` maps statuses to the codes their ``{code, message}`` carry."""
    responses = {"200": success}
    for value, codes in errors.items():
        responses[str(value)] = {
            "description": f"{HTTPStatus(value).phrase}: {codes}.",
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}},
        }
    optional = {
        "description": description,
        "parameters": parameters,
        "requestBody": body,
        "security": security,
    }
    return {
        "tags": [tag],
        "operationId": operation_id,
        "summary": summary,
        **{key: value for key, value in optional.items() if value is not None},
        "responses": responses,
    }


def json_response(schema: JsonSchema, description: str = "Success.") -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def ndjson_response(item: JsonSchema, description: str) -> dict[str, Any]:
    return {"description": description, "content": {NDJSON: {"schema": item}}}


def json_body(schema: JsonSchema) -> dict[str, Any]:
    return {"required": True, "content": {"application/json": {"schema": schema}}}


def header(name: str, schema: JsonSchema, description: str) -> dict[str, Any]:
    return {
        "name": name,
        "in": "header",
        "required": True,
        "schema": schema,
        "description": description,
    }


def file_paths() -> dict[str, Any]:
    add_file = operation(
        "Files",
        "addFile",
        "Add a file",
        "The body is the file's content; its `content-type` (any `type/subtype`) is stored with "
        "it. The app's `adding_file` hook may refuse the file or change its name and type.",
        json_response(EMPTY_OBJECT),
        {
            400: MALFORMED,
            401: HOOK,
            409: "FileAlreadyExists",
            413: "RequestMalformed (the file is larger than FILE_SIZE_LIMIT)",
            500: "UnknownError",
        },
        parameters=[
            header("x-id", UUID, "The file's id, chosen by the client."),
            header("x-name", {"type": "string", "minLength": 1}, "The file's name."),
        ],
        body={
            "required": True,
            "content": {
                media_type: {"schema": BINARY}
                for media_type in (
                    "application/octet-stream",
                    "text/plain",
                    "image/png",
                    "image/jpeg",
                )
            },
        },
    )
    get_file = operation(
        "Files",
        "getFile",
        "Get a file",
        "The file's content, with the content type it was stored with. Only passive types "
        "(images but SVG, audio, video, plain text, JSON, bytes) are `inline`; all others are "
        "an `attachment`, and every file comes with `nosniff` and a sandboxing policy.",
        {
            "description": "The file's content.",
            "headers": {
                "x-id": {"schema": UUID},
                "x-name": {"schema": {"type": "string"}},
                "content-length": {"schema": {"type": "integer"}},
                "content-disposition": {"schema": {"type": "string"}},
                "x-content-type-options": {"schema": {"type": "string", "const": "nosniff"}},
                "content-security-policy": {"schema": {"type": "string"}},
            },
            "content": {"*/*": {"schema": BINARY}},
        },
        {400: MALFORMED, 401: HOOK, 404: "FileNotFound"},
        parameters=[{"name": "id", "in": "path", "required": True, "schema": UUID}],
    )
    remove_file = operation(
        "Files",
        "removeFile",
        "Remove a file",
        None,
        json_response(EMPTY_OBJECT),
        {
            400: MALFORMED,
            401: HOOK,
            404: "FileNotFound",
            413: TOO_LARGE,
            415: "ContentTypeMismatch",
        },
        body=json_body(json_schema(RemoveFileBody)),
    )
    return {
        "/files/v2/add-file": {"post": add_file},
        "/files/v2/file/{id}": {"get": get_file},
        "/files/v2/remove-file": {"post": remove_file},
    }


def replay_paths() -> dict[str, Any]:
    perform_replay = operation(
        "Flows",
        "performReplay",
        "Replay domain events to flows",
        "Feeds the stored domain events of the given aggregates, from revision `from` to `to`, "
        "once more to the named flows (to all flows if none are named). Without `aggregates`, "
        "rebuilds the view tables of the named flows (of all flows that own tables if none are "
        "named) from all events, beside the tables serving, and answers once that has "
        "started. Needs an authenticated, non-anonymous caller.",
        json_response(EMPTY_OBJECT),
        {
            400: "RequestMalformed, FlowNotFound, ContextNotFound, AggregateNotFound",
            401: "NotAuthenticated (no token, or an invalid one)",
            409: "RebuildFailed (the tables are being rebuilt already)",
            413: TOO_LARGE,
            415: "ContentTypeMismatch",
        },
        body=json_body(json_schema(_ReplayBody)),
        security=AUTHENTICATED,
    )
    return {"/perform-replay/v2": {"post": perform_replay}}
