"""Checking what the app's modules define: each mistake is one error naming file and definition."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.application.app_files import AGGREGATE, HANDLERS, Source, write_app
from wolkenkit.application.loader import load_application
from wolkenkit.errors import (
    AggregateDefinitionMalformed,
    ApplicationError,
    CommandHandlerMalformed,
    DomainEventAlreadyExists,
    DomainEventHandlerMalformed,
    FlowDefinitionMalformed,
    FlowDomainEventHandlerMalformed,
    HooksDefinitionMalformed,
    InfrastructureDefinitionMalformed,
    NameInvalid,
    NotificationHandlerMalformed,
    NotificationsDefinitionMalformed,
    NotificationSubscriberMalformed,
    QueryHandlerMalformed,
)

MESSAGE = "server/domain/communication/message.py"
FLOW = "server/flows/messages.py"
VIEW = "server/views/messages.py"

FLOW_HANDLER = """
    from wolkenkit.application.definitions import Flow, FlowHandler


    class OnSent(FlowHandler):
        def is_relevant(self, fully_qualified_name, item_identifier):
            return fully_qualified_name == "communication.message.sent"

        async def handle(self, domain_event, services):
            pass
"""

QUERY_HANDLERS = """
    from wolkenkit.application.definitions import (
        NotificationSubscriber, QueryHandler, StreamQueryHandler, ValueQueryHandler, View,
    )


    class All(StreamQueryHandler):
        def handle(self, options, services):
            return []

        def is_authorized(self, item, services):
            return True


    class First(ValueQueryHandler):
        async def handle(self, options, services):
            return {}

        async def is_authorized(self, item, services):
            return True
"""


def load_failure(
    tmp_path: Path, files: dict[str, Source], error: type[ApplicationError] = ApplicationError
) -> str:
    """Load an app of the domain's message aggregate plus ``files``; the message of its error."""
    write_app(tmp_path, {MESSAGE: AGGREGATE, **files})
    with pytest.raises(error) as raised:
        load_application(tmp_path)
    return raised.value.message


def aggregate_with(arguments: str) -> Source:
    """The message aggregate module, built with ``Aggregate(<arguments>)``."""
    return (HANDLERS, f"aggregate = Aggregate({arguments})")


# --- Aggregates -----------------------------------------------------------------------------------


def test_an_aggregate_without_initial_state_is_malformed(tmp_path: Path) -> None:
    # Forgetting ``initial_state=`` fails while importing; it is still reported as what it is.
    message = load_failure(
        tmp_path,
        {MESSAGE: aggregate_with('command_handlers={"send": Send()}, domain_event_handlers={}')},
        AggregateDefinitionMalformed,
    )

    assert message == (
        f"Aggregate definition '{MESSAGE}' is malformed: The initial state is missing."
    )


def test_wrong_arguments_to_aggregate_are_malformed(tmp_path: Path) -> None:
    # A habit from the reference's JavaScript: camelCase names.
    message = load_failure(
        tmp_path,
        {
            MESSAGE: aggregate_with(
                "initial_state=State, commandHandlers={}, command_handlers={}, "
                "domain_event_handlers={}"
            )
        },
        AggregateDefinitionMalformed,
    )

    assert message == (
        f"Aggregate definition '{MESSAGE}' is malformed: "
        "Aggregate() got an unexpected keyword argument 'commandHandlers'."
    )


def test_an_initial_state_of_none_is_missing(tmp_path: Path) -> None:
    message = load_failure(
        tmp_path,
        {
            MESSAGE: aggregate_with(
                "initial_state=None, command_handlers={}, domain_event_handlers={}"
            )
        },
        AggregateDefinitionMalformed,
    )

    assert message == (
        f"Aggregate definition '{MESSAGE}' is malformed: The initial state is missing."
    )


def test_an_initial_state_must_be_callable(tmp_path: Path) -> None:
    message = load_failure(
        tmp_path,
        {
            MESSAGE: aggregate_with(
                "initial_state={}, command_handlers={}, domain_event_handlers={}"
            )
        },
        AggregateDefinitionMalformed,
    )

    assert message == (
        f"Aggregate definition '{MESSAGE}' is malformed: The initial state must be callable "
        "(a pydantic model class or a function), not a dict."
    )


