"""wolkenkit: CQRS and event sourcing for Python.

What application authors import: the building blocks of an app, the services handlers
receive, the messages they see, the errors they raise, and ``load_application``.
The test sandbox lives in :mod:`wolkenkit.testing`.
"""

from wolkenkit.application.application import Application
from wolkenkit.application.definitions import (
    Aggregate,
    CommandHandler,
    DomainEventHandler,
    Flow,
    FlowHandler,
    NotificationHandler,
    NotificationSubscriber,
    StreamQueryHandler,
    ValueQueryHandler,
    View,
)
from wolkenkit.application.loader import load_application
from wolkenkit.application.services import (
    CommandAuthorizationServices,
    CommandServices,
    DomainEventAuthorizationServices,
    DomainEventServices,
    FlowServices,
    HookServices,
    Infrastructure,
    InfrastructureServices,
    NotificationAuthorizationServices,
    NotificationSubscriberServices,
    QueryAuthorizationServices,
    QueryServices,
)
from wolkenkit.errors import CommandRejected, NotAuthenticated, NotFound, WolkenkitError
from wolkenkit.files import FileAddMetadata, FileMetadata
from wolkenkit.messages import (
    AggregateIdentifier,
    ClientMetadata,
    Command,
    CommandWithMetadata,
    DomainEvent,
    DomainEventWithState,
    Initiator,
    ItemIdentifier,
    Notification,
    User,
)

__version__ = "0.1.0"

__all__ = [
    "Aggregate",
    "AggregateIdentifier",
    "Application",
    "ClientMetadata",
    "Command",
    "CommandAuthorizationServices",
    "CommandHandler",
    "CommandRejected",
    "CommandServices",
    "CommandWithMetadata",
    "DomainEvent",
    "DomainEventAuthorizationServices",
    "DomainEventHandler",
    "DomainEventServices",
    "DomainEventWithState",
    "FileAddMetadata",
    "FileMetadata",
    "Flow",
    "FlowHandler",
    "FlowServices",
    "HookServices",
    "Infrastructure",
    "InfrastructureServices",
    "Initiator",
    "ItemIdentifier",
    "NotAuthenticated",
    "NotFound",
    "Notification",
    "NotificationAuthorizationServices",
    "NotificationHandler",
    "NotificationSubscriber",
    "NotificationSubscriberServices",
    "QueryAuthorizationServices",
    "QueryServices",
    "StreamQueryHandler",
    "User",
    "ValueQueryHandler",
    "View",
    "WolkenkitError",
    "load_application",
]
