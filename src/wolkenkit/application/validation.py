"""Checking the shape of what an app's modules define, before anything runs it.

Each ``validate_*`` function takes an imported module and the file it came from (relative to
the app's root) and returns the definition it holds, or raises the kind's error. Every message
is one line: "<Kind> definition '<file>' is malformed: <what is wrong>". A malformed handler
raises the handler's own error class (``CommandHandlerMalformed``, ...) with the same message.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any, NoReturn, get_args

from pydantic import BaseModel, PydanticUserError

from wolkenkit.application.application import Hooks, InfrastructureDefinition
from wolkenkit.application.definitions import (
    Aggregate,
    CommandHandler,
    DomainEventHandler,
    Flow,
    FlowHandler,
    NotificationHandler,
    Notifications,
    NotificationSubscriber,
    StreamQueryHandler,
    ValueQueryHandler,
    View,
)
from wolkenkit.application.json_schema import SchemaMode, json_schema
from wolkenkit.application.system_events import reserved_event_names_used
from wolkenkit.application.tables import Table
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
    TableDefinitionMalformed,
    ViewDefinitionMalformed,
)
from wolkenkit.messages import NAME_PATTERN, ReplayPolicy

HOOK_NAMES = (
    "adding_file",
    "added_file",
    "getting_file",
    "got_file",
    "removing_file",
    "removed_file",
)
INFRASTRUCTURE_FUNCTIONS = ("get_infrastructure", "setup_infrastructure")

_NAME = re.compile(NAME_PATTERN)
#: As the view store takes them (``wolkenkit.stores.view_store.TableDefinition``).
_TABLE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,47}$")
_MISSING = object()


def check_name(name: object, what: str, file: str) -> str:
    """``name`` if it can be used in URLs and GraphQL, else ``NameInvalid``."""
    if not isinstance(name, str) or not _NAME.match(name):
        raise NameInvalid(
            f"{what.capitalize()} name '{name}' in '{file}' is invalid: "
            "a name starts with a letter and has only letters and digits."
        )
    return name


class _Definition:
    """One module being checked: knows how to word and raise its errors."""

    def __init__(self, kind: str, file: str, error: type[ApplicationError]) -> None:
        self.kind = kind
        self.file = file
        self.error = error

    def malformed(self, detail: str, error: type[ApplicationError] | None = None) -> NoReturn:
        raise (error or self.error)(f"{self.kind} definition '{self.file}' is malformed: {detail}")

    def attribute(self, module: ModuleType, name: str, expected: type[Any]) -> Any:
        value = getattr(module, name, _MISSING)
        if value is _MISSING:
            self.malformed(f"Attribute '{name}' is missing.")
        if not isinstance(value, expected):
            self.malformed(f"Attribute '{name}' is {_a(value)}, not {_a_type(expected)}.")
        return value

    def functions(
        self,
        module: ModuleType,
        names: tuple[str, ...],
        is_valid: Callable[[object], bool],
        requirement: str,
    ) -> dict[str, Any]:
        """The module's optional functions among ``names``; each present must be valid."""
        found: dict[str, Any] = {}
        for name in names:
            function = getattr(module, name, None)
            if function is None:
                continue
            if not is_valid(function):
                self.malformed(requirement.format(name=name, value=_a(function)))
            found[name] = function
        return found

    def mapping(self, value: object, what: str) -> Mapping[Any, Any]:
        if not isinstance(value, Mapping):
            self.malformed(f"{what} must be a mapping of names to handlers, not {_a(value)}.")
        return value

    def handler(
        self,
        handler: object,
        label: str,
        name: object,
        bases: tuple[type[Any], ...],
        error: type[ApplicationError],
    ) -> None:
        """Checks that ``handler`` is an instance of one of ``bases`` with its methods."""

        def fail(detail: str) -> NoReturn:
            self.malformed(f"{label} '{name}' is malformed: {detail}", error)

        # Names of flow handlers and notification subscribers are free labels, checked only here.
        if not isinstance(name, str) or not name:
            self.malformed(f"{label} name {name!r} must be a non-empty string.", error)

        expected = " or ".join(base.__name__ for base in bases)
        if isinstance(handler, type):
            # An easy slip: ``{"send": Send}`` instead of ``{"send": Send()}``.
            fail(
                f"It is the class {handler.__name__}, not an instance: write {handler.__name__}()."
            )
        if not isinstance(handler, bases):
            fail(f"It is {_a(handler)}, not {_a_type_name(expected)}.")
        for method in type(handler).missing_methods():
            fail(f"Function '{method}' is missing.")
        # A handler function reads its signature now, so a wrong one fails the load.
        bind = getattr(handler, "bind", None)
        if callable(bind):
            bind()
        for schema, mode in _schemas(handler):
            try:
                json_schema(schema, mode)
            except PydanticUserError as problem:
                fail(f"Schema {schema.__name__} has no JSON Schema: {problem.message}")


