"""Handlers as typed functions: apps written as files, loaded, and run through the real engine.

Load errors are one line naming the file and the line of the handler's ``def``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.application.app_files import write_app
from wolkenkit.application.application import Application
from wolkenkit.application.loader import load_application
from wolkenkit.errors import ApplicationError
from wolkenkit.messages import AggregateIdentifier, Notification, User, new_id
from wolkenkit.testing import Sandbox, build_client, build_command, build_domain_event

MESSAGE = "server/domain/communication/message.py"

#: The models and the aggregate line; tests add handlers below them.
HEADER = """
    from __future__ import annotations

    from typing import Any

    from wolkenkit import (
        Aggregate, AggregateService, Authenticated, ClientMetadata, CommandRejected,
        CommandWithMetadata, DomainEvent, Everyone, Schema,
    )


    class Message(Schema):
        text: str = ""
        likes: int = 0


    class Send(Schema):
        text: str


    class Like(Schema):
        pass


    class Sent(Schema):
        text: str


    class Liked(Schema):
        likes: int
"""

SENT = """
    @aggregate.event
    def sent(message: Message, event: Sent) -> Message:
        return message.model_copy(update={"text": event.text})
"""

LIKED = """
    @aggregate.event
    def liked(message: Message, event: Liked) -> Message:
        return message.model_copy(update={"likes": event.likes})
"""

SEND = """
    @aggregate.command
    def send(command: Send) -> Sent:
        return Sent(text=command.text)
