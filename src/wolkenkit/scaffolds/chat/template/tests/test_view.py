"""The messages view: its query and its notification subscriber."""

from __future__ import annotations

from uuid import uuid4

from wolkenkit import AggregateIdentifier, DomainEvent
from wolkenkit.testing import Sandbox, build_domain_event

from server.notifications import FlowMessagesUpdated, ViewMessagesUpdated


def sent(message_id: str, text: str, timestamp: int) -> DomainEvent:
    """A ``sent`` event of the message ``message_id``, sent at ``timestamp`` (ms)."""
    return build_domain_event(
        AggregateIdentifier.of("communication", "message", message_id),
        "sent",
        {"text": text},
        timestamp=timestamp,
    )


def test_all_is_empty_at_first(sandbox: Sandbox) -> None:
    assert sandbox.for_view("messages").query("all") == []


def test_all_lists_the_newest_message_first(sandbox: Sandbox) -> None:
    first, second = str(uuid4()), str(uuid4())
    sandbox.for_flow("messages").when(sent(first, "First", 1_000)).when(
        sent(second, "Second", 2_000)
    ).then()

    messages = sandbox.for_view("messages").query("all")

    assert messages == [
        {"id": second, "timestamp": 2_000, "text": "Second", "likes": 0},
        {"id": first, "timestamp": 1_000, "text": "First", "likes": 0},
    ]


def test_flow_updates_are_passed_on_to_clients(sandbox: Sandbox) -> None:
    # When the flow changed the messages table, the view tells its clients to query again.
    published = sandbox.for_view("messages").notify(FlowMessagesUpdated())

    assert [(notification.name, notification.data) for notification in published] == [
        ("viewMessagesUpdated", {})
    ]


def test_other_notifications_are_ignored(sandbox: Sandbox) -> None:
    assert sandbox.for_view("messages").notify(ViewMessagesUpdated()) == []
