"""Checking what the app's modules define: each mistake is one error naming file and definition."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.application.app_files import (
    AGGREGATE,
    HANDLERS,
    MODELS,
    Source,
    aggregate_with,
    handler_error,
    write_app,
)
from wolkenkit.application.loader import load_application
from wolkenkit.errors import (
    AggregateDefinitionMalformed,
    ApplicationError,
    CommandHandlerMalformed,
    DomainEventAlreadyExists,
    DomainEventHandlerMalformed,
    FlowDefinitionMalformed,
    HooksDefinitionMalformed,
    InfrastructureDefinitionMalformed,
    NameInvalid,
    NotificationHandlerMalformed,
    NotificationsDefinitionMalformed,
    QueryHandlerMalformed,
)

MESSAGE = "server/domain/communication/message.py"
FLOW = "server/flows/messages.py"
VIEW = "server/views/messages.py"

#: A flow module's imports and handler; a test defines ``flow = Flow(...)`` before it.
FLOW_IMPORTS = """
    from server.domain.communication.message import SentData
    from wolkenkit import DomainEvent, Flow
"""

FLOW_HANDLER = """
    @flow.on(SentData)
    async def on_sent(event: DomainEvent[SentData]) -> None:
        pass
"""

#: A view module's imports; a test defines ``view = View(...)`` after them.
VIEW_IMPORTS = """
    from typing import Any

    from wolkenkit import Everyone, Schema, View


    class Message(Schema):
        text: str
"""

QUERY_HANDLERS = """
    @view.stream
    def all() -> list[Message]:
        return []


    @view.value
    async def first(options: dict[str, Any]) -> Message:
        return Message(text="")
"""


def load_failure(
    tmp_path: Path, files: dict[str, Source], error: type[ApplicationError] = ApplicationError
) -> str:
    """Load an app of the domain's message aggregate plus ``files``; the message of its error."""
    write_app(tmp_path, {MESSAGE: AGGREGATE, **files})
    with pytest.raises(error) as raised:
        load_application(tmp_path)
    return raised.value.message


# --- Aggregates -----------------------------------------------------------------------------------


def test_an_aggregate_without_initial_state_is_malformed(tmp_path: Path) -> None:
    # Forgetting the initial state fails while importing; it is still reported as what it is.
    message = load_failure(
        tmp_path, {MESSAGE: aggregate_with("authorize=Everyone")}, AggregateDefinitionMalformed
    )

    assert message == (
        f"Aggregate definition '{MESSAGE}' is malformed: The initial state is missing."
    )


def test_wrong_arguments_to_aggregate_are_malformed(tmp_path: Path) -> None:
    # A habit from the reference's JavaScript: camelCase names.
    message = load_failure(
        tmp_path,
        {MESSAGE: aggregate_with("State, authorize=Everyone, initialState=State")},
        AggregateDefinitionMalformed,
    )

    assert message == (
        f"Aggregate definition '{MESSAGE}' is malformed: "
        "Aggregate() got an unexpected keyword argument 'initialState'."
    )


def test_an_initial_state_of_none_is_missing(tmp_path: Path) -> None:
    message = load_failure(
        tmp_path,
        {MESSAGE: aggregate_with("None, authorize=Everyone")},
        AggregateDefinitionMalformed,
    )

    assert message == (
        f"Aggregate definition '{MESSAGE}' is malformed: The initial state is missing."
    )


def test_an_initial_state_must_be_callable(tmp_path: Path) -> None:
    message = load_failure(
        tmp_path, {MESSAGE: aggregate_with("{}, authorize=Everyone")}, AggregateDefinitionMalformed
    )

    assert message == (
        f"Aggregate definition '{MESSAGE}' is malformed: The initial state must be callable "
        "(a pydantic model class or a function), not a dict."
    )


def test_an_event_handler_must_not_be_async(tmp_path: Path) -> None:
    # Applying an event is a pure state transition; rehydration never awaits it.
    message = load_failure(
        tmp_path,
        {
            MESSAGE: aggregate_with(
                "State, authorize=Everyone",
                """
                @aggregate.event
                async def liked(state: State, event: dict[str, Any]) -> State:
                    return state
                """,
            )
        },
        DomainEventHandlerMalformed,
    )

    assert handler_error(
        "liked", MESSAGE, "It must not be async: it computes the next state, nothing else."
    ).fullmatch(message)


