"""View queries, notifications, and delivery of events to clients."""

from __future__ import annotations

from typing import Any

import pytest

from tests.domain.chat_app import build_application
from wolkenkit import errors
from wolkenkit.application.services import Infrastructure
from wolkenkit.domain.domain import Domain
from wolkenkit.messages import AggregateIdentifier, Notification, User, new_id
from wolkenkit.testing.builders import build_client, build_command
from wolkenkit.testing.sandbox import RecordingPublisher, build_domain

CLIENT = build_client()


def make_domain(messages: list[dict[str, Any]] | None = None) -> tuple[Domain, RecordingPublisher]:
    publisher = RecordingPublisher()
    store = {"messages": messages if messages is not None else []}
    domain = build_domain(
        build_application(),
        publisher=publisher,
        infrastructure=Infrastructure(ask=store, tell=store),
    )
    return domain, publisher


def message(text: str, timestamp: int = 1, likes: int = 0) -> dict[str, Any]:
    return {"id": new_id(), "timestamp": timestamp, "text": text, "likes": likes}


async def collect(domain: Domain, query: str, options: dict[str, Any] | None = None) -> list[Any]:
    items = await domain.query_stream("messages", query, options or {}, CLIENT)
    return [item async for item in items]


async def test_a_stream_query_returns_validated_items() -> None:
    first, second = message("first", 1), message("second", 2)
    domain, _ = make_domain([first, second])

    assert await collect(domain, "all") == [second, first]


async def test_a_stream_query_drops_items_that_break_the_item_schema() -> None:
    good = message("good")
    domain, _ = make_domain([{"id": new_id(), "text": "no timestamp"}, good])

    assert await collect(domain, "all") == [good]


async def test_stream_and_value_queries_check_names_kinds_and_options() -> None:
    domain, _ = make_domain()

    with pytest.raises(errors.ViewNotFound, match=r"View 'nope' not found\."):
        await collect_view(domain, "nope", "all")
    with pytest.raises(errors.QueryHandlerNotFound, match=r"Query handler 'messages.nope'"):
        await collect(domain, "nope")
    with pytest.raises(errors.QueryHandlerTypeMismatch):
        await collect(domain, "byId", {"id": "x"})
    with pytest.raises(errors.QueryHandlerTypeMismatch):
        await domain.query_value("messages", "all", {}, CLIENT)
    with pytest.raises(errors.QueryOptionsInvalid):
        await domain.query_value("messages", "byId", {"id": 1, "more": True}, CLIENT)
    with pytest.raises(errors.QueryOptionsInvalid):
        await collect(domain, "all", {"unexpected": 1})


async def collect_view(domain: Domain, view: str, query: str) -> list[Any]:
    items = await domain.query_stream(view, query, {}, CLIENT)
    return [item async for item in items]


async def test_a_value_query_returns_one_item_or_raises() -> None:
    hello, secret = message("hello"), message("secret")
    broken = {"id": new_id(), "text": "no timestamp"}
    domain, _ = make_domain([hello, secret, broken])

    assert await domain.query_value("messages", "byId", {"id": hello["id"]}, CLIENT) == hello
    with pytest.raises(errors.NotFound):
        await domain.query_value("messages", "byId", {"id": new_id()}, CLIENT)
    with pytest.raises(errors.QueryNotAuthorized):
        await domain.query_value("messages", "byId", {"id": secret["id"]}, CLIENT)
    with pytest.raises(errors.QueryResultInvalid):
        await domain.query_value("messages", "byId", {"id": broken["id"]}, CLIENT)


async def test_flows_publish_notifications_and_view_subscribers_answer_them() -> None:
    domain, publisher = make_domain()
    identifier = AggregateIdentifier.of("communication", "message", new_id())
    outcome = await domain.handle_command(build_command(identifier, "send", {"text": "Hi"}))

    await domain.execute_flow("messages", outcome.domain_events[0].without_state())
    (flow_notification,) = publisher.notifications()
    await domain.run_view_subscribers(flow_notification)

    names = [notification.name for notification in publisher.notifications()]
    assert names == ["flowMessagesUpdated", "viewMessagesUpdated"]
    assert publisher.messages[0][0] == "notification"


async def test_notifications_reach_authorized_clients_in_their_public_form() -> None:
    domain, _ = make_domain()

    public = await domain.prepare_notification_for_client(
        Notification(name="flowMessagesUpdated", data={}, metadata={"internal": True}), CLIENT
    )
    unknown = await domain.prepare_notification_for_client(
        Notification(name="somethingElse", data={}), CLIENT
    )

    assert public == {"name": "flowMessagesUpdated", "data": {}}
    assert unknown is None


async def test_rejection_events_reach_only_the_initiator() -> None:
    domain, _ = make_domain()
    identifier = AggregateIdentifier.of("communication", "message", new_id())
    outcome = await domain.handle_command(build_command(identifier, "like"))
    (rejected,) = outcome.domain_events
    stranger = build_client(User(id="john.doe", claims={"sub": "john.doe"}))

    for_initiator = await domain.prepare_domain_event_for_client(rejected, CLIENT)
    for_stranger = await domain.prepare_domain_event_for_client(rejected, stranger)

    assert for_initiator is not None
    assert for_initiator.name == "likeRejected"
    assert not hasattr(for_initiator, "state")
    assert for_stranger is None


async def test_stored_events_reach_every_authorized_client_without_state() -> None:
    domain, _ = make_domain()
    identifier = AggregateIdentifier.of("communication", "message", new_id())
    outcome = await domain.handle_command(build_command(identifier, "send", {"text": "Hi"}))
    stranger = build_client(User(id="john.doe", claims={"sub": "john.doe"}))

    delivered = await domain.prepare_domain_event_for_client(outcome.domain_events[0], stranger)

    assert delivered is not None
    assert delivered.to_json()["data"] == {"text": "Hi"}
    assert "state" not in delivered.to_json()
