"""The one error tree of wolkenkit.

Every error a user, a client or an operator can meet is a subclass of
:class:`WolkenkitError`, defined here; other modules keep only private exceptions of their
own. Its ``code`` is the class name, the same string the reference puts on the wire
(``{"code": "CommandNotFound", "message": ...}``). Which HTTP status each answers with is
decided in one place, ``runtime/http/errors.py``.

    WolkenkitError
    ├── ApplicationError            loading and validating an app
    │   ├── ApplicationNotFound, ApplicationMalformed, DirectoryNotFound,
    │   │   DirectoryAlreadyExists
    │   ├── AggregateDefinitionMalformed, FlowDefinitionMalformed, ViewDefinitionMalformed,
    │   │   HooksDefinitionMalformed, InfrastructureDefinitionMalformed,
    │   │   NotificationsDefinitionMalformed, TableDefinitionMalformed
    │   ├── CommandHandlerMalformed, DomainEventHandlerMalformed,
    │   │   FlowDomainEventHandlerMalformed, QueryHandlerMalformed,
    │   │   NotificationHandlerMalformed, NotificationSubscriberMalformed, UpcasterMalformed
    │   ├── DomainEventAlreadyExists, NameInvalid, GraphQlError
    │   └── SchemaNotExpressible     a JSON Schema with no GraphQL counterpart
    ├── ConfigurationError          how the runtime is configured
    │   ├── ConfigurationInvalid     an environment variable it cannot use
    │   ├── ReplayConfigurationInvalid
    │   └── TracingConfigurationInvalid  an OTEL_* variable asks for what we cannot do
    ├── RequestError                what a client asked for does not exist or is malformed
    │   ├── RequestMalformed
    │   │   ├── RequestTooLarge      (answers as RequestMalformed, with 413)
    │   │   └── JsonRefused          valid JSON beyond our limits
    │   └── ContextNotFound, AggregateNotFound, CommandNotFound, CommandMalformed,
    │       DomainEventNotFound, DomainEventMalformed, FlowNotFound, ViewNotFound,
    │       QueryHandlerNotFound, QueryHandlerTypeMismatch, QueryOptionsInvalid,
    │       NotificationNotFound, ItemIdentifierMalformed, AggregateIdentifierMalformed,
    │       ContentTypeMismatch, NotAuthenticated
    ├── DomainError                 raised while handling commands, events and queries
    │   ├── CommandRejected, CommandNotAuthorized, DomainEventUnknown,
    │   │   DomainEventNotAuthorized, DomainEventRejected, IdentifierMismatch,
    │   │   InvalidOperation, QueryNotAuthorized, QueryResultInvalid, UnknownError,
    │   │   DomainEventVersionUnknown, UpcasterFailed
    │   ├── RebuildFailed            rebuilding view tables; the old ones keep serving
    │   └── NotFound
    │       └── RouteNotFound        (answers as NotFound)
    ├── StoreError                  raised by the stores, whatever the backend
    │   └── ParameterInvalid, RevisionAlreadyExists, RevisionTooLow, FlowIsAlreadyReplaying,
    │       ItemNotFound, RowAlreadyExists, RowNotFound, ItemNotLocked, TokenMismatch,
    │       LockAcquireFailed, LockRenewalFailed, ExpirationInPast, FileAlreadyExists,
    │       DatabaseTypeInvalid, StoreOptionsInvalid, SnapshotMalformed, SnapshotNotFound
    ├── StreamClosed                the server ended a live stream
    │   └── StreamOverflowed         its reader fell too far behind
    ├── CliError                    a user's mistake on the command line
    └── FileNotFound                a module of the app, or a stored file, is missing

    FuzzFailed (an AssertionError)  wolkenkit.testing's queue fuzzer: a store broke a promise

Names mirror the reference's wire codes; errors of our own end in ``Error`` (the older
``RequestTooLarge``, ``RouteNotFound``, ``JsonRefused``, ``StreamClosed``, ``StreamOverflowed`` and
``SchemaNotExpressible`` describe themselves well enough to keep their names).
"""

from __future__ import annotations

