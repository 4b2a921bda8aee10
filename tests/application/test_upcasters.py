"""Versioned event models and their upcasters: what loads, what does not, and what the
sandbox does with events that older versions of an app stored."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.application.app_files import Source, write_app
from tests.application.test_functions import line_of, load_error
from wolkenkit.application.application import Application
from wolkenkit.application.loader import load_application
from wolkenkit.domain.catalog import Catalog
from wolkenkit.errors import ApplicationMalformed, DomainEventVersionUnknown, UpcasterFailed
from wolkenkit.testing import Sandbox

MESSAGE = "server/domain/communication/message.py"

#: A message whose ``sent`` is at version 3: version 2 renamed ``body`` to ``text``, version 3
#: added ``sent_at``. The upcasters (``FIRST``, ``SECOND``) follow.
HEADER = """
    from typing import Any

    from pydantic import BaseModel

    from wolkenkit import Aggregate, DomainEventMetadata, Everyone, Schema


    class Message(BaseModel):
        text: str = ""
        sent_at: int = 0
        likes: int = 0


    class Like(Schema):
        pass


    class Sent(Schema, version=3):
        text: str
        sent_at: int


    class Liked(Schema):
        likes: int


    aggregate = Aggregate(Message, authorize=Everyone)


    @aggregate.command
    def like(message: Message, command: Like) -> Liked:
        return Liked(likes=message.likes + 1)


    @aggregate.event
    def sent(message: Message, event: Sent) -> Message:
        return message.model_copy(update={"text": event.text, "sent_at": event.sent_at})


    @aggregate.event
    def liked(message: Message, event: Liked) -> Message:
        return message.model_copy(update={"likes": event.likes})
"""

FIRST = """
    @aggregate.upcaster(Sent, from_version=1)
    def body_became_text(data: dict[str, Any]) -> dict[str, Any]:
        return {"text": data["body"]}
"""

SECOND = """
    @aggregate.upcaster(Sent, from_version=2)
    def sent_at_from_metadata(
        data: dict[str, Any], metadata: DomainEventMetadata
    ) -> dict[str, Any]:
        return {**data, "sent_at": metadata.timestamp}
