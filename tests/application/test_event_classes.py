"""Events declared by their model class (``@aggregate.event class Sent(Schema)``): named after
the class, documented by its docstring, and applied by copying their fields into the state.
Each app is written as files, loaded and run through the real engine."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.application.test_functions import MESSAGE, line_of, load, load_error
from tests.application.test_upcasters import FLOW
from tests.scaffolds.helpers import type_check
from wolkenkit.application.description import describe_application
from wolkenkit.errors import UpcasterMalformed
from wolkenkit.messages import AggregateIdentifier, new_id
from wolkenkit.runtime.graphql.subscriptions import describe_domain_events
from wolkenkit.testing import Sandbox, build_domain_event

HEADER = """
    from typing import Any

    from pydantic import BaseModel

    from wolkenkit import Aggregate, AggregateService, Everyone, Schema


    class Author(BaseModel):
        name: str


    class Message(BaseModel):
        text: str = ""
        author: Author | None = None
        likes: int = 0


    class Send(Schema):
        text: str
        author: str


    class Like(Schema):
        pass
"""

#: The message aggregate: ``sent`` and ``markedDone`` declared by their classes (the first
#: documented, with a nested model), ``liked`` by its class under a name of its own.
EVENTS = """
    aggregate = Aggregate(Message, authorize=Everyone)


    @aggregate.event
    class Sent(Schema):
        \"\"\"A message was sent.\"\"\"

        text: str
        author: Author


    @aggregate.event(name="liked")
    class LikeCounted(Schema):
        likes: int


    @aggregate.event
    class MarkedDone(Schema):
        pass


    @aggregate.command
    def send(command: Send) -> Sent:
        return Sent(text=command.text, author=Author(name=command.author))


    @aggregate.command
    def like(message: Message, command: Like, this: AggregateService[Message]) -> None:
        after_one = this.publish(LikeCounted(likes=message.likes + 1))
        this.publish(LikeCounted(likes=after_one.likes + 1))
"""

CHAT = (HEADER, EVENTS)


def aggregate(sandbox: Sandbox) -> Any:
    return sandbox.for_aggregate("communication", "message")


def test_an_event_copies_its_fields_into_a_model_state(tmp_path: Path) -> None:
    sandbox = Sandbox(load(tmp_path, {MESSAGE: CHAT}))

    result = aggregate(sandbox).when("send", {"text": "Hi", "author": "Jane"}).when("like").then()

    assert [(event.name, event.data) for event in result.domain_events] == [
        ("sent", {"text": "Hi", "author": {"name": "Jane"}}),
        ("liked", {"likes": 1}),
        ("liked", {"likes": 2}),
    ]
    # The event's values themselves: the nested model stays a model; other fields stay.
    assert type(result.state.author).__name__ == "Author"
    assert result.state.author.name == "Jane"
    assert (result.state.text, result.state.likes) == ("Hi", 2)


def test_an_event_copies_its_fields_into_a_dict_state(tmp_path: Path) -> None:
    module = """
        from wolkenkit import Aggregate, Everyone, Schema


        class Send(Schema):
            text: str


        aggregate = Aggregate(lambda: {"text": "", "likes": 3}, authorize=Everyone)


        @aggregate.event
        class Sent(Schema):
            text: str
            sent_at: int


        @aggregate.command
        def send(command: Send) -> Sent:
            return Sent(text=command.text, sent_at=1)
    """
    sandbox = Sandbox(load(tmp_path, {MESSAGE: module}))

    result = aggregate(sandbox).when("send", {"text": "Hi"}).then()

    assert result.state == {"text": "Hi", "likes": 3, "sent_at": 1}


def test_names_come_from_the_class_unless_given(tmp_path: Path) -> None:
    message = load(tmp_path, {MESSAGE: CHAT}).domain["communication"]["message"]

    assert {"sent", "liked", "markedDone"} <= set(message.domain_event_handlers)
    assert "likeCounted" not in message.domain_event_handlers
    model = message.domain_event_handlers["liked"].data_schema()
    assert getattr(model, "__name__", None) == "LikeCounted"


def test_the_docstring_documents_the_event(tmp_path: Path) -> None:
    description = describe_application(load(tmp_path, {MESSAGE: CHAT}))

    events = description["domainEvents"]["communication"]["message"]
    # The schema does not repeat the documentation, as pydantic would from the docstring.
    assert events["sent"]["documentation"] == "A message was sent."
    assert "description" not in events["sent"]["schema"]
    assert events["sent"]["schema"]["required"] == ["text", "author"]
    # A class without a docstring has none: not Schema's.
    assert "documentation" not in events["liked"]
    assert events["markedDone"] == {
        "schema": {"type": "object", "properties": {}, "additionalProperties": False}
    }
    # GraphQL's subscription documents the events from the description.
    assert "### sent\n\nA message was sent." in describe_domain_events(description)


# Load errors


def test_a_field_the_state_does_not_have_fails_the_load(tmp_path: Path) -> None:
    edited = """
        aggregate = Aggregate(Message, authorize=Everyone)


        @aggregate.event
        class Edited(Schema):
            text: str
            edited_at: int
    """

    message = load_error(tmp_path, {MESSAGE: (HEADER, edited)}, MESSAGE, "class Edited(")

    assert message.startswith("Handler 'Edited' (")
    assert message.endswith(
        "is malformed: It sets 'edited_at', which the state Message does not have: an event "
        "class copies its fields into the state, so an event that changes the state in "
        "another way needs a handler function."
    )


#: ``MarkedDone`` registered a second time.
REGISTERED_TWICE = (HEADER, EVENTS, "aggregate.event(MarkedDone)")

#: A class whose name is a handler function's.
NAMED_LIKE_A_FUNCTION = (
    HEADER,
    """
    aggregate = Aggregate(Message, authorize=Everyone)


    @aggregate.event
    def marked_done(message: Message) -> Message:
        return message


    @aggregate.event
    class MarkedDone(Schema):
        pass
    """,
)


@pytest.mark.parametrize(
    "source",
    [REGISTERED_TWICE, NAMED_LIKE_A_FUNCTION],
    ids=["class registered twice", "class named like a function"],
)
def test_a_name_used_twice_fails_the_load(tmp_path: Path, source: tuple[str, ...]) -> None:
    message = load_error(tmp_path, {MESSAGE: source}, MESSAGE, "class MarkedDone(")

    assert "Handler 'markedDone'" in message
    assert "is defined twice" in message


def test_a_class_that_is_no_model_fails_the_load(tmp_path: Path) -> None:
    plain = """
        aggregate = Aggregate(Message, authorize=Everyone)


        @aggregate.event
        class Sent:
            text: str
    """

    message = load_error(tmp_path, {MESSAGE: (HEADER, plain)}, MESSAGE, "class Sent:")

    assert "must be a pydantic model" in message


# With the rest of the app


VERSIONED = """
    aggregate = Aggregate(Message, authorize=Everyone)


    @aggregate.event
    class Sent(Schema, version=2):
        text: str


    @aggregate.upcaster(Sent, from_version=1)
    def body_became_text(data: dict[str, Any]) -> dict[str, Any]:
        return {"text": data["body"]}
