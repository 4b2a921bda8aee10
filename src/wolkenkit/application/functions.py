"""Handler functions as the engine's handlers: one adapter per kind.

The decorators of ``Aggregate``, ``Flow``, ``View`` and ``Notifications`` wrap each function in
the adapter of its kind. An adapter binds its function's signature once (``bind``, at load
time; see :mod:`wolkenkit.application.signatures`) and from then on turns the engine's calls
``(state, message, services)`` into the arguments the function asked for.
"""

from __future__ import annotations

import inspect
import logging
import typing
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from wolkenkit.application.definitions import (
    CommandHandler,
    DomainEventHandler,
    FlowHandler,
    NotificationHandler,
    NotificationSubscriber,
    StreamQueryHandler,
    ValueQueryHandler,
)
from wolkenkit.application.policies import BuiltInPolicy, Everyone, Policy
from wolkenkit.application.services import (
    AggregateService,
    AggregatesService,
    CommandAuthorizationServices,
    CommandService,
    CommandServices,
    DomainEventAuthorizationServices,
    DomainEventServices,
    FlowServices,
    Infrastructure,
    LockService,
    NotificationAuthorizationServices,
    NotificationService,
    NotificationSubscriberServices,
    QueryAuthorizationServices,
    QueryServices,
)
from wolkenkit.application.signatures import (
    Call,
    Offer,
    bind,
    documentation,
    is_instance_of,
    is_model,
    load_error,
    model_argument,
    models_in,
    the_model,
)
from wolkenkit.application.tables import Rows
from wolkenkit.errors import (
    CommandHandlerMalformed,
    DomainEventHandlerMalformed,
    FlowDomainEventHandlerMalformed,
    NotificationHandlerMalformed,
    NotificationSubscriberMalformed,
    QueryHandlerMalformed,
)
from wolkenkit.messages import (
    ClientMetadata,
    CommandWithMetadata,
    DomainEvent,
    ItemIdentifier,
)
from wolkenkit.serialization import validated

if TYPE_CHECKING:
    from wolkenkit.application.definitions import Aggregate

HandlerFunction = Callable[..., Any]


def _state_offer(state_type: Any) -> Offer:
    """The state, for the first parameter annotated with its class; an aggregate whose
    ``initial_state`` does not say its class (a lambda) has a mapping as its state."""
    expected = state_type if isinstance(state_type, type) else Mapping

    def matches(annotation: Any) -> bool:
        found = getattr(annotation, "__origin__", None) or annotation
        return isinstance(found, type) and (
            issubclass(found, expected) or issubclass(expected, found)
        )

    return Offer(matches, lambda state, message, services: state, once=True)


def _services(*offers: tuple[Any, Callable[[Any], Any]], arity: int = 3) -> list[Offer]:
    """Offers that take one attribute of the services bundle each; the bundle is the last of
    the ``arity`` arguments the engine passes a handler of the kind."""
    if arity == 2:
        return [
            Offer(is_instance_of(kind), lambda first, services, get=get: get(services))
            for kind, get in offers
        ]
    return [
        Offer(is_instance_of(kind), lambda first, second, services, get=get: get(services))
        for kind, get in offers
    ]


_LOGGER = (logging.Logger, lambda services: services.logger)
_CLIENT = (ClientMetadata, lambda services: services.client)
_INFRASTRUCTURE = (Infrastructure, lambda services: services.infrastructure)
_AGGREGATES = (AggregatesService, lambda services: services.aggregates)
_NOTIFICATION = (NotificationService, lambda services: services.notification)
_LOCK = (LockService, lambda services: services.lock)


def rows_model(annotation: Any) -> type[BaseModel] | None:
    """``Rows[Message]`` gives ``Message``; a bare ``Rows`` gives ``None``."""
    arguments = typing.get_args(annotation)
    return arguments[0] if arguments and is_model(arguments[0]) else None


_is_rows = is_instance_of(Rows)


def _rows_offer() -> Offer:
    """``name: Rows[Message]``: the rows of the app's table of ``Message``, for the kinds
    the engine passes ``(first, services)``."""

    def get_for(annotation: Any) -> Callable[[Any, Any], Any]:
        model = rows_model(annotation)
        return lambda first, services: services.tables.rows(model)

    return Offer(_is_rows, _never, get_for=get_for)