"""


def load(root: Path, *parts: str) -> Application:
    return load_application(write_app(root, {MESSAGE: (HEADER, *parts)}))


# Loading


def test_a_complete_chain_loads_in_the_order_of_versions(tmp_path: Path) -> None:
    # Declared in any order, the upcasters run from the oldest version on.
    application = load(tmp_path, SECOND, FIRST)

    entry = Catalog(application).aggregate("communication", "message").domain_events["sent"]

    assert entry.version == 3
    assert [upcaster.function.__name__ for upcaster in entry.upcasters] == [
        "body_became_text",
        "sent_at_from_metadata",
    ]
    assert (
        Catalog(application).aggregate("communication", "message").domain_events["liked"].version
        == 1
    )


def test_a_gap_in_the_chain_names_the_models_file_and_line(tmp_path: Path) -> None:
    files = {MESSAGE: (HEADER, SECOND)}

    message = load_error(tmp_path, files, MESSAGE, "class Sent(")

    assert message.startswith("Sent (")
    assert message.endswith(
        "is at version 3, but no upcaster lifts its version 1 to 2: add one with "
        "@aggregate.upcaster(Sent, from_version=1)."
    )


def test_two_upcasters_of_one_version_fail_the_load(tmp_path: Path) -> None:
    again = """
        @aggregate.upcaster(Sent, from_version=1)
        def body_became_text_again(data: dict[str, Any]) -> dict[str, Any]:
            return data
    """
    files = {MESSAGE: (HEADER, FIRST, SECOND, again)}

    message = load_error(tmp_path, files, MESSAGE, "def body_became_text_again(")

    assert "Sent is lifted from version 1 by 'body_became_text' (" in message


@pytest.mark.parametrize("start", [0, 3, 4])
def test_an_upcaster_of_a_version_that_leads_nowhere_fails_the_load(
    tmp_path: Path, start: int
) -> None:
    beyond = f"""
        @aggregate.upcaster(Sent, from_version={start})
        def nowhere(data: dict[str, Any]) -> dict[str, Any]:
            return data
    """
    files = {MESSAGE: (HEADER, FIRST, SECOND, beyond)}

    message = load_error(tmp_path, files, MESSAGE, "def nowhere(")

    assert f"It lifts Sent from version {start}, but Sent is at version 3" in message


def test_an_upcaster_of_a_model_no_event_takes_fails_the_load(tmp_path: Path) -> None:
    stray = """
        class Deleted(Schema, version=2):
            pass


        @aggregate.upcaster(Deleted, from_version=1)
        def stray(data: dict[str, Any]) -> dict[str, Any]:
            return data
    """
    files = {MESSAGE: (HEADER, FIRST, SECOND, stray)}

    message = load_error(tmp_path, files, MESSAGE, "def stray(")

    assert "It lifts Deleted, which no event handler of its aggregate takes." in message


@pytest.mark.parametrize(
    ("definition", "detail"),
    [
        ("async def first(data: dict[str, Any]) -> dict[str, Any]:", "must not be async"),
        ("def first(data: Sent) -> dict[str, Any]:", "asks for something an upcaster"),
        ("def first(data) -> dict[str, Any]:", "has no annotation"),
    ],
)
def test_a_malformed_upcaster_fails_the_load(tmp_path: Path, definition: str, detail: str) -> None:
    first = f"""
        @aggregate.upcaster(Sent, from_version=1)
        {definition}
            return {{}}
    """
    files = {MESSAGE: (HEADER, first, SECOND)}

    message = load_error(tmp_path, files, MESSAGE, "def first(")

    assert detail in message


def test_a_version_that_is_no_whole_number_from_1_fails_the_import(tmp_path: Path) -> None:
    files = {MESSAGE: HEADER.replace("version=3", "version=0")}
    write_app(tmp_path, files)

    with pytest.raises(ApplicationMalformed) as raised:
        load_application(tmp_path)

    line = line_of(tmp_path / MESSAGE, "class Sent(")
    assert str(raised.value) == (
        f"Importing '{MESSAGE}' failed (line {line}): TypeError: Sent's version must be a "
        "whole number from 1 on, not 0."
    )


# The sandbox, with events that older versions of the app stored


def test_given_events_of_older_versions_are_lifted(tmp_path: Path) -> None:
    # One event as version 1 wrote it, one as version 2, one as the app writes it now.
    sandbox = Sandbox(load(tmp_path, FIRST, SECOND))
    scenario = sandbox.for_aggregate("communication", "message")

    old = scenario.given("sent", {"body": "Hi"}, version=1).when("like").then()
    newer = (
        sandbox.for_aggregate("communication", "message")
        .given("sent", {"text": "Hey"}, version=2)
        .then()
    )
    current = (
        sandbox.for_aggregate("communication", "message")
        .given("sent", {"text": "Hello", "sent_at": 5})
        .then()
    )

    assert (old.state.text, old.state.likes) == ("Hi", 1)
    assert old.state.sent_at > 0
    assert (newer.state.text, newer.state.sent_at > 0) == ("Hey", True)
    assert (current.state.text, current.state.sent_at) == ("Hello", 5)


def test_an_upcaster_asks_for_data_and_metadata_in_any_order(tmp_path: Path) -> None:
    swapped = """
        @aggregate.upcaster(Sent, from_version=2)
        def sent_at_from_metadata(
            metadata: DomainEventMetadata, data: dict[str, Any]
        ) -> dict[str, Any]:
            return {**data, "sent_at": metadata.revision}
    """
    sandbox = Sandbox(load(tmp_path, FIRST, swapped))

    scenario = sandbox.for_aggregate("communication", "message")

    state = scenario.given("sent", {"body": "Hi"}, version=1).then().state

    assert (state.text, state.sent_at) == ("Hi", 1)


def test_the_last_upcaster_may_return_the_model_but_nothing_else(tmp_path: Path) -> None:
    as_model = """
        @aggregate.upcaster(Sent, from_version=2)
        def sent_at_from_metadata(data: dict[str, Any]) -> Sent:
            return Sent(text=data["text"], sent_at=7)
    """
    as_nothing = as_model.replace('return Sent(text=data["text"], sent_at=7)', "pass")
    given = ("sent", {"body": "Hi"})

    state = (
        Sandbox(load(tmp_path / "model", FIRST, as_model))
        .for_aggregate("communication", "message")
        .given(*given, version=1)
        .then()
        .state
    )
    with pytest.raises(UpcasterFailed) as raised:
        Sandbox(load(tmp_path / "nothing", FIRST, as_nothing)).for_aggregate(
            "communication", "message"
        ).given(*given, version=1).then()

    assert (state.text, state.sent_at) == ("Hi", 7)
    assert str(raised.value).endswith(
        "failed: TypeError: Upcaster 'sent_at_from_metadata' returned NoneType, not the next "
        "version's data as a dict."
    )


def test_a_failing_upcaster_says_which_one_on_which_event(tmp_path: Path) -> None:
    # Version 1 data without a body: the upcaster raises, and loading the aggregate fails
    # with an error naming the upcaster and the event (wk check-events finds these first).
    scenario = (
        Sandbox(load(tmp_path, FIRST, SECOND))
        .for_aggregate("communication", "message")
        .given("sent", {"text": "not a body"}, version=1)
        .when("like")
    )

    with pytest.raises(UpcasterFailed) as raised:
        scenario.then()

    message = str(raised.value)
    assert message.startswith(
        "Reading event 'communication.message.sent' of aggregate "
        f"{scenario.aggregate_identifier.aggregate.id} at revision 1 failed: Upcaster "
        "'body_became_text' ("
    )
    assert message.endswith("failed: KeyError: 'body'")


def test_an_event_of_a_version_the_app_does_not_know_is_refused(tmp_path: Path) -> None:
    # A newer app stored it (and was rolled back): it is not read as if it were current.
    scenario = (
        Sandbox(load(tmp_path, FIRST, SECOND))
        .for_aggregate("communication", "message")
        .given("sent", {"text": "Hi", "sent_at": 1, "language": "en"}, version=4)
        .when("like")
    )

    with pytest.raises(DomainEventVersionUnknown) as raised:
        scenario.then()

    assert str(raised.value).endswith(
        "It is stored at version 4, but this app knows its data up to version 3: a newer "
        "version of the app wrote it."
    )


#: A flow that keeps the data of every ``sent`` it receives.
FLOW = """
    from wolkenkit import DomainEvent, Flow

    from server.domain.communication.message import Sent

    flow = Flow()
    received: list[Sent] = []


    @flow.on(Sent)
    def remember(event: DomainEvent[Sent]) -> None:
        received.append(event.data)
"""


def with_flow(root: Path) -> Application:
    files: dict[str, Source] = {
        MESSAGE: (HEADER, FIRST, SECOND),
        "server/flows/remembered.py": FLOW,
    }
    return load_application(write_app(root, files))


def received(application: Application) -> list[Any]:
    """What the flow of ``with_flow`` received."""
    handler: Any = application.flows["remembered"].domain_event_handlers["remember"]
    found: list[Any] = handler.function.__globals__["received"]
    return found


def test_a_flow_receives_old_events_lifted(tmp_path: Path) -> None:
    application = with_flow(tmp_path)

    Sandbox(application).for_flow("remembered").when(
        "communication.message.sent", {"body": "Hi"}, version=1
    ).then()

    assert [(sent.text, sent.sent_at > 0) for sent in received(application)] == [("Hi", True)]