def _schemas(handler: object) -> list[tuple[type[BaseModel], SchemaMode]]:
    getters: list[tuple[Callable[[], type[BaseModel] | None], SchemaMode]] = []
    if isinstance(handler, CommandHandler | DomainEventHandler):
        getters.append((handler.data_schema, "validation"))
    if isinstance(handler, NotificationHandler):
        getters += [(handler.data_schema, "validation"), (handler.metadata_schema, "validation")]
    if isinstance(handler, StreamQueryHandler | ValueQueryHandler):
        getters += [(handler.options_schema, "validation"), (handler.item_schema, "serialization")]
    return [(schema, mode) for getter, mode in getters if (schema := getter()) is not None]


def validate_aggregate(module: ModuleType, file: str) -> Aggregate[Any]:
    """The module's ``aggregate``; its handlers and names checked."""
    definition = _Definition("Aggregate", file, AggregateDefinitionMalformed)
    aggregate: Aggregate[Any] = definition.attribute(module, "aggregate", Aggregate)
    if aggregate.initial_state is None:
        definition.malformed("The initial state is missing.")
    if not callable(aggregate.initial_state):
        definition.malformed(
            "The initial state must be callable (a pydantic model class or a function), "
            f"not {_a(aggregate.initial_state)}."
        )
    commands = definition.mapping(aggregate.command_handlers, "Command handlers")
    for name, handler in commands.items():
        check_name(name, "command", file)
        definition.handler(
            handler, "Command handler", name, (CommandHandler,), CommandHandlerMalformed
        )
    events = definition.mapping(aggregate.domain_event_handlers, "Domain event handlers")
    for name, handler in events.items():
        check_name(name, "domain event", file)
        definition.handler(
            handler,
            "Domain event handler",
            name,
            (DomainEventHandler,),
            DomainEventHandlerMalformed,
        )
        if _is_async(type(handler).handle):
            definition.malformed(
                f"Domain event handler '{name}' is malformed: "
                "Function 'handle' must not be async: it computes the next state, nothing else.",
                DomainEventHandlerMalformed,
            )
    reserved = reserved_event_names_used(aggregate)
    if reserved:
        raise DomainEventAlreadyExists(
            f"Reserved domain event name '{reserved[0]}' used in '{file}'."
        )
    return aggregate


def validate_flow(module: ModuleType, file: str) -> Flow:
    """The module's ``flow``; its replay policy and handlers checked."""
    definition = _Definition("Flow", file, FlowDefinitionMalformed)
    flow: Flow = definition.attribute(module, "flow", Flow)
    if flow.replay_policy not in get_args(ReplayPolicy):
        definition.malformed(
            f"Replay policy '{flow.replay_policy}' is invalid: "
            "use 'never', 'on-demand' or 'always'."
        )
    handlers = definition.mapping(flow.domain_event_handlers, "Domain event handlers")
    for name, handler in handlers.items():
        definition.handler(
            handler, "Domain event handler", name, (FlowHandler,), FlowDomainEventHandlerMalformed
        )
    return flow