def _never(*passed: Any) -> Any:
    raise AssertionError("An offer with get_for or a refusal is never called.")


#: Command and event handlers decide from the aggregate alone.
_NO_ROWS = Offer(
    _is_rows,
    _never,
    refusal="the write side does not read views; read tables in a flow, a query or a "
    "notification subscriber.",
)


def _check_rows(
    function: HandlerFunction,
    call: Call | None,
    models: set[type[BaseModel]],
    error: type[Any],
) -> None:
    """Every ``Rows[...]`` parameter names a model that one of the app's tables holds."""
    for annotation in call.annotations if call is not None else ():
        if not _is_rows(annotation):
            continue
        model = rows_model(annotation)
        if model is None:
            raise load_error(
                function, "A Rows parameter names no model: write Rows[YourModel].", error
            )
        if model not in models:
            raise load_error(
                function,
                f"It asks for Rows[{model.__name__}], but no table in server/tables.py holds "
                f"{model.__name__}.",
                error,
            )


def _data_offers(wrapper: type) -> list[Offer]:
    """The message itself (``CommandWithMetadata[Send]``) or its data (``Send``)."""
    return [
        Offer(is_instance_of(wrapper), lambda state, message, services: message, model_argument),
        Offer(is_model, lambda state, message, services: message.data, the_model),
        Offer(
            lambda annotation: (
                annotation is dict or getattr(annotation, "__origin__", None) is dict
            ),
            lambda state, message, services: message.data,
        ),
    ]


def _decide(result: Any) -> bool | Awaitable[bool]:
    return result if inspect.isawaitable(result) else result is True


def _allowed(*passed: Any) -> bool:
    return True


def _authorization(
    policy: Policy,
    function: HandlerFunction,
    offers: list[Offer],
    error: type[Any],
    schema: type[BaseModel] | None,
) -> Callable[..., bool | Awaitable[bool]]:
    """``is_authorized`` for one handler whose data is ``schema``: a built-in policy looks at
    the client only; a function policy that asks for the data must ask for that model."""
    if policy is Everyone:
        return _allowed
    if isinstance(policy, BuiltInPolicy):
        allows = policy.allows
        return lambda state, message, services: allows(services.client)
    call = bind(policy, offers, error, "an authorization function")
    if call.schema is not None and call.schema is not schema:
        # An aggregate's default policy reaches every handler; one that names a data model
        # would get another handler's data.
        raise load_error(
            function,
            f"Its policy {policy.__name__} asks for {call.schema.__name__}, but the handler's "
            f"data is {'untyped' if schema is None else schema.__name__}.",
            error,
        )
    return lambda *passed: _decide(call(*passed))


class _BoundFunction:
    """What every adapter shares: the function, its docstring as the documentation, and the
    schema its signature names once it is bound."""

    function: HandlerFunction
    _call: Call | None
    #: The kind's load error.
    _error: type[Any]

    def bind(self) -> None:
        raise NotImplementedError

    def check_tables(self, models: set[type[BaseModel]]) -> None:
        """Raises the load error for a ``Rows`` parameter whose model has no table."""
        self.bind()
        _check_rows(self.function, self._call, models, self._error)

    def table_models(self) -> frozenset[type[BaseModel]]:
        """The models of the tables the function asks for with ``Rows[...]``."""
        self.bind()
        annotations = self._call.annotations if self._call is not None else ()
        models = (rows_model(annotation) for annotation in annotations if _is_rows(annotation))
        return frozenset(model for model in models if model is not None)

    def documentation(self) -> str | None:
        return documentation(self.function)

    def data_schema(self) -> type[BaseModel] | None:
        self.bind()
        assert self._call is not None
        return self._call.schema