def test_a_command_handler_without_handle_is_malformed(tmp_path: Path) -> None:
    message = load_failure(
        tmp_path,
        {
            MESSAGE: (
                HANDLERS,
                """
                class Like(CommandHandler):
                    def is_authorized(self, state, command, services):
                        return True


                aggregate = Aggregate(
                    initial_state=State,
                    command_handlers={"send": Send(), "like": Like()},
                    domain_event_handlers={"sent": Sent()},
                )
                """,
            )
        },
        CommandHandlerMalformed,
    )

    assert message == (
        f"Aggregate definition '{MESSAGE}' is malformed: "
        "Command handler 'like' is malformed: Function 'handle' is missing."
    )


def test_a_handler_class_in_place_of_an_instance_is_malformed(tmp_path: Path) -> None:
    message = load_failure(
        tmp_path,
        {
            MESSAGE: aggregate_with(
                'initial_state=State, command_handlers={"send": Send}, domain_event_handlers={}'
            )
        },
        CommandHandlerMalformed,
    )

    assert message.endswith(
        "Command handler 'send' is malformed: It is the class Send, not an instance: write Send()."
    )


def test_a_handler_of_the_wrong_kind_is_malformed(tmp_path: Path) -> None:
    message = load_failure(
        tmp_path,
        {
            MESSAGE: aggregate_with(
                'initial_state=State, command_handlers={"send": Sent()}, domain_event_handlers={}'
            )
        },
        CommandHandlerMalformed,
    )

    assert message.endswith(
        "Command handler 'send' is malformed: It is a Sent, not a CommandHandler."
    )


def test_handlers_must_be_a_mapping(tmp_path: Path) -> None:
    message = load_failure(
        tmp_path,
        {
            MESSAGE: aggregate_with(
                "initial_state=State, command_handlers=[Send()], domain_event_handlers={}"
            )
        },
        AggregateDefinitionMalformed,
    )

    assert message == (
        f"Aggregate definition '{MESSAGE}' is malformed: "
        "Command handlers must be a mapping of names to handlers, not a list."
    )


def test_a_domain_event_handler_must_not_be_async(tmp_path: Path) -> None:
    # Applying an event is a pure state transition; rehydration never awaits it.
    message = load_failure(
        tmp_path,
        {
            MESSAGE: (
                HANDLERS,
                """
                class Liked(DomainEventHandler):
                    async def handle(self, state, domain_event, services):
                        return state

                    def is_authorized(self, state, domain_event, services):
                        return True


                aggregate = Aggregate(
                    initial_state=State,
                    command_handlers={},
                    domain_event_handlers={"liked": Liked()},
                )
                """,
            )
        },
        DomainEventHandlerMalformed,
    )

    assert message == (
        f"Aggregate definition '{MESSAGE}' is malformed: Domain event handler 'liked' is "
        "malformed: Function 'handle' must not be async: it computes the next state, nothing else."
    )