def validate_view(module: ModuleType, file: str) -> View:
    """The module's ``view``; its query handlers and notification subscribers checked."""
    definition = _Definition("View", file, ViewDefinitionMalformed)
    view: View = definition.attribute(module, "view", View)
    queries = definition.mapping(view.query_handlers, "Query handlers")
    for name, handler in queries.items():
        check_name(name, "query", file)
        definition.handler(
            handler,
            "Query handler",
            name,
            (StreamQueryHandler, ValueQueryHandler),
            QueryHandlerMalformed,
        )
    subscribers = definition.mapping(view.notification_subscribers, "Notification subscribers")
    for name, subscriber in subscribers.items():
        definition.handler(
            subscriber,
            "Notification subscriber",
            name,
            (NotificationSubscriber,),
            NotificationSubscriberMalformed,
        )
    return view


def validate_notifications(
    module: ModuleType, file: str
) -> dict[str, NotificationHandler[Any, Any]]:
    """The module's ``notifications``: a mapping of names to notification handlers."""
    definition = _Definition("Notifications", file, NotificationsDefinitionMalformed)
    handlers = definition.attribute(module, "notifications", Mapping)
    if isinstance(handlers, Notifications):
        handlers.bind()
    for name, handler in handlers.items():
        check_name(name, "notification", file)
        definition.handler(
            handler,
            "Notification handler",
            name,
            (NotificationHandler,),
            NotificationHandlerMalformed,
        )
    return dict(handlers)


def validate_hooks(module: ModuleType, file: str) -> Hooks:
    """The file hooks the module defines; each one present must be a function."""
    definition = _Definition("Hooks", file, HooksDefinitionMalformed)
    hooks = definition.functions(
        module, HOOK_NAMES, callable, "Hook '{name}' must be a function, not {value}."
    )
    return Hooks(**hooks)


def validate_infrastructure(module: ModuleType, file: str) -> InfrastructureDefinition:
    """``get_infrastructure`` and ``setup_infrastructure``, where defined; both must be async."""
    definition = _Definition("Infrastructure", file, InfrastructureDefinitionMalformed)
    functions = definition.functions(
        module,
        INFRASTRUCTURE_FUNCTIONS,
        _is_async,
        "Function '{name}' must be async (async def {name}(services)), not {value}.",
    )
    return InfrastructureDefinition(**functions)


def validate_tables(module: ModuleType, file: str) -> dict[str, Table[Any]]:
    """The module's ``Table`` attributes, named by their attribute; each builds its store
    definition now, and no two hold one model (a handler names its table by model)."""
    definition = _Definition("Tables", file, TableDefinitionMalformed)
    tables: dict[str, Table[Any]] = {}
    by_model: dict[type[BaseModel], str] = {}
    for name, value in vars(module).items():
        if not isinstance(value, Table):
            continue
        if not _TABLE_NAME.match(name):
            definition.malformed(
                f"Table name '{name}' is invalid: a name starts with a letter and has only "
                "letters, digits and '_', at most 48 characters."
            )
        try:
            value.definition(name)
        except TableDefinitionMalformed as error:
            definition.malformed(f"Table '{name}' is malformed: {error.message}")
        other = by_model.get(value.model)
        if other is not None:
            definition.malformed(
                f"Tables '{other}' and '{name}' both hold {value.model.__name__}: handlers ask "
                f"for a table by its model (Rows[{value.model.__name__}]), so give each table a "
                "model of its own."
            )
        by_model[value.model] = name
        tables[name] = value
    return tables


def _is_async(function: object) -> bool:
    return inspect.iscoroutinefunction(function) or inspect.isasyncgenfunction(function)


def _a(value: object) -> str:
    if value is None:
        return "None"
    return _a_type_name(type(value).__name__)


def _a_type(cls: type[Any]) -> str:
    return _a_type_name(cls.__name__)


def _a_type_name(name: str) -> str:
    article = "an" if name[:1].lower() in "aeiou" else "a"
    return f"{article} {name}"