class FunctionCommandHandler(_BoundFunction, CommandHandler[Any, Any]):
    """A command handler function: it returns (or publishes) the events it decides on."""

    _error = CommandHandlerMalformed

    def __init__(
        self, function: HandlerFunction, aggregate: Aggregate[Any], authorize: Policy | None
    ) -> None:
        self.function = function
        self._aggregate = aggregate
        self._authorize = authorize
        self._call: Call | None = None
        #: Event names by the models the handler returned, looked up once each.
        self._event_names: dict[type[Any], str] = {}

    def bind(self) -> None:
        if self._call is not None:
            return
        aggregate = self._aggregate
        state = _state_offer(aggregate.state_type)
        self._call = bind(
            self.function,
            [
                state,
                *_data_offers(CommandWithMetadata),
                _NO_ROWS,
                *_services(
                    (AggregateService, lambda services: services.aggregate),
                    (CommandServices, lambda services: services),
                    _AGGREGATES,
                    _CLIENT,
                    _INFRASTRUCTURE,
                    _LOCK,
                    _LOGGER,
                    _NOTIFICATION,
                ),
            ],
            CommandHandlerMalformed,
            "a command handler",
        )
        self._invoke = self._call.invoke
        self._is_async = inspect.iscoroutinefunction(self.function)
        policy = self._authorize or aggregate.authorize
        if policy is None:
            raise load_error(
                self.function,
                "Nobody may send it: give the aggregate a default "
                "(Aggregate(..., authorize=Everyone)) or the handler its own.",
                CommandHandlerMalformed,
            )
        self._is_authorized = _authorization(
            policy,
            self.function,
            [
                state,
                *_data_offers(CommandWithMetadata),
                *_services(
                    (CommandAuthorizationServices, lambda services: services),
                    _AGGREGATES,
                    _CLIENT,
                    _INFRASTRUCTURE,
                    _LOGGER,
                ),
            ],
            CommandHandlerMalformed,
            self._call.schema,
        )
        for model in models_in(self._call.return_annotation):
            if aggregate.event_name_of(model) is None:
                raise load_error(
                    self.function,
                    f"It returns {model.__name__}, which no event handler of this aggregate takes.",
                    CommandHandlerMalformed,
                )

    def is_authorized(
        self,
        state: Any,
        command: CommandWithMetadata[Any],
        services: CommandAuthorizationServices,
    ) -> bool | Awaitable[bool]:
        return self._is_authorized(state, command, services)

    def handle(
        self, state: Any, command: CommandWithMetadata[Any], services: CommandServices[Any]
    ) -> Awaitable[None] | None:
        result = self._invoke(state, command, services)
        if self._is_async:
            return self._publish_when_done(result, services)
        self._publish(result, services)
        return None

    async def _publish_when_done(
        self, result: Awaitable[Any], services: CommandServices[Any]
    ) -> None:
        self._publish(await result, services)

    def _publish(self, result: Any, services: CommandServices[Any]) -> None:
        if result is None:
            return
        name = self._event_names.get(type(result))
        if name is not None:  # One event whose name is known: the usual case.
            services.aggregate.publish_domain_event(name, result)
            return
        events = result if isinstance(result, list | tuple) else (result,)
        names = self._event_names
        for event in events:
            name = names.get(type(event))
            if name is None:
                name = self._aggregate.event_name_of(type(event))
                if name is None:
                    raise TypeError(
                        f"Command handler '{self.function.__name__}' returned {event!r}, which "
                        "no event handler of its aggregate takes."
                    )
                names[type(event)] = name
            services.aggregate.publish_domain_event(name, event)


