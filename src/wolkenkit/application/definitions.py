"""What an application is made of: the classes application authors subclass and instantiate.

A handler is a class. Its generic parameters are its schemas, its docstring is its
documentation, and its methods are the reference's callbacks in snake_case::

    class Send(CommandHandler[MessageState, SendData]):
        \"\"\"Sends a new message.\"\"\"

        def is_authorized(self, state, command, services) -> bool:
            return True

        def handle(self, state, command, services) -> None:
            services.aggregate.publish_domain_event("sent", SentData(text=command.data.text))

Every method may be ``async`` except ``DomainEventHandler.handle``, which is a pure state
transition. The loader checks the shape of everything and names the file when it is wrong.
"""

from __future__ import annotations

import inspect
import typing
from collections.abc import AsyncIterable, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, Literal

from pydantic import BaseModel
from typing_extensions import TypeVar

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
from wolkenkit.messages import (
    CommandWithMetadata,
    DomainEvent,
    DomainEventWithState,
    ItemIdentifier,
    ReplayPolicy,
)

StateT = TypeVar("StateT", default=Any)
DataT = TypeVar("DataT", default=dict[str, Any])
OptionsT = TypeVar("OptionsT", default=dict[str, Any])
ItemT = TypeVar("ItemT", default=dict[str, Any])
MetadataT = TypeVar("MetadataT", default=dict[str, Any])

MaybeAwaitable = Awaitable[Any] | Any


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


class _Handler:
    """Shared plumbing: documentation from the docstring, schemas from generic parameters."""

    #: Names of the methods the reference requires; the loader reports any not overridden.
    required_methods: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def documentation(cls) -> str | None:
        return _documentation(cls)

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

    @classmethod
    def data_schema(cls) -> type[BaseModel] | None:
        arguments = _schema_arguments(cls, CommandHandler)
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

    @classmethod
    def data_schema(cls) -> type[BaseModel] | None:
        arguments = _schema_arguments(cls, DomainEventHandler)
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


@dataclass
class Aggregate(Generic[StateT]):
    """An aggregate: its initial state and its command and domain-event handlers.

    ``initial_state`` is called for every new instance: a pydantic model class or any
    function returning a model or a ``dict``.
    """

    initial_state: Callable[[], StateT]
    command_handlers: Mapping[str, CommandHandler[StateT, Any]]
    domain_event_handlers: Mapping[str, DomainEventHandler[StateT, Any]]


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
    """Reacts to domain events, in order per aggregate, with tracked progress.

    ``replay_policy`` says what happens when the flow sees a gap in an aggregate's events:
    ``never`` skips it, ``on-demand`` waits for a replay, ``always`` replays the gap itself.
    """

    domain_event_handlers: Mapping[str, FlowHandler]
    replay_policy: ReplayPolicy = "never"


class QueryHandler(_Handler, Generic[OptionsT, ItemT]):
    """Base of the two query kinds. ``OptionsT`` and ``ItemT`` are the schemas."""

    query_type: ClassVar[Literal["stream", "value"]]
    required_methods = ("handle", "is_authorized")

    @classmethod
    def options_schema(cls) -> type[BaseModel] | None:
        arguments = _schema_arguments(cls, QueryHandler)
        return arguments[0] if arguments else None

    @classmethod
    def item_schema(cls) -> type[BaseModel] | None:
        arguments = _schema_arguments(cls, QueryHandler)
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
    """A read model: queries, and subscribers to notifications."""

    query_handlers: Mapping[str, QueryHandler[Any, Any]]
    notification_subscribers: Mapping[str, NotificationSubscriber] = field(default_factory=dict)


class NotificationHandler(_Handler, Generic[DataT, MetadataT]):
    """Defines one notification: its schemas and who may receive it."""

    required_methods = ("is_authorized",)

    @classmethod
    def data_schema(cls) -> type[BaseModel] | None:
        arguments = _schema_arguments(cls, NotificationHandler)
        return arguments[0] if arguments else None

    @classmethod
    def metadata_schema(cls) -> type[BaseModel] | None:
        arguments = _schema_arguments(cls, NotificationHandler)
        return arguments[1] if len(arguments) > 1 else None

    @_stub
    def is_authorized(
        self, data: DataT, metadata: MetadataT | None, services: NotificationAuthorizationServices
    ) -> bool | Awaitable[bool]:
        raise NotImplementedError
