"""Resolving what flows and views subscribe to, once the whole app is known (and checking
each event's chain of upcasters, which needs every event handler bound).

A flow handler may name its event by data model (``@flow.on(Sent)``) and a view's subscriber
its notification by model; which event or notification that is, and whether it exists at all,
is only known once every aggregate and the notifications are loaded.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from wolkenkit.application.definitions import Notifications
from wolkenkit.application.functions import (
    FunctionFlowHandler,
    FunctionNotificationSubscriber,
    ModelNotification,
)
from wolkenkit.application.upcasters import check_upcasters

if TYPE_CHECKING:
    from wolkenkit.application.application import Application


def resolve_subscriptions(application: Application) -> None:
    """Reads every handler function's signature and points every flow handler and view
    subscriber at what it subscribes to; raises the handler's load error for anything wrong
    or undefined. Idempotent: the loader and the catalog both call it."""
    _bind_all(application)
    for aggregates in application.domain.values():
        for aggregate in aggregates.values():
            check_upcasters(aggregate)
    event_names: list[str] = []
    events_by_model: dict[type[BaseModel], list[str]] = {}
    for context_name, aggregates in application.domain.items():
        for aggregate_name, aggregate in aggregates.items():
            for event_name, handler in aggregate.domain_event_handlers.items():
                full_name = f"{context_name}.{aggregate_name}.{event_name}"
                event_names.append(full_name)
                model: Any = getattr(handler, "model", None)
                if model is not None:
                    events_by_model.setdefault(model, []).append(full_name)
    for flow in application.flows.values():
        for flow_handler in flow.domain_event_handlers.values():
            if isinstance(flow_handler, FunctionFlowHandler):
                flow_handler.subscribe(events_by_model, event_names)

    notifications_by_model = {
        handler.model: name
        for name, handler in application.notifications.items()
        if isinstance(handler, ModelNotification)
    }
    for view in application.views.values():
        for subscriber in view.notification_subscribers.values():
            if isinstance(subscriber, FunctionNotificationSubscriber):
                subscriber.subscribe(notifications_by_model, application.notifications)
    _check_tables(application)


def _check_tables(application: Application) -> None:
    """Every handler that asks for ``Rows[Model]`` gets the app's one table of ``Model``."""
    models = {table.model for table in application.tables.values()}
    for handler in _handlers(application):
        check = getattr(handler, "check_tables", None)
        if callable(check):
            check(models)


def _handlers(application: Application) -> list[Any]:
    handlers: list[Any] = []
    for aggregates in application.domain.values():
        for aggregate in aggregates.values():
            handlers += [
                *aggregate.command_handlers.values(),
                *aggregate.domain_event_handlers.values(),
            ]
    for flow in application.flows.values():
        handlers += flow.domain_event_handlers.values()
    for view in application.views.values():
        handlers += [*view.query_handlers.values(), *view.notification_subscribers.values()]
    return handlers


def _bind_all(application: Application) -> None:
    for handler in _handlers(application):
        bind = getattr(handler, "bind", None)
        if callable(bind):
            bind()
    if isinstance(application.notifications, Notifications):
        application.notifications.bind()