class FunctionDomainEventHandler(_BoundFunction, DomainEventHandler[Any, Any]):
    """An event handler function: the next state from the state and the event."""

    _error = DomainEventHandlerMalformed

    def __init__(
        self,
        function: HandlerFunction,
        aggregate: Aggregate[Any],
        authorize: Policy | None,
        filter: HandlerFunction | None,
        map: HandlerFunction | None,
    ) -> None:
        self.function = function
        self._aggregate = aggregate
        self._authorize = authorize
        self._filter_function = filter
        self._map_function = map
        self._call: Call | None = None

    def bind(self) -> None:
        if self._call is not None:
            return
        if inspect.iscoroutinefunction(self.function):
            raise load_error(
                self.function,
                "It must not be async: it computes the next state, nothing else.",
                DomainEventHandlerMalformed,
            )
        aggregate = self._aggregate
        state = _state_offer(aggregate.state_type)
        self._call = bind(
            self.function,
            [
                state,
                *_data_offers(DomainEvent),
                _NO_ROWS,
                *_services(
                    (DomainEventServices, lambda services: services), _INFRASTRUCTURE, _LOGGER
                ),
            ],
            DomainEventHandlerMalformed,
            "an event handler",
        )
        self._invoke = self._call.invoke
        model = self._call.schema
        others = [] if model is None else aggregate.domain_event_handlers.items()
        for name, other in others:
            if other is not self and getattr(other, "model", None) is model:
                assert model is not None
                raise load_error(
                    self.function,
                    f"Event '{name}' takes {model.__name__} too: a returned {model.__name__} "
                    "must name one event, so give each event a model of its own.",
                    DomainEventHandlerMalformed,
                )
        delivery_offers = [
            state,
            *_data_offers(DomainEvent),
            *_services(
                (DomainEventAuthorizationServices, lambda services: services),
                _AGGREGATES,
                _CLIENT,
                _INFRASTRUCTURE,
                _LOGGER,
            ),
        ]
        policy = self._authorize or aggregate.authorize
        if policy is None:
            raise load_error(
                self.function,
                "Nobody may receive it: give the aggregate a default "
                "(Aggregate(..., authorize=Everyone)) or the handler its own.",
                DomainEventHandlerMalformed,
            )
        self._is_authorized = _authorization(
            policy, self.function, delivery_offers, DomainEventHandlerMalformed, self._call.schema
        )
        self._filter_call = (
            None
            if self._filter_function is None
            else bind(
                self._filter_function, delivery_offers, DomainEventHandlerMalformed, "a filter"
            )
        )
        self._map_call = (
            None
            if self._map_function is None
            else bind(self._map_function, delivery_offers, DomainEventHandlerMalformed, "a map")
        )

    @property
    def model(self) -> type[BaseModel] | None:
        """The event's data model, which names the event where a command handler returns it."""
        return self.data_schema()

    def handle(
        self, state: Any, domain_event: DomainEvent[Any], services: DomainEventServices
    ) -> Any:
        return self._invoke(state, domain_event, services)

    def is_authorized(self, state: Any, domain_event: Any, services: Any) -> bool | Awaitable[bool]:
        return self._is_authorized(state, domain_event, services)

    def filter(self, state: Any, domain_event: Any, services: Any) -> bool | Awaitable[bool]:
        assert self._filter_call is not None
        return _decide(self._filter_call(state, domain_event, services))

    def map(self, state: Any, domain_event: Any, services: Any) -> Any:
        assert self._map_call is not None
        return self._map_call(state, domain_event, services)

    def has_filter(self) -> bool:
        return self._filter_function is not None

    def has_map(self) -> bool:
        return self._map_function is not None


class FunctionFlowHandler(_BoundFunction, FlowHandler):
    """A flow's handler function for one event, named by its model or its full name."""

    _error = FlowDomainEventHandlerMalformed

    def __init__(self, function: HandlerFunction, subscription: type[BaseModel] | str) -> None:
        self.function = function
        self.subscription = subscription
        #: ``<context>.<aggregate>.<event>``, set by ``subscribe``.
        self.fully_qualified_name: str | None = (
            subscription if isinstance(subscription, str) else None
        )
        self._call: Call | None = None
        self._model: type[BaseModel] | None = None

    def subscribe(self, models: Mapping[type[BaseModel], list[str]], names: Iterable[str]) -> None:
        """Resolve what the handler subscribes to; a name or model nothing defines is an error."""
        known = set(names)
        subscription = self.subscription
        if isinstance(subscription, str):
            if subscription not in known:
                raise load_error(
                    self.function,
                    f"It subscribes to '{subscription}', which no aggregate defines.",
                    FlowDomainEventHandlerMalformed,
                )
            return
        found = models.get(subscription, [])
        if len(found) != 1:
            problem = (
                "which no event handler takes"
                if not found
                else f"which {len(found)} events take ({', '.join(found)}): subscribe by name"
            )
            raise load_error(
                self.function,
                f"It subscribes to {subscription.__name__}, {problem}.",
                FlowDomainEventHandlerMalformed,
            )
        self.fully_qualified_name = found[0]

    def bind(self) -> None:
        if self._call is not None:
            return
        self._call = bind(
            self.function,
            [
                Offer(is_instance_of(DomainEvent), lambda event, services: event, model_argument),
                Offer(is_model, lambda event, services: event.data, the_model),
                _rows_offer(),
                *_services(
                    (FlowServices, lambda services: services),
                    (CommandService, lambda services: services.command),
                    _AGGREGATES,
                    _INFRASTRUCTURE,
                    _LOCK,
                    _LOGGER,
                    _NOTIFICATION,
                    arity=2,
                ),
            ],
            FlowDomainEventHandlerMalformed,
            "a flow handler",
        )
        self._model = self._call.schema

    def is_relevant(self, fully_qualified_name: str, item_identifier: ItemIdentifier) -> bool:
        return fully_qualified_name == self.fully_qualified_name

    def handle(
        self, domain_event: DomainEvent[Any], services: FlowServices
    ) -> Awaitable[None] | None:
        assert self._call is not None
        model = self._model
        if model is not None and not isinstance(domain_event.data, model):
            domain_event = domain_event.replaced(data=validated(model, domain_event.data))
        result: Awaitable[None] | None = self._call(domain_event, services)
        return result