from typing import ClassVar


def _words(code: str) -> str:
    """Split a code into a sentence: ``CommandNotFound`` → ``Command not found.``"""
    words: list[str] = []
    current = ""
    for char in code:
        if char.isupper() and current:
            words.append(current)
            current = char
        else:
            current += char
    words.append(current)
    sentence = " ".join([words[0], *(word.lower() for word in words[1:])])
    return f"{sentence}."


class WolkenkitError(Exception):
    """Base of every error wolkenkit raises on purpose."""

    code: ClassVar[str] = "WolkenkitError"

    def __init_subclass__(cls, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        cls.code = cls.__name__

    def __init__(self, message: str | None = None) -> None:
        self.message = message if message is not None else _words(self.code)
        super().__init__(self.message)


# --- Loading and validating an application -----------------------------------------------------


class ApplicationError(WolkenkitError):
    """Something about the application directory or its modules is wrong."""


class ApplicationNotFound(ApplicationError):
    pass


class ApplicationMalformed(ApplicationError):
    pass


class DirectoryNotFound(ApplicationError):
    pass


class DirectoryAlreadyExists(ApplicationError):
    pass


class FileNotFound(WolkenkitError):
    """A module of the app is missing, or (file store) no file has the given id."""


class AggregateDefinitionMalformed(ApplicationError):
    pass


class FlowDefinitionMalformed(ApplicationError):
    pass


class ViewDefinitionMalformed(ApplicationError):
    pass


class HooksDefinitionMalformed(ApplicationError):
    pass


class InfrastructureDefinitionMalformed(ApplicationError):
    pass


class NotificationsDefinitionMalformed(ApplicationError):
    pass


class TableDefinitionMalformed(ApplicationError):
    """A view table's key or index is no field of its model, or not of a type a column can
    hold."""


class CommandHandlerMalformed(ApplicationError):
    pass


class DomainEventHandlerMalformed(ApplicationError):
    pass


class FlowDomainEventHandlerMalformed(ApplicationError):
    pass


class QueryHandlerMalformed(ApplicationError):
    pass


class NotificationHandlerMalformed(ApplicationError):
    pass


class NotificationSubscriberMalformed(ApplicationError):
    pass


class UpcasterMalformed(ApplicationError):
    """An upcaster is malformed, or an event's chain of upcasters has a gap."""


class DomainEventAlreadyExists(ApplicationError):
    """A user defined one of the reserved ``<command>Rejected`` / ``<command>Failed`` events."""


class NameInvalid(ApplicationError):
    """A name cannot be addressed in a URL or in GraphQL, or collides with another."""


class SchemaNotExpressible(ApplicationError):
    """A JSON Schema has no GraphQL counterpart; the message says where and why."""


class GraphQlError(ApplicationError):
    """The GraphQL schema cannot be made from the app: a schema GraphQL cannot express."""


# --- Configuring the runtime ---------------------------------------------------------------------


class ConfigurationError(WolkenkitError):
    """The runtime's configuration is wrong."""


class ConfigurationInvalid(ConfigurationError):
    """An environment variable of the runtime has a value it cannot use."""


class ReplayConfigurationInvalid(ConfigurationError):
    """The replay configuration is malformed or names what the application does not have."""


class TracingConfigurationInvalid(ConfigurationError):
    """An ``OTEL_*`` variable asks for what this runtime cannot do."""


# --- What a client asked for ---------------------------------------------------------------------


class RequestError(WolkenkitError):
    """A request names something that does not exist or is malformed."""


class RequestMalformed(RequestError):
    pass


class RequestTooLarge(RequestMalformed):
    """The body is larger than the configured limit (413)."""


class JsonRefused(RequestMalformed):
    """Valid JSON that we do not take: nested too deeply, or with a lone surrogate."""


class ContextNotFound(RequestError):
    pass


class AggregateNotFound(RequestError):
    """An unknown aggregate name, or ``aggregates.read`` of a pristine aggregate."""


class CommandNotFound(RequestError):
    pass


class CommandMalformed(RequestError):
    pass


class DomainEventNotFound(RequestError):
    pass


class DomainEventMalformed(RequestError):
    pass


class FlowNotFound(RequestError):
    pass


class ViewNotFound(RequestError):
    pass


class QueryHandlerNotFound(RequestError):
    pass


class QueryHandlerTypeMismatch(RequestError):
    pass


class QueryOptionsInvalid(RequestError):
    pass


class NotificationNotFound(RequestError):
    pass


class ItemIdentifierMalformed(RequestError):
    pass


class AggregateIdentifierMalformed(RequestError):
    pass


class ContentTypeMismatch(RequestError):
    pass


class NotAuthenticated(RequestError):
    pass


class StreamClosed(WolkenkitError):
    """The server ended a live stream: its reader fell behind, or preparing its items failed."""


class StreamOverflowed(StreamClosed):
    """A live stream's reader fell so far behind that its backlog reached the bound."""


# --- Handling commands, events and queries -------------------------------------------------------


class DomainError(WolkenkitError):
    """Raised while the domain handles a command, an event or a query."""


class CommandRejected(DomainError):
    """Raise this from a command handler to reject the command with a reason.

    The command then results in a ``<command>Rejected`` event whose ``reason``
    is the message; nothing the handler published is stored.
    """


class CommandNotAuthorized(DomainError):
    pass


class DomainEventUnknown(DomainError):
    pass


class DomainEventVersionUnknown(DomainError):
    """A stored event is at a version of its model that the app does not know (a newer app
    wrote it), so it cannot be read without being misread."""


class UpcasterFailed(DomainError):
    """An upcaster raised, or returned something other than the next version's data."""


class DomainEventNotAuthorized(DomainError):
    pass


class DomainEventRejected(DomainError):
    pass


class IdentifierMismatch(DomainError):
    pass


class InvalidOperation(DomainError):
    pass


class NotFound(DomainError):
    """Raise this from a value query handler when there is nothing to return."""


class RouteNotFound(NotFound):
    """No route matches (404)."""


class QueryNotAuthorized(DomainError):
    pass


class QueryResultInvalid(DomainError):
    pass


class UnknownError(DomainError):
    pass


class RebuildFailed(DomainError):
    """Rebuilding view tables failed, or could not start; the tables in use keep serving."""


# --- Stores --------------------------------------------------------------------------------------


class StoreError(WolkenkitError):
    """Raised by a store; backends translate their drivers' errors into these."""


class ParameterInvalid(StoreError):
    pass


class RevisionAlreadyExists(StoreError):
    pass


class RevisionTooLow(StoreError):
    pass


class FlowIsAlreadyReplaying(StoreError):
    pass


class ItemNotFound(StoreError):
    pass


class RowAlreadyExists(StoreError):
    """A view table already holds a row with the key of the one inserted."""


class RowNotFound(StoreError):
    """A view table holds no row with the key of the one updated."""


class ItemNotLocked(StoreError):
    pass


class TokenMismatch(StoreError):
    pass


class LockAcquireFailed(StoreError):
    pass


class LockRenewalFailed(StoreError):
    pass


class ExpirationInPast(StoreError):
    pass


class FileAlreadyExists(StoreError):
    pass


class DatabaseTypeInvalid(StoreError):
    pass


class StoreOptionsInvalid(StoreError):
    """A store's options are malformed, or its server cannot be reached."""


class SnapshotMalformed(StoreError):
    pass


class SnapshotNotFound(StoreError):
    pass


# --- The command line ----------------------------------------------------------------------------


class CliError(WolkenkitError):
    """A user's mistake on the command line; shown as one line, never a traceback."""


# --- Testing ------------------------------------------------------------------------------------


class FuzzFailed(AssertionError):
    """The store broke a promise under ``wolkenkit.testing``'s queue fuzzer; the message lists
    how (the first few ways), and the seed of the run. An ``AssertionError``, so test runners
    report it as a failed test."""

    def __init__(self, message: str, failures: list[str]) -> None:
        super().__init__(message)
        #: Every way the store broke its promises, also those the message leaves out.
        self.failures = failures
