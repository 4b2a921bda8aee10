"""What an application is made of: aggregates, flows, views and notifications, whose
handlers are plain functions registered with decorators (see ``Aggregate``, ``Flow``,
``View`` and ``Notifications``)::

    aggregate = Aggregate(Message, authorize=Everyone)

    @aggregate.command
    def send(command: Send) -> Sent:
        \"\"\"Sends a new message.\"\"\"
        return Sent(text=command.text)

The handler classes below (``CommandHandler``, ...) are the engine's view of a handler: each
decorator wraps its function in an adapter of that kind (``wolkenkit.application.functions``).
Apps do not subclass them.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Generic, Literal, overload

from pydantic import BaseModel, ConfigDict
from typing_extensions import TypeVar

from wolkenkit.application.policies import Policy
from wolkenkit.application.services import (
    CommandAuthorizationServices,
    CommandServices,
    DomainEventAuthorizationServices,
    DomainEventServices,
    FlowServices,
    NotificationAuthorizationServices,
    NotificationSubscriberServices,
    QueryAuthorizationServices,
    QueryServices,
)
from wolkenkit.application.signatures import caller, where, wire_name
from wolkenkit.errors import NameInvalid
from wolkenkit.messages import (
    CommandWithMetadata,
    DomainEvent,
    DomainEventWithState,
    ItemIdentifier,
    ReplayPolicy,
)

if TYPE_CHECKING:
    from wolkenkit.application.upcasters import FunctionUpcaster

StateT = TypeVar("StateT", default=Any)
DataT = TypeVar("DataT", default=dict[str, Any])
OptionsT = TypeVar("OptionsT", default=dict[str, Any])
ItemT = TypeVar("ItemT", default=dict[str, Any])
MetadataT = TypeVar("MetadataT", default=dict[str, Any])

MaybeAwaitable = Awaitable[Any] | Any
#: A handler function, which the decorators return unchanged.
HandlerT = TypeVar("HandlerT", bound=Callable[..., Any])
#: An event's data model declared as the event itself (``@aggregate.event class Sent``).
EventModelT = TypeVar("EventModelT", bound=type[BaseModel])


_SCHEMA_ARGUMENTS: dict[tuple[type, type], tuple[type[BaseModel] | None, ...]] = {}


def _schema_arguments(cls: type, generic_base: type) -> tuple[type[BaseModel] | None, ...]:
    """The pydantic models among ``cls``'s parameters of ``generic_base``, position by position.

    ``class Send(CommandHandler[State, SendData])`` gives ``(State, SendData)``; a parameter
    that is not a pydantic model (``dict``, a TypeVar) gives ``None``: no schema. Remembered
    per class, since the runtime asks on hot paths.
    """
    key = (cls, generic_base)
    found = _SCHEMA_ARGUMENTS.get(key)
    if found is None:
        found = _SCHEMA_ARGUMENTS[key] = _find_schema_arguments(cls, generic_base)
    return found


def _find_schema_arguments(cls: type, generic_base: type) -> tuple[type[BaseModel] | None, ...]:
    for klass in cls.__mro__:
        for base in getattr(klass, "__orig_bases__", ()):
            origin = typing.get_origin(base) or base
            if isinstance(origin, type) and issubclass(origin, generic_base):
                arguments = typing.get_args(base)
                if arguments:
                    return tuple(
                        argument
                        if isinstance(argument, type) and issubclass(argument, BaseModel)
                        else None
                        for argument in arguments
                    )
    return ()


def _documentation(cls: type) -> str | None:
    """The class's own docstring, cleaned; base-class docstrings do not count."""
    doc = cls.__dict__.get("__doc__")
    return inspect.cleandoc(doc) if doc else None