@pytest.mark.parametrize(
    ("function_name", "event_name"),
    [("send_rejected", "sendRejected"), ("send_failed", "sendFailed")],
)
def test_reserved_event_names_cannot_be_defined(
    tmp_path: Path, function_name: str, event_name: str
) -> None:
    message = load_failure(
        tmp_path,
        {
            MESSAGE: aggregate_with(
                "State, authorize=Everyone",
                f"""
                @aggregate.event
                def {function_name}(state: State, event: dict[str, Any]) -> State:
                    return state
                """,
            )
        },
        DomainEventAlreadyExists,
    )

    assert message == f"Reserved domain event name '{event_name}' used in '{MESSAGE}'."


def test_a_schema_without_json_schema_is_malformed(tmp_path: Path) -> None:
    # Descriptions, OpenAPI and GraphQL all need the schema, so a broken one fails the load.
    message = load_failure(
        tmp_path,
        {
            MESSAGE: aggregate_with(
                "State, authorize=Everyone",
                """
                class Opaque:
                    pass


                class OpaqueData(BaseModel):
                    model_config = {"arbitrary_types_allowed": True}

                    value: Opaque


                @aggregate.command
                def store(command: OpaqueData) -> None:
                    pass
                """,
            )
        },
        CommandHandlerMalformed,
    )

    assert message.startswith(
        f"Aggregate definition '{MESSAGE}' is malformed: Command handler 'store' is malformed: "
        "Schema OpaqueData has no JSON Schema: "
    )


# --- Names ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        (
            {"server/domain/my_context/message.py": AGGREGATE},
            "Context name 'my_context' in 'server/domain/my_context' is invalid",
        ),
        (
            {"server/domain/communication/my-message.py": AGGREGATE},
            "Aggregate name 'my-message' in 'server/domain/communication/my-message.py' is invalid",
        ),
        (
            {
                MESSAGE: (
                    MODELS,
                    "aggregate = Aggregate(State, authorize=Everyone)",
                    HANDLERS.replace(
                        "@aggregate.command\n", '@aggregate.command(name="send message")\n'
                    ),
                )
            },
            f"Command name 'send message' in '{MESSAGE}' is invalid",
        ),
        (
            {
                MESSAGE: (
                    MODELS,
                    "aggregate = Aggregate(State, authorize=Everyone)",
                    HANDLERS.replace("@aggregate.event\n", '@aggregate.event(name="1st")\n'),
                )
            },
            f"Domain event name '1st' in '{MESSAGE}' is invalid",
        ),
        (
            {"server/flows/on_sent.py": (FLOW_IMPORTS, "flow = Flow()", FLOW_HANDLER)},
            "Flow name 'on_sent' in 'server/flows/on_sent.py' is invalid",
        ),
        (
            {
                "server/views/all-messages.py": (
                    VIEW_IMPORTS,
                    "view = View(authorize=Everyone)",
                    QUERY_HANDLERS,
                )
            },
            "View name 'all-messages' in 'server/views/all-messages.py' is invalid",
        ),
        (
            {
                VIEW: (
                    VIEW_IMPORTS,
                    "view = View(authorize=Everyone)",
                    QUERY_HANDLERS.replace("@view.stream\n", '@view.stream(name="all_messages")\n'),
                )
            },
            f"Query name 'all_messages' in '{VIEW}' is invalid",
        ),
        (
            {
                "server/notifications.py": """
                    from wolkenkit import Everyone, Notifications, Schema


                    class NachrichtGelöscht(Schema):
                        pass


                    notifications = Notifications(NachrichtGelöscht, authorize=Everyone)
                """
            },
            "Notification name 'nachrichtGelöscht' in 'server/notifications.py' is invalid",
        ),
    ],
)
def test_names_must_be_usable_in_urls_and_graphql(
    tmp_path: Path, files: dict[str, Source], expected: str
) -> None:
    message = load_failure(tmp_path, files, NameInvalid)

    assert message == f"{expected}: a name starts with a letter and has only letters and digits."


def test_a_name_used_by_a_module_and_a_package_collides(tmp_path: Path) -> None:
    message = load_failure(
        tmp_path, {"server/domain/communication/message/__init__.py": AGGREGATE}, NameInvalid
    )

    assert message == (
        "Aggregate name 'message' is used twice in 'server/domain/communication': "
        "by 'message/' and 'message.py'."
    )


# --- Flows ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("policy", ["never", "on-demand", "always"])
def test_a_flow_has_a_replay_policy(tmp_path: Path, policy: str) -> None:
    write_app(
        tmp_path,
        {
            MESSAGE: AGGREGATE,
            FLOW: (FLOW_IMPORTS, f'flow = Flow(replay_policy="{policy}")', FLOW_HANDLER),
        },
    )

    application = load_application(tmp_path)

    assert application.flows["messages"].replay_policy == policy