class FunctionQueryHandler:
    """Shared by the two query kinds: options from a model parameter, items from the return."""

    function: HandlerFunction
    _call: Call | None
    _view_authorize: Callable[[], Policy | None]

    def _bind_query(self, authorize: Policy | None) -> None:
        self._call = bind(
            self.function,
            [
                Offer(is_model, lambda options, services: options, the_model),
                Offer(
                    lambda annotation: getattr(annotation, "__origin__", annotation) is dict,
                    lambda options, services: options,
                ),
                _rows_offer(),
                *_services(
                    (QueryServices, lambda services: services),
                    _CLIENT,
                    _INFRASTRUCTURE,
                    _LOGGER,
                    arity=2,
                ),
            ],
            QueryHandlerMalformed,
            "a query handler",
        )
        items = models_in(self._call.return_annotation)
        self._item_schema = items[0] if len(items) == 1 else None
        policy = authorize or self._view_authorize()
        if policy is None:
            raise load_error(
                self.function,
                "Nobody may query it: give the view a default (View(authorize=Everyone)) or "
                "the query its own.",
                QueryHandlerMalformed,
            )
        if isinstance(policy, BuiltInPolicy):
            allows = policy.allows
            self._is_authorized: Callable[..., Any] = lambda item, services: allows(services.client)
        else:
            call = bind(
                policy,
                [
                    Offer(
                        is_model,
                        lambda item, services: item,
                    ),
                    *_services(
                        (QueryAuthorizationServices, lambda services: services),
                        _CLIENT,
                        _LOGGER,
                        arity=2,
                    ),
                ],
                QueryHandlerMalformed,
                "an authorization function",
            )
            self._is_authorized = lambda *passed: _decide(call(*passed))


def _query_class(base: type) -> type:
    class Adapter(FunctionQueryHandler, base):  # type: ignore[misc]
        def __init__(
            self,
            function: HandlerFunction,
            view_authorize: Callable[[], Policy | None],
            authorize: Policy | None,
        ) -> None:
            self.function = function
            self._view_authorize = view_authorize
            self._authorize = authorize
            self._call = None

        def bind(self) -> None:
            if self._call is None:
                self._bind_query(self._authorize)

        def check_tables(self, models: set[type[BaseModel]]) -> None:
            """Raises the load error for a ``Rows`` parameter whose model has no table."""
            self.bind()
            _check_rows(self.function, self._call, models, QueryHandlerMalformed)

        def options_schema(self) -> type[BaseModel] | None:
            self.bind()
            assert self._call is not None
            return self._call.schema

        def item_schema(self) -> type[BaseModel] | None:
            self.bind()
            return self._item_schema

        def documentation(self) -> str | None:
            return documentation(self.function)

        def is_authorized(self, item: Any, services: QueryAuthorizationServices) -> Any:
            return self._is_authorized(item, services)

        def handle(self, options: Any, services: QueryServices) -> Any:
            assert self._call is not None
            return self._call(options, services)

    return Adapter


FunctionStreamQueryHandler: type[StreamQueryHandler[Any, Any]] = _query_class(StreamQueryHandler)
FunctionValueQueryHandler: type[ValueQueryHandler[Any, Any]] = _query_class(ValueQueryHandler)