"""

#: A complete aggregate: send and like, each publishing one event.
CHAT = (
    HEADER,
    "aggregate = Aggregate(Message, authorize=Everyone)",
    SEND,
    """
    @aggregate.command
    def like(message: Message, command: Like) -> Liked:
        return Liked(likes=message.likes + 1)
    """,
    SENT,
    LIKED,
)


def load(root: Path, files: dict[str, Any]) -> Application:
    return load_application(write_app(root, files))


def line_of(path: Path, text: str) -> int:
    """The number of the first line of ``path`` that contains ``text``."""
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} is not in {path}")


def load_error(root: Path, files: dict[str, Any], file: str, definition: str) -> str:
    """Loads an app that must fail; returns the message after checking that it is one line
    naming ``file`` and the line of ``definition`` (e.g. ``"def send("``)."""
    write_app(root, files)
    with pytest.raises(ApplicationError) as raised:
        load_application(root)
    message = str(raised.value)
    path = root / file
    assert "\n" not in message
    assert f"{path}:{line_of(path, definition)}" in message, message
    return message


def aggregate(sandbox: Sandbox) -> Any:
    return sandbox.for_aggregate("communication", "message")


# Load errors


def test_a_flow_subscribing_to_a_model_no_event_takes_fails_the_load(tmp_path: Path) -> None:
    flow = """
        from wolkenkit import Flow, Schema


        class Deleted(Schema):
            pass


        flow = Flow()


        @flow.on(Deleted)
        def forget(event: Deleted) -> None:
            pass
    """
    message = load_error(
        tmp_path,
        {MESSAGE: CHAT, "server/flows/messages.py": flow},
        "server/flows/messages.py",
        "def forget(",
    )
    assert "Deleted" in message


def test_a_flow_subscribing_to_a_name_no_aggregate_defines_fails_the_load(tmp_path: Path) -> None:
    flow = """
        from wolkenkit import DomainEvent, Flow

        flow = Flow()


        @flow.on("communication.message.deleted")
        def forget(event: DomainEvent) -> None:
            pass
    """
    message = load_error(
        tmp_path,
        {MESSAGE: CHAT, "server/flows/messages.py": flow},
        "server/flows/messages.py",
        "def forget(",
    )
    assert "communication.message.deleted" in message


@pytest.mark.parametrize(
    ("parameters", "problem"),
    [
        ("command: int", "command: int"),
        ("command", "no annotation"),
        ("command: Send, flow: DomainEvent[Sent]", "flow: DomainEvent"),
    ],
    ids=["data not a model", "unannotated", "nothing offers it"],
)
def test_a_command_handler_asking_for_the_wrong_thing_fails_the_load(
    tmp_path: Path, parameters: str, problem: str
) -> None:
    handler = f"""
        @aggregate.command
        def send({parameters}) -> None:
            pass
    """
    files = {MESSAGE: (HEADER, "aggregate = Aggregate(Message, authorize=Everyone)", handler, SENT)}

    message = load_error(tmp_path, files, MESSAGE, "def send(")

    assert problem in message


def test_a_command_handler_returning_a_model_no_event_takes_fails_the_load(tmp_path: Path) -> None:
    files = {MESSAGE: (HEADER, "aggregate = Aggregate(Message, authorize=Everyone)", SEND)}

    message = load_error(tmp_path, files, MESSAGE, "def send(")

    assert "Sent" in message


def test_an_aggregate_without_a_default_needs_a_policy_per_command(tmp_path: Path) -> None:
    files = {MESSAGE: (HEADER, "aggregate = Aggregate(Message)", SEND, SENT)}

    assert "authorize" in load_error(tmp_path, files, MESSAGE, "def send(")


def test_an_aggregate_without_a_default_needs_a_policy_per_event(tmp_path: Path) -> None:
    send = """
        @aggregate.command(authorize=Everyone)
        def send(command: Send) -> Sent:
            return Sent(text=command.text)
    """
    files = {MESSAGE: (HEADER, "aggregate = Aggregate(Message)", send, SENT)}

    assert "authorize" in load_error(tmp_path, files, MESSAGE, "def sent(")


def test_a_handler_policy_is_enough_without_a_default(tmp_path: Path) -> None:
    handlers = """
        @aggregate.command(authorize=Everyone)
        def send(command: Send) -> Sent:
            return Sent(text=command.text)


        @aggregate.event(authorize=Everyone)
        def sent(message: Message, event: Sent) -> Message:
            return message.model_copy(update={"text": event.text})
    """
    application = load(tmp_path, {MESSAGE: (HEADER, "aggregate = Aggregate(Message)", handlers)})

    assert set(application.domain["communication"]["message"].command_handlers) == {"send"}


def test_a_view_without_a_default_needs_a_policy_per_query(tmp_path: Path) -> None:
    view = """
        from wolkenkit import View

        view = View()


        @view.value
        def count() -> dict[str, int]:
            return {"count": 0}
    """
    files = {MESSAGE: CHAT, "server/views/messages.py": view}

    assert "authorize" in load_error(tmp_path, files, "server/views/messages.py", "def count(")


def test_notifications_without_a_default_need_a_policy_each(tmp_path: Path) -> None:
    notifications = """
        from wolkenkit import Notifications, Schema


        class Updated(Schema):
            pass


        notifications = Notifications(Updated)
    """
    files = {MESSAGE: CHAT, "server/notifications.py": notifications}

    message = load_error(
        tmp_path, files, "server/notifications.py", "notifications = Notifications("
    )

    assert "Updated" in message


def test_two_handlers_with_one_name_fail_the_load(tmp_path: Path) -> None:
    second = """
        @aggregate.command(name="send")
        def send_again(command: Send) -> Sent:
            return Sent(text=command.text)
    """
    files = {
        MESSAGE: (HEADER, "aggregate = Aggregate(Message, authorize=Everyone)", SEND, second, SENT)
    }

    message = load_error(tmp_path, files, MESSAGE, "def send_again(")

    assert "'send'" in message
    assert "twice" in message


def test_a_default_policy_asking_for_one_commands_data_fails_the_load(tmp_path: Path) -> None:
    # The aggregate's policy reaches every handler: asking for Send, it would get the data of
    # Like and of the events.
    policy = """
        def only_short(command: Send) -> bool:
            return len(command.text) < 10


        aggregate = Aggregate(Message, authorize=only_short)
    """
    like = """
        @aggregate.command
        def like(command: Like) -> None:
            pass
    """
    write_app(tmp_path, {MESSAGE: (HEADER, policy, SEND, like, SENT)})

    with pytest.raises(ApplicationError) as raised:
        load_application(tmp_path)

    assert "Its policy only_short asks for Send, but the handler's data is" in str(raised.value)


def test_two_events_taking_one_model_fail_the_load(tmp_path: Path) -> None:
    # A command handler returning Sent must name exactly one event.
    again = """
        @aggregate.event
        def sent_again(message: Message, event: Sent) -> Message:
            return message
    """
    files = {
        MESSAGE: (HEADER, "aggregate = Aggregate(Message, authorize=Everyone)", SEND, SENT, again)
    }

    message = load_error(tmp_path, files, MESSAGE, "def sent_again(")

    assert "takes Sent too" in message


def test_an_async_event_handler_fails_the_load(tmp_path: Path) -> None:
    sent = """
        @aggregate.event
        async def sent(message: Message, event: Sent) -> Message:
            return message
    """
    files = {MESSAGE: (HEADER, "aggregate = Aggregate(Message, authorize=Everyone)", SEND, sent)}

    assert "async" in load_error(tmp_path, files, MESSAGE, "async def sent(")


# Behaviour


async def test_sync_and_async_command_handlers_publish_what_they_return(tmp_path: Path) -> None:
    handlers = """
        @aggregate.command
        async def send(command: Send) -> Sent:
            return Sent(text=command.text)


        @aggregate.command
        def like(message: Message, command: Like) -> list[Liked]:
            return [Liked(likes=message.likes + 1), Liked(likes=message.likes + 2)]


        @aggregate.command
        def ignore(command: Like) -> None:
            return None
    """
    files = {
        MESSAGE: (
            HEADER,
            "aggregate = Aggregate(Message, authorize=Everyone)",
            handlers,
            SENT,
            LIKED,
        )
    }
    sandbox = Sandbox(load(tmp_path, files))

    result = await aggregate(sandbox).when("send", {"text": "Hi"}).when("like").when("ignore").run()

    assert [(event.name, event.data) for event in result.domain_events] == [
        ("sent", {"text": "Hi"}),
        ("liked", {"likes": 1}),
        ("liked", {"likes": 2}),
    ]
    assert result.events_by_command[2] == []
    assert (result.state.text, result.state.likes) == ("Hi", 2)


async def test_publish_returns_the_next_state(tmp_path: Path) -> None:
    like = """
        @aggregate.command
        def like(command: Like, this: AggregateService[Message]) -> None:
            after_one = this.publish(Liked(likes=1))
            this.publish(Liked(likes=after_one.likes + 10))
    """
    files = {MESSAGE: (HEADER, "aggregate = Aggregate(Message, authorize=Everyone)", like, LIKED)}
    sandbox = Sandbox(load(tmp_path, files))

    result = await aggregate(sandbox).when("like").run()

    assert [event.data for event in result.domain_events] == [{"likes": 1}, {"likes": 11}]
    assert result.state.likes == 11


ANONYMOUS_CLIENT = build_client(
    User(
        id="anonymous-1", claims={"sub": "anonymous-1", "https://token.invalid/is-anonymous": True}
    )
)


async def test_a_handler_policy_overrides_the_default(tmp_path: Path) -> None:
    like = """
        @aggregate.command(authorize=Authenticated)
        def like(message: Message, command: Like) -> Liked:
            return Liked(likes=message.likes + 1)
    """
    files = {
        MESSAGE: (
            HEADER,
            "aggregate = Aggregate(Message, authorize=Everyone)",
            SEND,
            like,
            SENT,
            LIKED,
        )
    }
    sandbox = Sandbox(load(tmp_path, files))
    scenario = aggregate(sandbox).when("send", {"text": "Hi"}, client=ANONYMOUS_CLIENT)

    anonymous = await scenario.when("like", client=ANONYMOUS_CLIENT).run()
    signed_in = await scenario.when("like").run()

    assert [event.name for event in anonymous.domain_events] == ["sent", "likeRejected"]
    assert [event.name for event in signed_in.domain_events][-1] == "liked"


async def test_a_function_policy_asks_for_state_data_and_client(tmp_path: Path) -> None:
    handlers = """
        def no_shouting(message: Message, command: Send, client: ClientMetadata) -> bool:
            return message.text == "" and command.text != command.text.upper() and (
                client.user.id == "jane.doe"
            )


        @aggregate.command(authorize=no_shouting)
        def send(command: Send) -> Sent:
            return Sent(text=command.text)
    """
    files = {
        MESSAGE: (HEADER, "aggregate = Aggregate(Message, authorize=Everyone)", handlers, SENT)
    }
    sandbox = Sandbox(load(tmp_path, files))

    quiet = await aggregate(sandbox).when("send", {"text": "Hi"}).run()
    loud = await aggregate(sandbox).when("send", {"text": "HI"}).run()
    stranger = await (
        aggregate(sandbox)
        .when("send", {"text": "Hi"}, client=build_client(User(id="john", claims={"sub": "john"})))
        .run()
    )

    assert [event.name for event in quiet.domain_events] == ["sent"]
    assert [event.name for event in loud.domain_events] == ["sendRejected"]
    assert [event.name for event in stranger.domain_events] == ["sendRejected"]


async def test_filter_and_map_shape_what_clients_receive(tmp_path: Path) -> None:
    sent = """
        def not_to_john(client: ClientMetadata) -> bool:
            return client.user.id != "john"


        def shouted(event: DomainEvent[Sent]) -> DomainEvent[Sent]:
            return event.replaced(data=Sent(text=event.data.text.upper()))


        @aggregate.event(filter=not_to_john, map=shouted)
        def sent(message: Message, event: Sent) -> Message:
            return message.model_copy(update={"text": event.text})
    """
    files = {MESSAGE: (HEADER, "aggregate = Aggregate(Message, authorize=Everyone)", SEND, sent)}
    sandbox = Sandbox(load(tmp_path, files))
    domain = await sandbox.domain()
    identifier = AggregateIdentifier.of("communication", "message", new_id())
    outcome = await domain.handle_command(build_command(identifier, "send", {"text": "hi"}))
    (event,) = outcome.domain_events

    for_jane = await domain.prepare_domain_event_for_client(event, build_client())
    for_john = await domain.prepare_domain_event_for_client(
        event, build_client(User(id="john", claims={"sub": "john"}))
    )

    assert for_jane is not None
    assert for_jane.to_json()["data"] == {"text": "HI"}
    assert for_john is None


FLOW = """
    from wolkenkit import DomainEvent, Flow, NotificationService

    from server.domain.communication.message import Liked, Sent
    from server.notifications import Seen

    flow = Flow()
    received: list[object] = []


    @flow.on(Sent)
    async def on_sent(event: DomainEvent[Sent], notification: NotificationService) -> None:
        received.append(event)
        await notification.publish(Seen(text=event.data.text))


    @flow.on("communication.message.liked")
    def on_liked(event: Liked) -> None:
        received.append(event)
