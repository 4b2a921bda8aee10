"""The sandbox as application authors use it: given / when / then for aggregates, flows and
views, from plain and from async tests."""

from __future__ import annotations

import pytest

from tests.domain.chat_app import MessageState, build_application
from wolkenkit.testing import Sandbox


def test_given_when_then_returns_the_events_of_every_command_and_the_state() -> None:
    sandbox = Sandbox(build_application())

    result = (
        sandbox.for_aggregate("communication", "message")
        .given("sent", {"text": "Hello"})
        .when("like")
        .when("like")
        .then()
    )

    assert [event.name for event in result.domain_events] == ["liked", "liked"]
    assert [event.metadata.revision for event in result.domain_events] == [2, 3]
    assert [len(events) for events in result.events_by_command] == [1, 1]
    assert result.state == MessageState(text="Hello", likes=2)


def test_rejections_show_up_as_rejected_events_with_the_reason() -> None:
    result = (
        Sandbox(build_application())
        .for_aggregate("communication", "message")
        .when("send", {"text": ""})
        .when("like")
        .then()
    )

    assert [(event.name, event.data) for event in result.domain_events] == [
        ("sendRejected", {"reason": "Text is missing."}),
        ("likeRejected", {"reason": "Message was not yet sent."}),
    ]
    assert result.state == MessageState()


async def test_inside_async_tests_run_is_awaited_and_then_explains_itself() -> None:
    scenario = (
        Sandbox(build_application())
        .for_aggregate("communication", "message")
        .when("send", {"text": "Hi"})
    )

    result = await scenario.run()

    assert result.state.text == "Hi"
    with pytest.raises(RuntimeError, match=r"await \.\.\.\.run\(\)"):
        scenario.then()


def test_a_flow_scenario_runs_the_flow_and_reports_notifications() -> None:
    sandbox = Sandbox(build_application(replay_policy="never"))

    result = (
        sandbox.for_flow("messages")
        .when("communication.message.sent", {"text": "Hello"}, revision=1)
        .then()
    )

    assert result.results == ["acknowledge"]
    assert [n.name for n in result.notifications] == ["flowMessagesUpdated"]
    assert [m["text"] for m in result.infrastructure.ask["messages"]] == ["Hello"]


def test_a_view_scenario_queries_and_notifies() -> None:
    sandbox = Sandbox(build_application(replay_policy="never"))
    sandbox.for_flow("messages").when("communication.message.sent", {"text": "One"}).then()
    sandbox.for_flow("messages").when("communication.message.sent", {"text": "Two"}).then()

    items = sandbox.for_view("messages").query("all")
    published = sandbox.for_view("messages").notify("flowMessagesUpdated")

    assert [item["text"] for item in items] == ["Two", "One"]
    assert [n.name for n in published] == ["viewMessagesUpdated"]
