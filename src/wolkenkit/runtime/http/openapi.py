"""The OpenAPI document of the HTTP API v2 (reference §3.8), made from the app's description.

One operation per concrete command and per view query, with the app's own schemas; the streams
of domain events and notifications list every one the app has. The routes that are the same
for every app (files, replays) come from ``openapi_operations``. The document is OpenAPI 3.1,
not the reference's 3.0.3: 3.1's schemas are JSON Schema 2020-12, the dialect pydantic writes,
so the app's schemas go in as they are.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wolkenkit import __version__
from wolkenkit.application.description import QueryDescription
from wolkenkit.application.json_schema import JsonSchema, json_schema
from wolkenkit.messages import DomainEvent, ItemIdentifier
from wolkenkit.runtime.gateway import Gateway
from wolkenkit.runtime.http.openapi_operations import (
    ANYONE,
    EMPTY_OBJECT,
    MALFORMED,
    OBJECT,
    TOKEN,
    TOO_LARGE,
    UUID,
    Operation,
    file_paths,
    json_body,
    json_response,
    ndjson_response,
    operation,
    replay_paths,
)
from wolkenkit.runtime.http.streaming import NDJSON
from wolkenkit.runtime.services import Service

OPENAPI_VERSION = "3.1.0"

_HEARTBEAT: JsonSchema = {
    "title": "heartbeat",
    "type": "object",
    "description": "Sent first and whenever the stream has been quiet; clients skip it.",
    "properties": {"name": {"const": "heartbeat"}},
    "required": ["name"],
}
_COMMAND_ACCEPTED: JsonSchema = {
    "type": "object",
    "properties": {
        "id": {**UUID, "description": "The command's id."},
        "aggregateIdentifier": {
            "type": "object",
            "properties": {"aggregate": {"type": "object", "properties": {"id": UUID}}},
        },
    },
    "required": ["id", "aggregateIdentifier"],
}

# The wire codes each status carries, as the routes answer them.
_COMMAND_ERRORS = {
    400: "RequestMalformed, ContextNotFound, AggregateNotFound, CommandNotFound, CommandMalformed",
    401: TOKEN,
    413: TOO_LARGE,
    415: "ContentTypeMismatch",
    500: "UnknownError",
}
_QUERY_ERRORS = {
    400: "ViewNotFound, QueryHandlerNotFound, QueryHandlerTypeMismatch, QueryOptionsInvalid, "
    "RequestMalformed",
    401: TOKEN,
    500: "QueryResultInvalid, UnknownError",
}

_TAGS = {
    "Commands": "Submit commands to aggregates, and cancel those not yet handled.",
    "Domain events": "Observe what happens, live, as the aggregates' domain events.",
    "Views": "Query the views, as a stream of items or as one value.",
    "Notifications": "Observe the app's notifications, live.",
    "Files": "Store, fetch and remove files.",
    "Flows": "Replay stored domain events to flows.",
}

_INTRODUCTION = """\
The HTTP API v2 of the wolkenkit application '{name}', as served by this runtime.

**Authentication.** Send a JWT of a configured identity provider as `Authorization: Bearer
<token>` or as the query parameter `token`. Requests without a token are served as the user
`anonymous`, or `anonymous-<id>` with the header `x-anonymous-id: <id>`.

**Streams** (`{ndjson}`) carry one JSON document per line. The live streams of domain
events and notifications never end and send `{{"name":"heartbeat"}}` lines, which clients
skip; "Try it out" cannot show them, use `curl -N` or a client instead.