"""

NOTIFICATIONS = """
    from wolkenkit import Everyone, Notifications, Schema


    class Seen(Schema):
        \"\"\"A flow saw a message.\"\"\"

        text: str


    class Refresh(Schema):
        pass


    notifications = Notifications(Seen, Refresh, authorize=Everyone)
"""


async def test_flows_receive_typed_events(tmp_path: Path) -> None:
    files = {
        MESSAGE: CHAT,
        "server/flows/messages.py": FLOW,
        "server/notifications.py": NOTIFICATIONS,
    }
    application = load(tmp_path, files)
    sandbox = Sandbox(application)
    identifier = AggregateIdentifier.of("communication", "message", new_id())
    on_sent = application.flows["messages"].domain_event_handlers["on_sent"]
    received = on_sent.function.__globals__["received"]  # type: ignore[attr-defined]
    liked = on_sent.function.__globals__["Liked"]  # type: ignore[attr-defined]

    result = await (
        sandbox.for_flow("messages")
        .when(build_domain_event(identifier, "sent", {"text": "Hi"}))
        .when(build_domain_event(identifier, "liked", {"likes": 1}, revision=2))
        .run()
    )

    first, second = received
    assert type(first.data).__name__ == "Sent"
    assert first.data.text == "Hi"
    assert first.aggregate_identifier == identifier
    assert second == liked(likes=1)
    assert [(n.name, n.data) for n in result.notifications] == [("seen", {"text": "Hi"})]


VIEW = """
    from pydantic import BaseModel

    from wolkenkit import ClientMetadata, Everyone, NotificationService, NotFound, View

    from server.notifications import Refresh, Seen


    class Options(BaseModel):
        prefix: str


    class Item(BaseModel):
        text: str


    TEXTS = ["apple", "avocado", "banana"]
    view = View(authorize=Everyone)


    @view.stream
    def starting_with(options: Options) -> list[Item]:
        \"\"\"Texts that start with a prefix.\"\"\"
        return [Item(text=text) for text in TEXTS if text.startswith(options.prefix)]


    @view.value(name="first")
    async def first_text(options: Options, client: ClientMetadata) -> Item:
        for text in TEXTS:
            if text.startswith(options.prefix):
                return Item(text=f"{text} for {client.user.id}")
        raise NotFound("None.")


    @view.on(Seen)
    async def pass_on(seen: Seen, notification: NotificationService) -> None:
        await notification.publish(Refresh())
