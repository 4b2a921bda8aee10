"""The ``Subscription`` type (reference §4.2): ``domainEvents(filter)`` and ``notifications``.

Both deliver what the HTTP streams deliver to the same client: events that match the filter
and that the client may see (``is_authorized``, ``filter`` and ``map`` of the event's handler),
notifications the client may see. A domain event's ``data`` is a JSON string, since every
event has its own schema, and its initiator shows only the user's ``id``.
"""

from __future__ import annotations

import json
from collections.abc import AsyncGenerator, AsyncIterator
from contextlib import aclosing
from typing import Any

from graphql import GraphQLArgument, GraphQLField, GraphQLObjectType, GraphQLString

from wolkenkit import errors
from wolkenkit.application.description import ApplicationDescription
from wolkenkit.domain.delivery import DomainEventForClients
from wolkenkit.errors import JsonRefused, StreamClosed
from wolkenkit.messages import DomainEvent, Notification
from wolkenkit.runtime.broadcast import Broadcast
from wolkenkit.runtime.client_json import parse_client_json
from wolkenkit.runtime.gateway import Gateway
from wolkenkit.runtime.graphql.commands import NO_DOCUMENTATION
from wolkenkit.runtime.graphql.context import Info, context_of
from wolkenkit.runtime.graphql.types import TypeFactory
from wolkenkit.runtime.http.domain_events import is_partial_match


def _object(properties: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"type": "object", "properties": properties, "required": list(properties), **extra}


_TEXT = {"type": "string"}

#: The DomainEvent of reference §5 as GraphQL shows it; its types are named after
#: ``DomainEvent`` (``DomainEventT0``, ``DomainEventT0MetadataT0``, …) as in the reference.
DOMAIN_EVENT_SCHEMA = _object(
    {
        "aggregateIdentifier": _object(
            {
                "context": _object({"name": _TEXT}),
                "aggregate": _object({"name": _TEXT, "id": _TEXT}),
            }
        ),
        "name": _TEXT,
        "data": {"type": "string", "description": "The event's data as a JSON string."},
        "id": _TEXT,
        "metadata": _object(
            {
                "causationId": _TEXT,
                "correlationId": _TEXT,
                "timestamp": {"type": "number", "description": "Milliseconds since 1970."},
                # A number, as in the reference's schema: its type is ``Float``.
                "revision": {"type": "number", "minimum": 1},
                "initiator": _object({"user": _object({"id": _TEXT})}),
                "tags": {"type": "array", "items": _TEXT},
            }
        ),
    }
)

NOTIFICATION_SCHEMA = _object(
    {"name": _TEXT, "data": {"type": "string", "description": "The data as a JSON string."}}
)


def event_for_graphql(domain_event: DomainEvent[Any]) -> dict[str, Any]:
    event = domain_event.to_json()
    metadata = event["metadata"]
    return {
        **event,
        "data": json.dumps(event["data"]),
        "metadata": {
            **metadata,
            "initiator": {"user": {"id": metadata["initiator"]["user"]["id"]}},
        },
    }


async def _listening(broadcast: Broadcast[Any]) -> AsyncGenerator[Any, None]:
    """The items of a listener that is registered now, before the first item is asked for, so
    nothing published after subscribing is missed. The transports iterate a subscription at
    once; ending it (or the connection) unregisters the listener. A subscription that wraps
    these items closes them when it is closed (``aclosing``), so the listener goes at once,
    not whenever the garbage collector finalises the inner generator."""
    listening = broadcast.listen()
    listener = await listening.__aenter__()

    async def items() -> AsyncGenerator[Any, None]:
        try:
            while True:
                for item in await listener.take():
                    yield item
        except StreamClosed:
            return  # the subscription completes
        finally:
            await listening.__aexit__(None, None, None)

    return items()


def _filter_of(text: Any) -> dict[str, Any]:
    if text is None or text == "":
        return {}
    try:
        value = parse_client_json(text) if isinstance(text, str) else None
    except JsonRefused as error:
        raise errors.ParameterInvalid(f"Filter is refused: {error}.") from None
    except ValueError:
        value = None
    if not isinstance(value, dict):
        raise errors.ParameterInvalid("Filter must be a valid JSON object.")
    return value


def domain_events_field(runtime: Gateway, factory: TypeFactory) -> GraphQLField:
    async def subscribe(
        _root: Any, info: Info, filter: Any = None
    ) -> AsyncIterator[dict[str, Any]]:
        client = context_of(info).client()
        wanted = _filter_of(filter)
        events = await _listening(runtime.domain_events)

        async def prepared() -> AsyncIterator[dict[str, Any]]:
            event: DomainEventForClients
            async with aclosing(events):
                async for event in events:
                    if wanted and not is_partial_match(wanted, event.public_json):
                        continue
                    ready = await event.for_client(client)
                    if ready is not None:
                        yield event.rendered(ready, event_for_graphql)

        return prepared()

    return GraphQLField(
        factory.output(DOMAIN_EVENT_SCHEMA, "DomainEvent"),
        args={
            "filter": GraphQLArgument(
                GraphQLString, description='A JSON object events must match, e.g. {"name":"sent"}.'
            )
        },
        subscribe=subscribe,
        resolve=lambda event, _info, **_arguments: event,
        description=describe_domain_events(runtime.description),
    )


def notifications_field(runtime: Gateway, factory: TypeFactory) -> GraphQLField:
    async def subscribe(_root: Any, info: Info) -> AsyncIterator[dict[str, Any]]:
        client = context_of(info).client()
        notifications = await _listening(runtime.notifications)

        async def prepared() -> AsyncIterator[dict[str, Any]]:
            notification: Notification
            async with aclosing(notifications):
                async for notification in notifications:
                    ready = await runtime.prepare_notification_for_client(notification, client)
                    if ready is not None:
                        yield {"name": ready["name"], "data": json.dumps(ready["data"])}

        return prepared()

    return GraphQLField(
        # The reference's root name: the type is ``NotificationT0``.
        factory.output(NOTIFICATION_SCHEMA, "notification"),
        subscribe=subscribe,
        resolve=lambda notification, _info: notification,
        description="Notifications you may see, as they are published.",
    )


def subscription_type(runtime: Gateway, factory: TypeFactory) -> GraphQLObjectType:
    return GraphQLObjectType(
        "Subscription",
        {
            "domainEvents": domain_events_field(runtime, factory),
            "notifications": notifications_field(runtime, factory),
        },
    )


def describe_domain_events(description: ApplicationDescription) -> str:
    """Markdown: every context, aggregate and domain event with its documentation and the
    schema of its data."""
    lines = ["Domain events as they happen, those you may see. The events by aggregate:", ""]
    for context_name, aggregates in description["domainEvents"].items():
        lines.append(f"# Context '{context_name}'")
        for aggregate_name, events in aggregates.items():
            lines += ["", f"## Aggregate '{aggregate_name}'"]
            for event_name, event in events.items():
                lines += ["", f"### {event_name}", "", event.get("documentation", NO_DOCUMENTATION)]
                if "schema" in event:
                    schema = json.dumps(event["schema"], indent=2)
                    lines += ["", "```json", schema, "```"]
        lines.append("")
    return "\n".join(lines)
