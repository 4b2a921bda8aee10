"""The messages flow: it fills the messages table and announces every change."""

from __future__ import annotations

from uuid import uuid4

from wolkenkit.testing import Sandbox

from server.domain.communication.message import Liked, Sent


def test_sent_message_appears_in_the_view(sandbox: Sandbox) -> None:
    message_id = str(uuid4())

    result = (
        sandbox.for_flow("messages")
        .when(Sent(text="Hi!"), aggregate_id=message_id)
        .then()
    )

    assert [notification.name for notification in result.notifications] == [
        "flowMessagesUpdated"
    ]
    messages = sandbox.for_view("messages").query("all")
    assert [
        (message["id"], message["text"], message["likes"]) for message in messages
    ] == [(message_id, "Hi!", 0)]


def test_liked_message_gets_its_likes_in_the_view(sandbox: Sandbox) -> None:
    message_id = str(uuid4())

    result = (
        sandbox.for_flow("messages")
        .when(Sent(text="Hi!"), aggregate_id=message_id)
        .when(Liked(likes=1), aggregate_id=message_id, revision=2)
        .then()
    )

    assert [notification.name for notification in result.notifications] == [
        "flowMessagesUpdated",
        "flowMessagesUpdated",
    ]
    messages = sandbox.for_view("messages").query("all")
    assert [(message["id"], message["likes"]) for message in messages] == [
        (message_id, 1)
    ]