class FunctionNotificationSubscriber(_BoundFunction, NotificationSubscriber):
    """A view's function for one notification, named by its model or its name."""

    _error = NotificationSubscriberMalformed

    def __init__(self, function: HandlerFunction, subscription: type[BaseModel] | str) -> None:
        self.function = function
        self.subscription = subscription
        self.name: str | None = subscription if isinstance(subscription, str) else None
        self._call: Call | None = None

    def subscribe(
        self, names_by_model: Mapping[type[BaseModel], str], names: Iterable[str]
    ) -> None:
        if isinstance(self.subscription, str):
            if self.subscription not in set(names):
                raise load_error(
                    self.function,
                    f"It subscribes to notification '{self.subscription}', which is not defined.",
                    NotificationSubscriberMalformed,
                )
            return
        name = names_by_model.get(self.subscription)
        if name is None:
            raise load_error(
                self.function,
                f"It subscribes to {self.subscription.__name__}, which no notification is.",
                NotificationSubscriberMalformed,
            )
        self.name = name

    def bind(self) -> None:
        if self._call is not None:
            return
        self._call = bind(
            self.function,
            [
                Offer(is_model, lambda data, services: data, the_model),
                _rows_offer(),
                *_services(
                    (NotificationSubscriberServices, lambda services: services),
                    _INFRASTRUCTURE,
                    _LOGGER,
                    _NOTIFICATION,
                    arity=2,
                ),
            ],
            NotificationSubscriberMalformed,
            "a notification subscriber",
        )

    def is_relevant(self, name: str) -> bool:
        return name == self.name

    def handle(self, data: dict[str, Any], services: NotificationSubscriberServices) -> Any:
        assert self._call is not None
        schema = self._call.schema
        return self._call(data if schema is None else validated(schema, data), services)


class ModelNotification(NotificationHandler[Any, Any]):
    """A notification defined by its data model; its docstring is its documentation."""

    def __init__(
        self,
        model: type[BaseModel],
        authorize: Policy | None,
        defined_at: str = "?",
        metadata: type[BaseModel] | None = None,
    ) -> None:
        self.model = model
        self._metadata = metadata
        # The model's docstring documents the notification; its schema does not repeat it.
        self._schema = _undocumented(model) if model.model_fields else None
        self._authorize = authorize
        #: ``file:line`` where the app defined it, for load errors.
        self.defined_at = defined_at
        self._is_authorized: Callable[..., Any] | None = None

    def bind_policy(self, default: Policy | None) -> None:
        policy = self._authorize or default
        if policy is None:
            raise NotificationHandlerMalformed(
                f"Notification {self.model.__name__} ({self.defined_at}) is malformed: nobody "
                "may receive it; give Notifications(...) a default (authorize=Everyone) or it "
                "its own."
            )
        if isinstance(policy, BuiltInPolicy):
            allows = policy.allows
            self._is_authorized = lambda data, metadata, services: allows(services.client)
            return
        call = bind(
            policy,
            [
                Offer(is_model, lambda data, metadata, services: data),
                *_services(
                    (NotificationAuthorizationServices, lambda services: services),
                    _CLIENT,
                    _INFRASTRUCTURE,
                    _LOGGER,
                ),
            ],
            NotificationHandlerMalformed,
            "an authorization function",
        )
        self._is_authorized = lambda *passed: _decide(call(*passed))

    def data_schema(self) -> type[BaseModel] | None:
        # A model without fields carries no data: nothing to describe, as in the reference.
        return self._schema

    def metadata_schema(self) -> type[BaseModel] | None:
        return self._metadata

    def documentation(self) -> str | None:
        doc = self.model.__dict__.get("__doc__")
        return inspect.cleandoc(doc) if doc else None

    def is_authorized(self, data: Any, metadata: Any, services: Any) -> bool | Awaitable[bool]:
        assert self._is_authorized is not None
        decision: bool | Awaitable[bool] = self._is_authorized(data, metadata, services)
        return decision


def _undocumented(model: type[BaseModel]) -> type[BaseModel]:
    """``model`` without its docstring, which pydantic would put into its JSON Schema."""
    if not model.__dict__.get("__doc__"):
        return model
    namespace = {
        "__doc__": None,
        "__module__": model.__module__,
        "__qualname__": model.__qualname__,
    }
    return type(model.__name__, (model,), namespace)


__all__ = [
    "FunctionCommandHandler",
    "FunctionDomainEventHandler",
    "FunctionFlowHandler",
    "FunctionNotificationSubscriber",
    "FunctionStreamQueryHandler",
    "FunctionValueQueryHandler",
    "ModelNotification",
    "model_argument",
]
