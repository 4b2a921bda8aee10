"""Stores from options: the one place that knows every backend.

Options are the reference's JSON (``{"type": "Postgres", "hostName": ..., "tableNames": ...}``)
or a connection URL as a shortcut (``postgresql://user:password@host:5432/database``). Each
backend is a package under ``wolkenkit.stores`` that offers, in its ``__init__``, the factory
functions of the store kinds it supports::

    async def create_domain_event_store(options: Mapping[str, Any]) -> DomainEventStore
    async def create_lock_store(options) -> LockStore
    async def create_consumer_progress_store(options) -> ConsumerProgressStore
    async def create_priority_queue_store(options, item_model, does_identifier_match_item,
                                          expiration_time) -> PriorityQueueStore
    async def create_file_store(options) -> FileStore
    async def create_publisher(options) -> Publisher
    async def create_subscriber(options) -> Subscriber
    async def create_view_store(options) -> ViewStore

A backend validates its own options (raising ``StoreOptionsInvalid`` naming the store and the
problem) and connects before returning, so bad options and unreachable servers fail at
start-up. Backends are imported only when asked for, so their drivers are optional.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from types import ModuleType
from typing import Any, TypeVar, cast
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel

from wolkenkit import errors
from wolkenkit.stores.consumer_progress_store import ConsumerProgressStore
from wolkenkit.stores.domain_event_store import DomainEventStore
from wolkenkit.stores.file_store import FileStore
from wolkenkit.stores.lock_store import LockStore
from wolkenkit.stores.options import StoreOptions
from wolkenkit.stores.priority_queue_store import (
    DEFAULT_EXPIRATION_TIME,
    DoesIdentifierMatchItem,
    PriorityQueueStore,
)
from wolkenkit.stores.publish_subscribe import Publisher, Subscriber
from wolkenkit.stores.view_store import ViewStore

ItemT = TypeVar("ItemT", bound=BaseModel)
IdentifierT = TypeVar("IdentifierT")

#: Store type (as in the options' ``type``) → the package that implements it.
BACKENDS: dict[str, str] = {
    "InMemory": "wolkenkit.stores.memory",
    "Sqlite": "wolkenkit.stores.sqlite",
    "Postgres": "wolkenkit.stores.postgres",
    "MariaDb": "wolkenkit.stores.mariadb",
    "MySql": "wolkenkit.stores.mariadb",
    "Redis": "wolkenkit.stores.redis",
    "FileSystem": "wolkenkit.stores.filesystem",
    "S3": "wolkenkit.stores.s3",
}

#: URL schemes accepted as a shortcut for options.
URL_SCHEMES: dict[str, str] = {
    "postgres": "Postgres",
    "postgresql": "Postgres",
    "mariadb": "MariaDb",
    "mysql": "MySql",
    "redis": "Redis",
    "sqlite": "Sqlite",
    "file": "FileSystem",
}


def options_from_url(url: str) -> dict[str, Any]:
    """``postgresql://user:secret@db:5432/app`` → the reference's options object.

    ``sqlite:///path/to/file.db`` gives ``{"type": "Sqlite", "fileName": ...}`` and
    ``file:///var/files`` gives ``{"type": "FileSystem", "directory": ...}``.
    """
    parts = urlsplit(url)
    store_type = URL_SCHEMES.get(parts.scheme)
    if store_type is None:
        raise errors.DatabaseTypeInvalid(
            f"The store URL scheme '{parts.scheme}' is unknown; use one of "
            f"{', '.join(sorted(URL_SCHEMES))}."
        )
    if store_type == "Sqlite":
        return {"type": store_type, "fileName": unquote(parts.path) or ":memory:"}
    if store_type == "FileSystem":
        return {"type": store_type, "directory": unquote(parts.path)}
    options: dict[str, Any] = {"type": store_type, "hostName": parts.hostname or "localhost"}
    if parts.port is not None:
        options["port"] = parts.port
    if parts.username is not None:
        options["userName"] = unquote(parts.username)
    if parts.password is not None:
        options["password"] = unquote(parts.password)
    database = parts.path.lstrip("/")
    if database:
        options["database"] = int(database) if store_type == "Redis" else unquote(database)
    return options


#: The placeholder that ``.env.example`` files of earlier versions of ``wk compose`` gave
#: every password. A deployment whose ``.env`` still holds it was never given a password.
PLACEHOLDER_PASSWORD = "replace-this-placeholder"


def _normalize(options: StoreOptions) -> dict[str, Any]:
    normalized = options_from_url(options) if isinstance(options, str) else dict(options)
    if normalized.get("password") == PLACEHOLDER_PASSWORD:
        raise errors.StoreOptionsInvalid(
            f"The {normalized.get('type')} options hold the placeholder password "
            f"'{PLACEHOLDER_PASSWORD}' of .env.example: choose a real password in .env."
        )
    return normalized


def _backend(options: dict[str, Any], kind: str, function: str) -> Callable[..., Any]:
    factory = _offered(options, kind, function)
    if factory is None:
        raise errors.DatabaseTypeInvalid(f"The store type '{options['type']}' offers no {kind}.")
    return factory


def _offered(options: dict[str, Any], kind: str, function: str) -> Callable[..., Any] | None:
    """The ``function`` of the backend the options name, if it has one."""
    store_type = options.get("type")
    package = BACKENDS.get(store_type) if isinstance(store_type, str) else None
    if package is None or not isinstance(store_type, str):
        raise errors.DatabaseTypeInvalid(
            f"The {kind} type '{store_type}' is unknown; use one of {', '.join(BACKENDS)}."
        )
    found: Callable[..., Any] | None = getattr(_import(package, store_type, kind), function, None)
    return found


#: A backend's driver (the top-level module it imports) → the extra that installs it.
DRIVER_EXTRAS: dict[str, str] = {
    "asyncpg": "postgres",
    "asyncmy": "mariadb",
    "redis": "redis",
    "aiobotocore": "s3",
    "botocore": "s3",
}


def _import(package: str, store_type: str, kind: str) -> ModuleType:
    try:
        return importlib.import_module(package)
    except ModuleNotFoundError as error:
        extra = DRIVER_EXTRAS.get((error.name or "").partition(".")[0])
        if extra is not None:
            raise errors.DatabaseTypeInvalid(
                f"The {kind} type '{store_type}' needs its driver, which is not installed: "
                f"install wolkenkit[{extra}] (pip install 'wolkenkit[{extra}]')."
            ) from None
        raise errors.DatabaseTypeInvalid(
            f"The {kind} type '{store_type}' is not available: {error}."
        ) from None


async def _created(kind: str, options: StoreOptions, *arguments: Any) -> Any:
    """The store of ``kind`` (``"lock store"``) that the backend the options name makes."""
    normalized = _normalize(options)
    function = f"create_{kind.replace(' ', '_')}"
    return await _backend(normalized, kind, function)(normalized, *arguments)


async def create_domain_event_store(options: StoreOptions) -> DomainEventStore:
    return cast(DomainEventStore, await _created("domain event store", options))


async def create_lock_store(options: StoreOptions) -> LockStore:
    return cast(LockStore, await _created("lock store", options))


async def create_consumer_progress_store(options: StoreOptions) -> ConsumerProgressStore:
    return cast(ConsumerProgressStore, await _created("consumer progress store", options))


async def create_priority_queue_store(
    options: StoreOptions,
    item_model: type[ItemT],
    does_identifier_match_item: DoesIdentifierMatchItem[ItemT, IdentifierT],
    expiration_time: int | None = None,
    *,
    sole_user: bool = False,
) -> PriorityQueueStore[ItemT, IdentifierT]:
    """``sole_user``: this process alone uses the queue (the single-process runtime), so a
    backend that offers it may schedule in memory and keep only a journal of what it accepted
    (``create_journaled_priority_queue_store``: SQLite's). Other backends ignore it."""
    normalized = _normalize(options)
    # The options may carry it (the reference's shape); an explicit argument wins.
    from_options = normalized.pop("expirationTime", DEFAULT_EXPIRATION_TIME)
    expiration = int(from_options) if expiration_time is None else expiration_time
    kind = "priority queue store"
    if sole_user and _offered(normalized, kind, "create_journaled_priority_queue_store"):
        kind = "journaled priority queue store"
    return cast(
        PriorityQueueStore[ItemT, IdentifierT],
        await _created(kind, normalized, item_model, does_identifier_match_item, expiration),
    )


def is_priority_queue_owned(options: StoreOptions) -> bool:
    """Whether a running process owns the queue these options name (as ``sole_user``), so
    that no other process may use it."""
    normalized = _normalize(options)
    normalized.pop("expirationTime", None)
    is_owned = _offered(normalized, "priority queue store", "is_priority_queue_owned")
    return is_owned is not None and bool(is_owned(normalized))


async def create_file_store(options: StoreOptions) -> FileStore:
    return cast(FileStore, await _created("file store", options))


async def create_publisher(options: StoreOptions) -> Publisher:
    return cast(Publisher, await _created("publisher", options))


async def create_subscriber(options: StoreOptions) -> Subscriber:
    return cast(Subscriber, await _created("subscriber", options))


async def create_view_store(options: StoreOptions) -> ViewStore:
    """The view store; its tables are set up by whoever declares them (``setup(tables)``)."""
    return cast(ViewStore, await _created("view store", options))
