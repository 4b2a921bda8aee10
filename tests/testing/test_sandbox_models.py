"""The sandbox speaks models: events, commands and notifications given as their data models,
beside the name-based form, on the chat template as generated."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest

from wolkenkit import load_application
from wolkenkit.application.application import Application
from wolkenkit.errors import CommandNotFound, DomainEventNotFound
from wolkenkit.scaffolds import create_project
from wolkenkit.testing import Sandbox


@pytest.fixture(scope="module")
def chat(tmp_path_factory: pytest.TempPathFactory) -> Application:
    directory = tmp_path_factory.mktemp("sandbox") / "chat"
    return load_application(create_project("chat", template="chat", directory=directory))


def models(application: Application) -> Any:
    """The chat's message module, where its models live."""
    send = application.domain["communication"]["message"].command_handlers["send"]
    return type("Models", (), send.function.__globals__)  # type: ignore[attr-defined]


def test_given_and_when_take_models(chat: Application) -> None:
    m = models(chat)
    result = (
        Sandbox(chat)
        .for_aggregate("communication", "message")
        .given(m.Sent(text="Hello"))
        .when(m.Like())
        .when("like")
        .then()
    )

    assert [event.name for event in result.domain_events] == ["liked", "liked"]
    assert result.published(m.Liked) == [m.Liked(likes=1), m.Liked(likes=2)]
    assert result.state.text == "Hello"


def test_a_command_model_is_sent_with_its_data(chat: Application) -> None:
    m = models(chat)
    result = Sandbox(chat).for_aggregate("communication", "message").when(m.Send(text="Hi")).then()

    assert result.published(m.Sent) == [m.Sent(text="Hi")]


def test_models_no_handler_takes_are_refused(chat: Application) -> None:
    m = models(chat)
    scenario = Sandbox(chat).for_aggregate("communication", "message")

    with pytest.raises(DomainEventNotFound):
        scenario.given(m.Send(text="Hi"))
    with pytest.raises(CommandNotFound):
        scenario.when(m.Sent(text="Hi"))


def test_flows_take_event_models(chat: Application) -> None:
    m = models(chat)
    sandbox = Sandbox(chat)
    message_id = str(uuid4())

    result = (
        sandbox.for_flow("messages")
        .when(m.Sent(text="Hi"), aggregate_id=message_id)
        .when(m.Liked(likes=3), aggregate_id=message_id, revision=2)
        .then()
    )

    assert [n.name for n in result.notifications] == ["flowMessagesUpdated"] * 2
    assert [(item["id"], item["likes"]) for item in sandbox.for_view("messages").query("all")] == [
        (message_id, 3)
    ]


def test_views_are_notified_with_models(chat: Application) -> None:
    notifications = chat.notifications["flowMessagesUpdated"]
    flow_messages_updated = notifications.model  # type: ignore[attr-defined]

    published = Sandbox(chat).for_view("messages").notify(flow_messages_updated())

    assert [n.name for n in published] == ["viewMessagesUpdated"]