class Schema(BaseModel):
    """A pydantic model that accepts exactly the fields it declares, and nothing else: the
    usual base of commands', events' and notifications' data.

    An event's model says which version of its data it is, 1 unless it says otherwise::

        class Sent(Schema, version=2):
            text: str

    Events are stored with the version they were written with; upcasters
    (``Aggregate.upcaster``) lift older ones to the current version whenever they are read.
    """

    model_config = ConfigDict(extra="forbid")
    __wolkenkit_version__: ClassVar[int] = 1

    def __init_subclass__(cls, *, version: int = 1, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if isinstance(version, bool) or not isinstance(version, int) or version < 1:
            raise TypeError(
                f"{cls.__name__}'s version must be a whole number from 1 on, not {version!r}."
            )
        cls.__wolkenkit_version__ = version


def version_of(model: type[Any] | None) -> int:
    """The version a data model declares (``class Sent(Schema, version=2)``); 1 for any other
    model, and for data without one."""
    return int(getattr(model, "__wolkenkit_version__", 1))


class _Handler:
    """Shared plumbing: documentation from the docstring, schemas from generic parameters."""

    #: Names of the methods the reference requires; the loader reports any not overridden.
    required_methods: ClassVar[tuple[str, ...]] = ()

    def documentation(self) -> str | None:
        return _documentation(type(self))

    @classmethod
    def missing_methods(cls) -> list[str]:
        """Required methods a subclass did not implement."""
        missing = []
        for name in cls.required_methods:
            implementation = getattr(cls, name, None)
            if not callable(implementation) or getattr(implementation, "_wolkenkit_stub", False):
                missing.append(name)
        return missing


def _stub(function: Callable[..., Any]) -> Callable[..., Any]:
    """Marks a base-class method that subclasses must override."""
    function._wolkenkit_stub = True  # type: ignore[attr-defined]
    return function


class CommandHandler(_Handler, Generic[StateT, DataT]):
    """Handles one command of an aggregate. ``DataT`` is the command's data schema."""

    required_methods = ("is_authorized", "handle")

    def data_schema(self) -> type[BaseModel] | None:
        arguments = _schema_arguments(type(self), CommandHandler)
        return arguments[1] if len(arguments) > 1 else None

    @_stub
    def is_authorized(
        self,
        state: StateT,
        command: CommandWithMetadata[DataT],
        services: CommandAuthorizationServices,
    ) -> bool | Awaitable[bool]:
        """Whether the command's client may send it; ``False`` rejects the command."""
        raise NotImplementedError

    @_stub
    def handle(
        self,
        state: StateT,
        command: CommandWithMetadata[DataT],
        services: CommandServices[StateT],
    ) -> Awaitable[None] | None:
        """Decide: publish events with ``services.aggregate``, or raise ``CommandRejected``."""
        raise NotImplementedError


class DomainEventHandler(_Handler, Generic[StateT, DataT]):
    """Applies one event of an aggregate to its state. ``DataT`` is the event's data schema."""

    required_methods = ("handle", "is_authorized")

    def data_schema(self) -> type[BaseModel] | None:
        arguments = _schema_arguments(type(self), DomainEventHandler)
        return arguments[1] if len(arguments) > 1 else None

    @_stub
    def handle(
        self, state: StateT, domain_event: DomainEvent[DataT], services: DomainEventServices
    ) -> StateT | Mapping[str, Any]:
        """Return the next state, or a mapping of the fields that change (a shallow merge)."""
        raise NotImplementedError

    @_stub
    def is_authorized(
        self,
        state: StateT,
        domain_event: DomainEventWithState[DataT],
        services: DomainEventAuthorizationServices,
    ) -> bool | Awaitable[bool]:
        """Whether a client may receive this event on the live streams."""
        raise NotImplementedError

    def filter(
        self,
        state: StateT,
        domain_event: DomainEventWithState[DataT],
        services: DomainEventAuthorizationServices,
    ) -> bool | Awaitable[bool]:
        """Whether to deliver the event to this client; by default always."""
        return True

    def map(
        self,
        state: StateT,
        domain_event: DomainEventWithState[DataT],
        services: DomainEventAuthorizationServices,
    ) -> DomainEventWithState[DataT] | Awaitable[DomainEventWithState[DataT]]:
        """Change the event for this client before delivery; by default unchanged."""
        return domain_event

    def has_filter(self) -> bool:
        """Whether ``filter`` does anything: delivery skips it otherwise."""
        return type(self).filter is not DomainEventHandler.filter

    def has_map(self) -> bool:
        """Whether ``map`` does anything: delivery skips it otherwise."""
        return type(self).map is not DomainEventHandler.map


@dataclass
class Aggregate(Generic[StateT]):
    """An aggregate: its state, and the functions that handle its commands and events.

    ``initial_state`` is called for every new instance: a pydantic model class or any
    function returning a model or a ``dict``. ``authorize`` says who may send its commands
    and receive its events unless a handler says otherwise::

        aggregate = Aggregate(Message, authorize=Everyone)

        @aggregate.event
        class Sent(Schema):
            text: str

        @aggregate.command
        def send(message: Message, command: Send) -> Sent:
            return Sent(text=command.text)

        @aggregate.event
        def liked(message: Message, event: Liked) -> Message:
            return message.model_copy(update={"likes": message.likes + 1})

    An event whose data is what changes in the state is declared by its model's class (its
    fields are copied into the state); any other event by a handler function.
    """

    initial_state: Callable[[], StateT]
    command_handlers: dict[str, CommandHandler[StateT, Any]] = field(default_factory=dict)
    domain_event_handlers: dict[str, DomainEventHandler[StateT, Any]] = field(default_factory=dict)
    authorize: Policy | None = field(default=None, kw_only=True)
    #: What lifts old versions of the events' data, in the order they were declared.
    upcasters: list[FunctionUpcaster] = field(default_factory=list, kw_only=True)

    @property
    def state_type(self) -> type[Any] | None:
        """The state's class: ``initial_state`` itself, or the class its return annotation
        names; ``None`` when nothing says (a lambda returning a dict)."""
        if isinstance(self.initial_state, type):
            return self.initial_state
        try:
            returned = typing.get_type_hints(self.initial_state).get("return")
        except Exception:
            return None
        found = typing.get_origin(returned) or returned
        return found if isinstance(found, type) else None

    @overload
    def command(self, function: HandlerT, /) -> HandlerT: ...

    @overload
    def command(
        self, function: None = None, /, *, name: str | None = None, authorize: Policy | None = None
    ) -> Callable[[HandlerT], HandlerT]: ...

    def command(
        self,
        function: HandlerT | None = None,
        /,
        *,
        name: str | None = None,
        authorize: Policy | None = None,
    ) -> HandlerT | Callable[[HandlerT], HandlerT]:
        """Registers a command handler; its name is the function's, in camelCase."""
        from wolkenkit.application.functions import FunctionCommandHandler

        def register(function: HandlerT) -> HandlerT:
            handler = FunctionCommandHandler(function, self, authorize)
            _add(self.command_handlers, name or wire_name(function.__name__), handler, function)
            return function

        return register if function is None else register(function)

    @overload
    def event(self, model: EventModelT, /) -> EventModelT: ...

    @overload
    def event(self, function: HandlerT, /) -> HandlerT: ...

    @overload
    def event(
        self,
        declared: None = None,
        /,
        *,
        name: str | None = None,
        authorize: Policy | None = None,
        filter: Callable[..., Any] | None = None,
        map: Callable[..., Any] | None = None,
    ) -> Callable[[HandlerT], HandlerT]: ...

    def event(
        self,
        declared: HandlerT | None = None,
        /,
        *,
        name: str | None = None,
        authorize: Policy | None = None,
        filter: Callable[..., Any] | None = None,
        map: Callable[..., Any] | None = None,
    ) -> HandlerT | Callable[[HandlerT], HandlerT]:
        """Registers an event, by its handler function or by its data model's class.

        A handler function's name is the event's, in camelCase, and the model its event
        parameter names is the event's data. A model class is the event's data itself: its
        name in camelCase is the event's (``MarkedDone`` gives ``markedDone``), its docstring
        the documentation, and applying the event copies its fields into the state. Either
        way, a command handler that returns the model publishes this event, and the function
        or class comes back unchanged. ``filter`` and ``map`` shape live delivery."""
        from wolkenkit.application.event_classes import fields_copier
        from wolkenkit.application.functions import FunctionDomainEventHandler

        def register(declared: HandlerT) -> HandlerT:
            function: Callable[..., Any] = (
                fields_copier(declared, self.state_type) if isinstance(declared, type) else declared
            )
            handler = FunctionDomainEventHandler(function, self, authorize, filter, map)
            _add(
                self.domain_event_handlers, name or wire_name(declared.__name__), handler, function
            )
            return declared

        return register if declared is None else register(declared)

    def upcaster(
        self, model: type[BaseModel], *, from_version: int
    ) -> Callable[[HandlerT], HandlerT]:
        """Registers a function that lifts the stored data of ``model``'s event from
        ``from_version`` to the next version. It asks for the data (``dict[str, Any]``) and,
        if it needs it, the event's ``DomainEventMetadata``, and returns the next version's
        data. Every read of an older event runs the chain up to the model's version."""
        from wolkenkit.application.upcasters import FunctionUpcaster

        def register(function: HandlerT) -> HandlerT:
            self.upcasters.append(FunctionUpcaster(function, model, from_version))
            return function

        return register

    def event_name_of(self, model: type[Any]) -> str | None:
        """The name of the event whose handler takes ``model`` as its data."""
        handlers = self.domain_event_handlers.items()
        return name_of(model, {name: getattr(h, "model", None) for name, h in handlers})

    def command_name_of(self, model: type[Any]) -> str | None:
        """The name of the command whose handler takes ``model`` as its data."""
        handlers = self.command_handlers.items()
        return name_of(model, {name: handler.data_schema() for name, handler in handlers})


def name_of(model: type[Any], models: Mapping[str, type[Any] | None]) -> str | None:
    """The name under which ``models`` has ``model``."""
    for name, found in models.items():
        if found is model:
            return name
    # The same class from a second import of the app's module (a test imported it before
    # the app was loaded, and the loader imports the app afresh).
    for name, found in models.items():
        if found is not None and (found.__module__, found.__qualname__) == (
            model.__module__,
            model.__qualname__,
        ):
            return name
    return None


def _add(handlers: dict[str, Any], name: str, handler: Any, function: Callable[..., Any]) -> None:
    if name in handlers:
        raise NameInvalid(f"Handler '{name}' ({where(function)}) is defined twice: each name once.")
    handlers[name] = handler


class FlowHandler(_Handler):
    """Reacts to domain events in a flow."""

    required_methods = ("is_relevant", "handle")

    @_stub
    def is_relevant(self, fully_qualified_name: str, item_identifier: ItemIdentifier) -> bool:
        """Whether this handler handles the event ``<context>.<aggregate>.<event>``."""
        raise NotImplementedError

    @_stub
    def handle(self, domain_event: DomainEvent, services: FlowServices) -> Awaitable[None] | None:
        raise NotImplementedError


@dataclass
class Flow:
    """Reacts to domain events, in order per aggregate, with tracked progress::

        flow = Flow(replay_policy="always")

        @flow.on(Sent)
        async def add_message(event: DomainEvent[Sent], notification: NotificationService) -> None:
            ...

    ``replay_policy`` says what happens when the flow sees a gap in an aggregate's events:
    ``never`` skips it, ``on-demand`` waits for a replay, ``always`` replays the gap itself.
    """

    domain_event_handlers: dict[str, FlowHandler] = field(default_factory=dict)
    replay_policy: ReplayPolicy = "never"

    def on(self, event: type[BaseModel] | str) -> Callable[[HandlerT], HandlerT]:
        """Registers a handler for one event: its data model, or its full name
        (``"communication.message.sent"``)."""
        from wolkenkit.application.functions import FunctionFlowHandler

        def register(function: HandlerT) -> HandlerT:
            handler = FunctionFlowHandler(function, event)
            _add(self.domain_event_handlers, function.__name__, handler, function)
            return function

        return register


class QueryHandler(_Handler, Generic[OptionsT, ItemT]):
    """Base of the two query kinds. ``OptionsT`` and ``ItemT`` are the schemas."""

    query_type: ClassVar[Literal["stream", "value"]]
    required_methods = ("handle", "is_authorized")

    def options_schema(self) -> type[BaseModel] | None:
        arguments = _schema_arguments(type(self), QueryHandler)
        return arguments[0] if arguments else None

    def item_schema(self) -> type[BaseModel] | None:
        arguments = _schema_arguments(type(self), QueryHandler)
        return arguments[1] if len(arguments) > 1 else None

    @_stub
    def is_authorized(
        self, item: ItemT, services: QueryAuthorizationServices
    ) -> bool | Awaitable[bool]:
        """Whether the client may see this item (dropped from streams, 404 for values)."""
        raise NotImplementedError


class StreamQueryHandler(QueryHandler[OptionsT, ItemT], Generic[OptionsT, ItemT]):
    """A query answered with a stream of items."""

    query_type = "stream"

    @_stub
    def handle(
        self, options: OptionsT, services: QueryServices
    ) -> AsyncIterable[ItemT] | Iterable[ItemT] | Awaitable[AsyncIterable[ItemT] | Iterable[ItemT]]:
        raise NotImplementedError


class ValueQueryHandler(QueryHandler[OptionsT, ItemT], Generic[OptionsT, ItemT]):
    """A query answered with one item; raise ``NotFound`` when there is none."""

    query_type = "value"

    @_stub
    def handle(self, options: OptionsT, services: QueryServices) -> ItemT | Awaitable[ItemT]:
        raise NotImplementedError


class NotificationSubscriber(_Handler):
    """Lets a view react to notifications, for example to tell its clients to refresh."""

    required_methods = ("is_relevant", "handle")

    @_stub
    def is_relevant(self, name: str) -> bool:
        raise NotImplementedError

    @_stub
    def handle(
        self, data: dict[str, Any], services: NotificationSubscriberServices
    ) -> Awaitable[None] | None:
        raise NotImplementedError


@dataclass
class View:
    """A read model: queries, and subscribers to notifications::

    view = View(authorize=Everyone)

    @view.stream
    async def all(infrastructure: Infrastructure[Store, None]) -> list[Message]:
        ...
    """

    query_handlers: dict[str, QueryHandler[Any, Any]] = field(default_factory=dict)
    notification_subscribers: dict[str, NotificationSubscriber] = field(default_factory=dict)
    authorize: Policy | None = field(default=None, kw_only=True)

    @overload
    def stream(self, function: HandlerT, /) -> HandlerT: ...

    @overload
    def stream(
        self, function: None = None, /, *, name: str | None = None, authorize: Policy | None = None
    ) -> Callable[[HandlerT], HandlerT]: ...

    def stream(
        self,
        function: HandlerT | None = None,
        /,
        *,
        name: str | None = None,
        authorize: Policy | None = None,
    ) -> HandlerT | Callable[[HandlerT], HandlerT]:
        """Registers a query answered with a stream of items (it returns or yields them)."""
        return self._query("stream", function, name, authorize)

    @overload
    def value(self, function: HandlerT, /) -> HandlerT: ...

    @overload
    def value(
        self, function: None = None, /, *, name: str | None = None, authorize: Policy | None = None
    ) -> Callable[[HandlerT], HandlerT]: ...

    def value(
        self,
        function: HandlerT | None = None,
        /,
        *,
        name: str | None = None,
        authorize: Policy | None = None,
    ) -> HandlerT | Callable[[HandlerT], HandlerT]:
        """Registers a query answered with one item; raise ``NotFound`` when there is none."""
        return self._query("value", function, name, authorize)

    def on(self, notification: type[BaseModel] | str) -> Callable[[HandlerT], HandlerT]:
        """Registers a subscriber to one notification: its model, or its name."""
        from wolkenkit.application.functions import FunctionNotificationSubscriber

        def register(function: HandlerT) -> HandlerT:
            subscriber = FunctionNotificationSubscriber(function, notification)
            _add(self.notification_subscribers, function.__name__, subscriber, function)
            return function

        return register

    def _query(
        self,
        kind: Literal["stream", "value"],
        function: HandlerT | None,
        name: str | None,
        authorize: Policy | None,
    ) -> HandlerT | Callable[[HandlerT], HandlerT]:
        from wolkenkit.application.functions import (
            FunctionStreamQueryHandler,
            FunctionValueQueryHandler,
        )

        adapter = FunctionStreamQueryHandler if kind == "stream" else FunctionValueQueryHandler

        def register(function: HandlerT) -> HandlerT:
            handler = adapter(function, lambda: self.authorize, authorize)  # type: ignore[call-arg]
            _add(self.query_handlers, name or wire_name(function.__name__), handler, function)
            return function

        return register if function is None else register(function)


class NotificationHandler(_Handler, Generic[DataT, MetadataT]):
    """Defines one notification: its schemas and who may receive it."""

    required_methods = ("is_authorized",)

    def data_schema(self) -> type[BaseModel] | None:
        arguments = _schema_arguments(type(self), NotificationHandler)
        return arguments[0] if arguments else None

    def metadata_schema(self) -> type[BaseModel] | None:
        arguments = _schema_arguments(type(self), NotificationHandler)
        return arguments[1] if len(arguments) > 1 else None

    @_stub
    def is_authorized(
        self, data: DataT, metadata: MetadataT | None, services: NotificationAuthorizationServices
    ) -> bool | Awaitable[bool]:
        raise NotImplementedError


class Notifications(dict[str, NotificationHandler[Any, Any]]):
    """The app's notifications, one data model each; a model's name in camelCase is the
    notification's name and its docstring the documentation::

        notifications = Notifications(MessagesUpdated, authorize=Everyone)

    Publish one as ``await notification.publish(MessagesUpdated())``."""

    def __init__(self, *models: type[BaseModel], authorize: Policy | None = None) -> None:

        super().__init__()
        self.authorize = authorize
        for model in models:
            self._define(model, None, caller())

    def define(
        self,
        model: type[BaseModel],
        *,
        authorize: Policy | None = None,
        metadata: type[BaseModel] | None = None,
    ) -> None:
        """Adds one notification, with a policy of its own and a metadata model if given."""
        self._define(model, authorize, caller(), metadata)

    def _define(
        self,
        model: type[BaseModel],
        authorize: Policy | None,
        defined_at: str,
        metadata: type[BaseModel] | None = None,
    ) -> None:
        from wolkenkit.application.functions import ModelNotification

        name = wire_name(model.__name__)
        if name in self:
            raise NameInvalid(
                f"Notification '{name}' ({defined_at}) is defined twice: each model once."
            )
        self[name] = ModelNotification(model, authorize, defined_at, metadata)

    def bind(self) -> None:
        """Checks that each notification has a policy; run by the loader."""
        from wolkenkit.application.functions import ModelNotification

        for handler in self.values():
            if isinstance(handler, ModelNotification):
                handler.bind_policy(self.authorize)