def test_an_unknown_replay_policy_fails_the_load(tmp_path: Path) -> None:
    # The reference only notices when a gap occurs; we say so at once.
    message = load_failure(
        tmp_path,
        {FLOW: (FLOW_IMPORTS, 'flow = Flow(replay_policy="sometimes")', FLOW_HANDLER)},
        FlowDefinitionMalformed,
    )

    assert message == (
        f"Flow definition '{FLOW}' is malformed: Replay policy 'sometimes' is invalid: "
        "use 'never', 'on-demand' or 'always'."
    )


# --- Views ----------------------------------------------------------------------------------------


def test_a_view_has_stream_and_value_queries(tmp_path: Path) -> None:
    write_app(
        tmp_path,
        {
            MESSAGE: AGGREGATE,
            VIEW: (VIEW_IMPORTS, "view = View(authorize=Everyone)", QUERY_HANDLERS),
        },
    )

    view = load_application(tmp_path).views["messages"]

    assert {name: handler.query_type for name, handler in view.query_handlers.items()} == {
        "all": "stream",
        "first": "value",
    }


def test_a_query_needs_a_policy(tmp_path: Path) -> None:
    # Without a default of the view's or a policy of its own, nobody could query it.
    message = load_failure(
        tmp_path,
        {
            VIEW: (
                VIEW_IMPORTS,
                "view = View()",
                QUERY_HANDLERS.replace("@view.value\n", "@view.value(authorize=Everyone)\n"),
            )
        },
        QueryHandlerMalformed,
    )

    assert handler_error(
        "all",
        VIEW,
        "Nobody may query it: give the view a default (View(authorize=Everyone)) or the query "
        "its own.",
    ).fullmatch(message)


# --- Notifications, hooks, infrastructure ---------------------------------------------------------


def test_notifications_must_be_a_mapping(tmp_path: Path) -> None:
    message = load_failure(
        tmp_path,
        {"server/notifications.py": "notifications = []"},
        NotificationsDefinitionMalformed,
    )

    assert message == (
        "Notifications definition 'server/notifications.py' is malformed: "
        "Attribute 'notifications' is a list, not a Mapping."
    )


def test_a_notification_needs_a_policy(tmp_path: Path) -> None:
    message = load_failure(
        tmp_path,
        {
            "server/notifications/__init__.py": """
                from wolkenkit import Everyone, Notifications, Schema


                class Updated(Schema):
                    pass


                class Deleted(Schema):
                    pass


                notifications = Notifications(Updated)
                notifications.define(Deleted, authorize=Everyone)
            """
        },
        NotificationHandlerMalformed,
    )

    # The place is where Notifications(...) was called: line 12 of the written file.
    where = f"{tmp_path}/server/notifications/__init__.py:12"
    assert message == (
        f"Notification Updated ({where}) is malformed: nobody may receive it; give "
        "Notifications(...) a default (authorize=Everyone) or it its own."
    )


def test_hooks_are_loaded_and_must_be_functions(tmp_path: Path) -> None:
    write_app(
        tmp_path,
        {"server/domain/": "", "server/hooks.py": "def adding_file(metadata, services):\n    pass"},
    )
    hooks = load_application(tmp_path).hooks
    assert hooks.adding_file is not None
    assert hooks.added_file is None

    write_app(tmp_path, {"server/hooks.py": "got_file = 'later'"})
    with pytest.raises(HooksDefinitionMalformed) as raised:
        load_application(tmp_path)

    assert raised.value.message == (
        "Hooks definition 'server/hooks.py' is malformed: "
        "Hook 'got_file' must be a function, not a str."
    )


def test_infrastructure_is_loaded_but_not_called(tmp_path: Path) -> None:
    # Getting the infrastructure opens connections: that is the runtime's job, not the loader's.
    write_app(
        tmp_path,
        {
            "server/domain/": "",
            "server/infrastructure.py": """
                async def get_infrastructure(services):
                    raise RuntimeError("must not be called while loading")
            """,
        },
    )

    infrastructure = load_application(tmp_path).infrastructure

    assert infrastructure.get_infrastructure.__name__ == "get_infrastructure"


def test_infrastructure_functions_must_be_async(tmp_path: Path) -> None:
    message = load_failure(
        tmp_path,
        {"server/infrastructure.py": "def setup_infrastructure(services):\n    pass"},
        InfrastructureDefinitionMalformed,
    )

    assert message == (
        "Infrastructure definition 'server/infrastructure.py' is malformed: Function "
        "'setup_infrastructure' must be async (async def setup_infrastructure(services)), "
        "not a function."
    )