"""


async def test_view_queries_and_subscribers(tmp_path: Path) -> None:
    files = {MESSAGE: CHAT, "server/views/texts.py": VIEW, "server/notifications.py": NOTIFICATIONS}
    application = load(tmp_path, files)
    view = application.views["texts"]
    sandbox = Sandbox(application)
    domain = await sandbox.domain()

    items = await sandbox.for_view("texts").query_async("startingWith", {"prefix": "a"})
    value = await domain.query_value("texts", "first", {"prefix": "b"}, build_client())
    published = await sandbox.for_view("texts").notify_async("seen", {"text": "Hi"})

    assert set(view.query_handlers) == {"startingWith", "first"}
    starting_with = view.query_handlers["startingWith"]
    assert starting_with.options_schema().__name__ == "Options"  # type: ignore[union-attr]
    assert starting_with.item_schema().__name__ == "Item"  # type: ignore[union-attr]
    assert starting_with.documentation() == "Texts that start with a prefix."
    assert items == [{"text": "apple"}, {"text": "avocado"}]
    assert value == {"text": "banana for jane.doe"}
    assert published == [Notification(name="refresh", data={})]


def test_names_are_camel_case_unless_given(tmp_path: Path) -> None:
    handlers = """
        @aggregate.command
        def send_message(command: Send) -> Sent:
            return Sent(text=command.text)


        @aggregate.command(name="likeIt")
        def like(message: Message, command: Like) -> Liked:
            return Liked(likes=1)


        @aggregate.event
        def message_sent(message: Message, event: Sent) -> Message:
            return message


        @aggregate.event(name="likeDone")
        def liked(message: Message, event: Liked) -> Message:
            return message
    """
    files = {MESSAGE: (HEADER, "aggregate = Aggregate(Message, authorize=Everyone)", handlers)}
    message = load(tmp_path, files).domain["communication"]["message"]

    assert set(message.command_handlers) == {"sendMessage", "likeIt"}
    assert {"messageSent", "likeDone"} <= set(message.domain_event_handlers)