"""


def test_an_old_version_of_a_class_declared_event_is_upcast(tmp_path: Path) -> None:
    sandbox = Sandbox(load(tmp_path, {MESSAGE: (HEADER, VERSIONED)}))

    result = aggregate(sandbox).given("sent", {"body": "Hi"}, version=1).then()

    assert result.state.text == "Hi"


def test_a_missing_upcaster_names_the_class_not_its_decorator(tmp_path: Path) -> None:
    without = VERSIONED.split("    @aggregate.upcaster")[0]

    with pytest.raises(UpcasterMalformed) as raised:
        load(tmp_path, {MESSAGE: (HEADER, without)})

    line = line_of(tmp_path / MESSAGE, "class Sent(")
    assert str(raised.value).startswith(f"Sent ({tmp_path / MESSAGE}:{line}) is at version 2")


async def test_a_flow_reacts_to_a_class_declared_event(tmp_path: Path) -> None:
    application = load(tmp_path, {MESSAGE: CHAT, "server/flows/remembered.py": FLOW})
    remember = application.flows["remembered"].domain_event_handlers["remember"]
    received = remember.function.__globals__["received"]  # type: ignore[attr-defined]
    identifier = AggregateIdentifier.of("communication", "message", new_id())
    data = {"text": "Hi", "author": {"name": "Jane"}}

    await (
        Sandbox(application)
        .for_flow("remembered")
        .when(build_domain_event(identifier, "sent", data))
        .run()
    )

    [sent] = received
    assert type(sent).__name__ == "Sent"
    assert sent.author.name == "Jane"


def test_an_app_with_event_classes_loads_and_passes_mypy_strict(tmp_path: Path) -> None:
    # What an app author writes with the class form is an app to wolkenkit and to mypy: the
    # decorators give the classes back, so ``-> Sent``, ``Sent(...)`` and
    # ``Sent.model_fields`` keep their types.
    usage = """
        SENT_FIELDS: list[str] = list(Sent.model_fields)


        def sent_text(event: Sent) -> str:
            return event.text
    """
    application = load(tmp_path, {MESSAGE: (HEADER, EVENTS, usage)})
    (tmp_path / "pyproject.toml").write_text(
        '[tool.mypy]\nstrict = true\nplugins = ["pydantic.mypy"]\nfiles = ["server"]\n'
        "explicit_package_bases = true\n"
    )

    result = type_check(tmp_path)

    assert "sent" in application.domain["communication"]["message"].domain_event_handlers
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Success: no issues found in 1 source file" in result.stdout