**Errors** answer with `{{"code": ..., "message": ...}}`. JSON bodies may have at most
{limit} bytes."""


def open_api_document(runtime: Gateway) -> dict[str, Any]:
    """The OpenAPI document of every route the runtime's HTTP API serves."""
    name = runtime.application.name
    limit = runtime.settings.request_body_limit
    # A microservice documents only the routes it serves.
    makers: tuple[tuple[Service, str, Callable[[], dict[str, Any]]], ...] = (
        (Service.COMMAND, "Commands", lambda: _command_paths(runtime)),
        (Service.DOMAIN_EVENT, "Domain events", lambda: _domain_event_paths(runtime)),
        (Service.VIEW, "Views", lambda: _view_paths(runtime)),
        (Service.NOTIFICATION, "Notifications", lambda: _notification_paths(runtime)),
        (Service.FILE, "Files", file_paths),
        (Service.REPLAY, "Flows", replay_paths),
    )
    sections = {tag: make() for service, tag, make in makers if service in runtime.services}
    return {
        "openapi": OPENAPI_VERSION,
        "info": {
            "title": f"{name} API",
            "version": __version__,
            "description": _INTRODUCTION.format(name=name, ndjson=NDJSON, limit=limit),
        },
        "tags": [{"name": tag, "description": _TAGS[tag]} for tag in sections],
        "paths": {path: item for paths in sections.values() for path, item in paths.items()},
        "components": {
            "schemas": {
                "Error": {
                    "type": "object",
                    "properties": {"code": {"type": "string"}, "message": {"type": "string"}},
                    "required": ["code"],
                },
                "DomainEvent": json_schema(DomainEvent, "serialization"),
            },
            "securitySchemes": {
                "bearerToken": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"},
                "queryToken": {"type": "apiKey", "in": "query", "name": "token"},
            },
        },
        "security": ANYONE,
    }


def _paragraphs(*parts: str | None) -> str:
    return "\n\n".join(part for part in parts if part)


def _summary(documentation: str | None, fallback: str) -> str:
    return documentation.strip().splitlines()[0] if documentation else fallback


def _describe(tag: str, described: Any) -> dict[str, Any]:
    """``GET …/description``: public, answers a part of the app's description."""
    what = tag.lower()
    success = {
        "description": f"The {what} with their documentation and JSON Schemas.",
        "content": {"application/json": {"schema": OBJECT, "example": described}},
    }
    operation_id = f"describe{tag.replace(' ', '')}"
    return {
        "get": operation(tag, operation_id, f"Describe the {what}", None, success, {}, security=[])
    }


def _command_paths(runtime: Gateway) -> dict[str, Any]:
    commands = runtime.description["commands"]
    cancel = operation(
        "Commands",
        "cancelCommand",
        "Cancel a command",
        "Removes a command the caller sent, unless it is being handled already.",
        json_response(EMPTY_OBJECT),
        {**_COMMAND_ERRORS, 404: "ItemNotFound (no such command waits)"},
        body=json_body(json_schema(ItemIdentifier)),
    )
    paths: dict[str, Any] = {
        "/command/v2/description": _describe("Commands", commands),
        "/command/v2/cancel": {"post": cancel},
    }
    aggregate_id = {"name": "aggregateId", "in": "path", "required": True, "schema": UUID}
    for context_name, aggregates in commands.items():
        for aggregate_name, aggregate_commands in aggregates.items():
            for name, command in aggregate_commands.items():
                documentation = command.get("documentation")
                summary = _summary(documentation, f"{context_name}.{aggregate_name}.{name}")
                outcome = (
                    "Accepted commands are handled asynchronously: the outcome shows in the "
                    f"domain events, including `{name}Rejected` and `{name}Failed`."
                )
                body = json_body(command.get("schema", OBJECT))
                success = json_response(_COMMAND_ACCEPTED, "Accepted.")
                prefix = f"/command/v2/{context_name}/{aggregate_name}"
                operation_id = f"command_{context_name}_{aggregate_name}_{name}"
                existing = operation(
                    "Commands",
                    operation_id,
                    summary,
                    _paragraphs(documentation, outcome),
                    success,
                    _COMMAND_ERRORS,
                    parameters=[aggregate_id],
                    body=body,
                )
                new = operation(
                    "Commands",
                    f"{operation_id}_newAggregate",
                    f"{summary} (new aggregate)",
                    _paragraphs(documentation, outcome, "The server generates the id."),
                    success,
                    _COMMAND_ERRORS,
                    body=body,
                )
                paths[f"{prefix}/{{aggregateId}}/{name}"] = {"post": existing}
                paths[f"{prefix}/{name}"] = {"post": new}
    return paths


