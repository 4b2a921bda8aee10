"""The message aggregate: a message is sent once and can then be liked."""

from __future__ import annotations

import pytest
from wolkenkit.errors import CommandMalformed
from wolkenkit.testing import Sandbox

from server.domain.communication.message import Like, Liked, Send, Sent


def test_send_publishes_sent(sandbox: Sandbox) -> None:
    # A new message takes the text it was sent with.
    result = (
        sandbox.for_aggregate("communication", "message")
        .when(Send(text="Hi!"))
        .then()
    )

    assert result.published(Sent) == [Sent(text="Hi!")]
    assert result.state.text == "Hi!"
    assert result.state.likes == 0


def test_send_without_text_is_rejected(sandbox: Sandbox) -> None:
    result = (
        sandbox.for_aggregate("communication", "message")
        .when(Send(text=""))
        .then()
    )

    assert [(event.name, event.data) for event in result.domain_events] == [
        ("sendRejected", {"reason": "Text is missing."})
    ]
    assert result.state.text == ""


def test_send_twice_is_rejected(sandbox: Sandbox) -> None:
    # A message's text never changes once it is sent.
    result = (
        sandbox.for_aggregate("communication", "message")
        .given(Sent(text="Hi!"))
        .when(Send(text="Hello again!"))
        .then()
    )

    assert [(event.name, event.data) for event in result.domain_events] == [
        ("sendRejected", {"reason": "Message was already sent."})
    ]
    assert result.state.text == "Hi!"


def test_send_with_unknown_fields_is_refused(sandbox: Sandbox) -> None:
    # The command's schema allows a text and nothing else.
    scenario = sandbox.for_aggregate("communication", "message").when(
        "send", {"text": "Hi!", "author": "Jane"}
    )

    with pytest.raises(CommandMalformed):
        scenario.then()


def test_like_counts_the_likes(sandbox: Sandbox) -> None:
    # Each like publishes the new total.
    result = (
        sandbox.for_aggregate("communication", "message")
        .given(Sent(text="Hi!"))
        .when(Like())
        .when(Like())
        .then()
    )

    assert result.published(Liked) == [Liked(likes=1), Liked(likes=2)]
    assert result.state.likes == 2


def test_like_before_send_is_rejected(sandbox: Sandbox) -> None:
    # Only a sent message can be liked.
    result = sandbox.for_aggregate("communication", "message").when(Like()).then()

    assert [(event.name, event.data) for event in result.domain_events] == [
        ("likeRejected", {"reason": "Message was not yet sent."})
    ]
    assert result.state.likes == 0
