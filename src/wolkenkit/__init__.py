"""wolkenkit: CQRS and event sourcing for Python.

What application authors import: the building blocks of an app, the services handlers
receive, the messages they see, the errors they raise, and ``load_application``.
The test sandbox lives in :mod:`wolkenkit.testing`.

The names are imported on first use: the ``wk`` command imports this package for its errors
and would otherwise pay for pydantic and the whole application model before doing anything
(``wk dev`` starts the runtime in a child process that imports them anyway).
"""

from __future__ import annotations

# The ``wk`` script imports this package before it can handle Ctrl+C quietly
# (``wolkenkit.cli.entry``): it imports nothing up front, not even ``typing``.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from wolkenkit.application.application import Application
    from wolkenkit.application.definitions import (
        Aggregate,
        Flow,
        Notifications,
        Schema,
        View,
    )
    from wolkenkit.application.graphql_types import BigInt
    from wolkenkit.application.loader import load_application
    from wolkenkit.application.policies import Authenticated, Everyone
    from wolkenkit.application.services import (
        AggregateService,
        AggregatesService,
        CommandAuthorizationServices,
        CommandService,
        CommandServices,
        DomainEventAuthorizationServices,
        DomainEventServices,
        FlowServices,
        HookServices,
        Infrastructure,
        InfrastructureServices,
        LockService,
        NotificationAuthorizationServices,
        NotificationService,
        NotificationSubscriberServices,
        QueryAuthorizationServices,
        QueryServices,
    )
    from wolkenkit.application.tables import Rows, Table
    from wolkenkit.errors import (
        CommandRejected,
        NotAuthenticated,
        NotFound,
        WolkenkitError,
    )
    from wolkenkit.files import FileAddMetadata, FileMetadata
    from wolkenkit.messages import (
        AggregateIdentifier,
        ClientMetadata,
        Command,
        CommandWithMetadata,
        DomainEvent,
        DomainEventMetadata,
        DomainEventWithState,
        Initiator,
        ItemIdentifier,
        Notification,
        User,
    )

__version__ = "0.1.0"

#: Each exported name and the module that defines it.
_EXPORTS: dict[str, str] = {
    **dict.fromkeys(("Application",), "wolkenkit.application.application"),
    **dict.fromkeys(
        (
            "Aggregate",
            "Flow",
            "Notifications",
            "Schema",
            "View",
        ),
        "wolkenkit.application.definitions",
    ),
    **dict.fromkeys(("BigInt",), "wolkenkit.application.graphql_types"),
    **dict.fromkeys(("load_application",), "wolkenkit.application.loader"),
    **dict.fromkeys(("Authenticated", "Everyone"), "wolkenkit.application.policies"),
    **dict.fromkeys(
        (
            "AggregateService",
            "AggregatesService",
            "CommandAuthorizationServices",
            "CommandService",
            "CommandServices",
            "DomainEventAuthorizationServices",
            "DomainEventServices",
            "FlowServices",
            "HookServices",
            "Infrastructure",
            "InfrastructureServices",
            "LockService",
            "NotificationAuthorizationServices",
            "NotificationService",
            "NotificationSubscriberServices",
            "QueryAuthorizationServices",
            "QueryServices",
        ),
        "wolkenkit.application.services",
    ),
    **dict.fromkeys(("Rows", "Table"), "wolkenkit.application.tables"),
    **dict.fromkeys(
        ("CommandRejected", "NotAuthenticated", "NotFound", "WolkenkitError"), "wolkenkit.errors"
    ),
    **dict.fromkeys(("FileAddMetadata", "FileMetadata"), "wolkenkit.files"),
    **dict.fromkeys(
        (
            "AggregateIdentifier",
            "ClientMetadata",
            "Command",
            "CommandWithMetadata",
            "DomainEvent",
            "DomainEventMetadata",
            "DomainEventWithState",
            "Initiator",
            "ItemIdentifier",
            "Notification",
            "User",
        ),
        "wolkenkit.messages",
    ),
}

__all__ = [
    "Aggregate",
    "AggregateIdentifier",
    "AggregateService",
    "AggregatesService",
    "Application",
    "Authenticated",
    "BigInt",
    "ClientMetadata",
    "Command",
    "CommandAuthorizationServices",
    "CommandRejected",
    "CommandService",
    "CommandServices",
    "CommandWithMetadata",
    "DomainEvent",
    "DomainEventAuthorizationServices",
    "DomainEventMetadata",
    "DomainEventServices",
    "DomainEventWithState",
    "Everyone",
    "FileAddMetadata",
    "FileMetadata",
    "Flow",
    "FlowServices",
    "HookServices",
    "Infrastructure",
    "InfrastructureServices",
    "Initiator",
    "ItemIdentifier",
    "LockService",
    "NotAuthenticated",
    "NotFound",
    "Notification",
    "NotificationAuthorizationServices",
    "NotificationService",
    "NotificationSubscriberServices",
    "Notifications",
    "QueryAuthorizationServices",
    "QueryServices",
    "Rows",
    "Schema",
    "Table",
    "User",
    "View",
    "WolkenkitError",
    "load_application",
]


def __getattr__(name: str) -> Any:
    from importlib import import_module

    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'wolkenkit' has no attribute '{name}'")
    value = getattr(import_module(module), name)
    globals()[name] = value
    return value