def _domain_event_paths(runtime: Gateway) -> dict[str, Any]:
    domain_events = runtime.description["domainEvents"]
    variants = [_HEARTBEAT]
    for context_name, aggregates in domain_events.items():
        for aggregate_name, events in aggregates.items():
            for name, event in events.items():
                identifier = {
                    "context": {"properties": {"name": {"const": context_name}}},
                    "aggregate": {"properties": {"name": {"const": aggregate_name}}},
                }
                specific = {
                    "properties": {
                        "aggregateIdentifier": {"properties": identifier},
                        "name": {"const": name},
                        "data": event.get("schema", OBJECT),
                    }
                }
                variant: JsonSchema = {"title": f"{context_name}.{aggregate_name}.{name}"}
                if "documentation" in event:
                    variant["description"] = event["documentation"]
                variant["allOf"] = [{"$ref": "#/components/schemas/DomainEvent"}, specific]
                variants.append(variant)
    filter_ = {
        "name": "filter",
        "in": "query",
        "description": "Only events that contain this object (every key present, values "
        'equal, recursively), e.g. `{"name":"sent"}`.',
        "content": {"application/json": {"schema": OBJECT}},
    }
    observe = operation(
        "Domain events",
        "observeDomainEvents",
        "Observe domain events",
        "A live stream of the domain events the caller may see, from now on.",
        ndjson_response({"oneOf": variants}, "A never-ending stream of domain events."),
        {
            400: "RequestMalformed (an unknown query parameter, or a filter that is no object)",
            401: TOKEN,
        },
        parameters=[filter_],
    )
    return {
        "/domain-events/v2/description": _describe("Domain events", domain_events),
        "/domain-events/v2": {"get": observe},
    }


def _view_paths(runtime: Gateway) -> dict[str, Any]:
    views = runtime.description["views"]
    paths: dict[str, Any] = {"/views/v2/description": _describe("Views", views)}
    for view_name, queries in views.items():
        handlers = runtime.application.views[view_name].query_handlers
        for name, query in queries.items():
            query_type = handlers[name].query_type
            query_operation = _query_operation(view_name, name, query_type, query)
            paths[f"/views/v2/{view_name}/{query_type}/{name}"] = {"get": query_operation}
    return paths


def _query_operation(
    view_name: str, name: str, query_type: str, query: QueryDescription
) -> Operation:
    item = query.get("itemSchema", {})
    if query_type == "stream":
        success = ndjson_response(item, "The items, one per line; the stream ends after the last.")
        errors = _QUERY_ERRORS
    else:
        success = json_response(item, "The item.")
        errors = {**_QUERY_ERRORS, 404: "NotFound (no such item, or not for the caller)"}
    documentation = query.get("documentation")
    options = (
        "Each query parameter is an option, JSON-decoded where it is valid JSON (so a string "
        'that reads as JSON, like `42`, is sent quoted: `"42"`).'
    )
    return operation(
        "Views",
        f"query_{view_name}_{name}",
        _summary(documentation, f"{view_name}.{name}"),
        _paragraphs(documentation, options),
        success,
        errors,
        parameters=_option_parameters(query.get("optionsSchema")),
    )


def _option_parameters(options: JsonSchema | None) -> list[dict[str, Any]]:
    """Query parameters for an object schema's properties: strings plain, others as JSON."""
    if not options or options.get("type") != "object":
        return []
    required = set(options.get("required", []))
    parameters = []
    for name, schema in options.get("properties", {}).items():
        parameter: dict[str, Any] = {"name": name, "in": "query", "required": name in required}
        if "description" in schema:
            parameter["description"] = schema["description"]
        if schema.get("type") == "string":
            parameter["schema"] = schema
        else:
            parameter["content"] = {"application/json": {"schema": schema}}
        parameters.append(parameter)
    return parameters


def _notification_paths(runtime: Gateway) -> dict[str, Any]:
    notifications = runtime.description["notifications"]
    variants = [_HEARTBEAT]
    for name, notification in notifications.items():
        variant: JsonSchema = {"title": name, "type": "object"}
        if "documentation" in notification:
            variant["description"] = notification["documentation"]
        variant["properties"] = {
            "name": {"const": name},
            "data": notification.get("dataSchema", OBJECT),
        }
        variant["required"] = ["name", "data"]
        variants.append(variant)
    observe = operation(
        "Notifications",
        "observeNotifications",
        "Observe notifications",
        "A live stream of the notifications the caller may see, from now on.",
        ndjson_response({"oneOf": variants}, "A never-ending stream of notifications."),
        {400: MALFORMED, 401: TOKEN},
    )
    return {
        "/notifications/v2/description": _describe("Notifications", notifications),
        "/notifications/v2": {"get": observe},
    }