@pytest.mark.parametrize("event_name", ["sendRejected", "sendFailed"])
def test_reserved_event_names_cannot_be_defined(tmp_path: Path, event_name: str) -> None:
    message = load_failure(
        tmp_path,
        {
            MESSAGE: aggregate_with(
                f'initial_state=State, command_handlers={{"send": Send()}}, '
                f'domain_event_handlers={{"sent": Sent(), "{event_name}": Sent()}}'
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
            MESSAGE: (
                HANDLERS,
                """
                class Opaque:
                    pass


                class OpaqueData(BaseModel):
                    model_config = ConfigDict(arbitrary_types_allowed=True)

                    value: Opaque


                class Store(CommandHandler[State, OpaqueData]):
                    def is_authorized(self, state, command, services):
                        return True

                    def handle(self, state, command, services):
                        pass


                aggregate = Aggregate(
                    initial_state=State,
                    command_handlers={"store": Store()},
                    domain_event_handlers={},
                )
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
                MESSAGE: aggregate_with(
                    'initial_state=State, command_handlers={"send message": Send()}, '
                    "domain_event_handlers={}"
                )
            },
            f"Command name 'send message' in '{MESSAGE}' is invalid",
        ),
        (
            {
                MESSAGE: aggregate_with(
                    "initial_state=State, command_handlers={}, "
                    'domain_event_handlers={"1st": Sent()}'
                )
            },
            f"Domain event name '1st' in '{MESSAGE}' is invalid",
        ),
        (
            {"server/flows/on_sent.py": (FLOW_HANDLER, "flow = Flow({})")},
            "Flow name 'on_sent' in 'server/flows/on_sent.py' is invalid",
        ),
        (
            {"server/views/all-messages.py": (QUERY_HANDLERS, "view = View({})")},
            "View name 'all-messages' in 'server/views/all-messages.py' is invalid",
        ),
        (
            {VIEW: (QUERY_HANDLERS, 'view = View({"all_messages": All()})')},
            f"Query name 'all_messages' in '{VIEW}' is invalid",
        ),
        (
            {"server/notifications.py": "notifications = {'messages.updated': None}"},
            "Notification name 'messages.updated' in 'server/notifications.py' is invalid",
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
            FLOW: (FLOW_HANDLER, f'flow = Flow({{"onSent": OnSent()}}, replay_policy="{policy}")'),
        },
    )

    application = load_application(tmp_path)

    assert application.flows["messages"].replay_policy == policy


def test_an_unknown_replay_policy_fails_the_load(tmp_path: Path) -> None:
    # The reference only notices when a gap occurs; we say so at once.
    message = load_failure(
        tmp_path,
        {FLOW: (FLOW_HANDLER, 'flow = Flow({"onSent": OnSent()}, replay_policy="sometimes")')},
        FlowDefinitionMalformed,
    )

    assert message == (
        f"Flow definition '{FLOW}' is malformed: Replay policy 'sometimes' is invalid: "
        "use 'never', 'on-demand' or 'always'."
    )


def test_a_flow_handler_needs_is_relevant(tmp_path: Path) -> None:
    message = load_failure(
        tmp_path,
        {
            FLOW: (
                FLOW_HANDLER,
                """
                class Everything(FlowHandler):
                    async def handle(self, domain_event, services):
                        pass


                flow = Flow({"onSent": OnSent(), "everything": Everything()})
                """,
            )
        },
        FlowDomainEventHandlerMalformed,
    )

    assert message == (
        f"Flow definition '{FLOW}' is malformed: "
        "Domain event handler 'everything' is malformed: Function 'is_relevant' is missing."
    )


# --- Views ----------------------------------------------------------------------------------------


def test_a_view_has_stream_and_value_queries(tmp_path: Path) -> None:
    write_app(
        tmp_path,
        {
            MESSAGE: AGGREGATE,
            VIEW: (QUERY_HANDLERS, 'view = View({"all": All(), "first": First()})'),
        },
    )

    view = load_application(tmp_path).views["messages"]

    assert {name: handler.query_type for name, handler in view.query_handlers.items()} == {
        "all": "stream",
        "first": "value",
    }


def test_a_query_handler_must_be_a_stream_or_value_handler(tmp_path: Path) -> None:
    message = load_failure(
        tmp_path,
        {
            VIEW: (
                QUERY_HANDLERS,
                """
                class Vague(QueryHandler):
                    def handle(self, options, services):
                        return []

                    def is_authorized(self, item, services):
                        return True


                view = View({"vague": Vague()})
                """,
            )
        },
        QueryHandlerMalformed,
    )

    assert message == (
        f"View definition '{VIEW}' is malformed: Query handler 'vague' is malformed: "
        "It is a Vague, not a StreamQueryHandler or ValueQueryHandler."
    )


def test_a_query_handler_needs_is_authorized(tmp_path: Path) -> None:
    message = load_failure(
        tmp_path,
        {
            VIEW: (
                QUERY_HANDLERS,
                """
                class Open(StreamQueryHandler):
                    def handle(self, options, services):
                        return []


                view = View({"open": Open()})
                """,
            )
        },
        QueryHandlerMalformed,
    )

    assert message.endswith(
        "Query handler 'open' is malformed: Function 'is_authorized' is missing."
    )


def test_a_notification_subscriber_needs_is_relevant(tmp_path: Path) -> None:
    message = load_failure(
        tmp_path,
        {
            VIEW: (
                QUERY_HANDLERS,
                """
                class Refresh(NotificationSubscriber):
                    async def handle(self, data, services):
                        pass


                view = View({"all": All()}, notification_subscribers={"refresh": Refresh()})
                """,
            )
        },
        NotificationSubscriberMalformed,
    )

    assert message == (
        f"View definition '{VIEW}' is malformed: Notification subscriber 'refresh' is "
        "malformed: Function 'is_relevant' is missing."
    )


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


def test_a_notification_handler_needs_is_authorized(tmp_path: Path) -> None:
    message = load_failure(
        tmp_path,
        {
            "server/notifications/__init__.py": """
                from wolkenkit.application.definitions import NotificationHandler


                class Updated(NotificationHandler):
                    pass


                notifications = {"updated": Updated()}
            """
        },
        NotificationHandlerMalformed,
    )

    assert message == (
        "Notifications definition 'server/notifications/__init__.py' is malformed: "
        "Notification handler 'updated' is malformed: Function 'is_authorized' is missing."
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
