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
from collections.abc import Callable, Mapping
from types import ModuleType
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from pydantic import BaseModel

from wolkenkit import errors
from wolkenkit.stores.consumer_progress_store import ConsumerProgressStore
from wolkenkit.stores.domain_event_store import DomainEventStore
from wolkenkit.stores.file_store import FileStore
from wolkenkit.stores.lock_store import LockStore
from wolkenkit.stores.priority_queue_store import (
    DEFAULT_EXPIRATION_TIME,
    DoesIdentifierMatchItem,
    PriorityQueueStore,
)
from wolkenkit.stores.publish_subscribe import Publisher, Subscriber
from wolkenkit.stores.view_store import ViewStore

ItemT = TypeVar("ItemT", bound=BaseModel)
IdentifierT = TypeVar("IdentifierT")
StoreOptions = Mapping[str, Any] | str

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
    store_type = options.get("type")
    package = BACKENDS.get(store_type) if isinstance(store_type, str) else None
    if package is None or not isinstance(store_type, str):
        raise errors.DatabaseTypeInvalid(
            f"The {kind} type '{store_type}' is unknown; use one of {', '.join(BACKENDS)}."
        )
    module = _import(package, store_type, kind)
    factory = getattr(module, function, None)
    if factory is None:
        raise errors.DatabaseTypeInvalid(f"The store type '{store_type}' offers no {kind}.")
    result: Callable[..., Any] = factory
    return result


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


async def create_domain_event_store(options: StoreOptions) -> DomainEventStore:
    normalized = _normalize(options)
    store: DomainEventStore = await _backend(
        normalized, "domain event store", "create_domain_event_store"
    )(normalized)
    return store


async def create_lock_store(options: StoreOptions) -> LockStore:
    normalized = _normalize(options)
    store: LockStore = await _backend(normalized, "lock store", "create_lock_store")(normalized)
    return store


async def create_consumer_progress_store(options: StoreOptions) -> ConsumerProgressStore:
    normalized = _normalize(options)
    store: ConsumerProgressStore = await _backend(
        normalized, "consumer progress store", "create_consumer_progress_store"
    )(normalized)
    return store


async def create_priority_queue_store(
    options: StoreOptions,
    item_model: type[ItemT],
    does_identifier_match_item: DoesIdentifierMatchItem[ItemT, IdentifierT],
    expiration_time: int | None = None,
) -> PriorityQueueStore[ItemT, IdentifierT]:
    normalized = _normalize(options)
    if expiration_time is None:
        expiration_time = int(normalized.pop("expirationTime", DEFAULT_EXPIRATION_TIME))
    else:
        normalized.pop("expirationTime", None)
    store: PriorityQueueStore[ItemT, IdentifierT] = await _backend(
        normalized, "priority queue store", "create_priority_queue_store"
    )(normalized, item_model, does_identifier_match_item, expiration_time)
    return store


async def create_file_store(options: StoreOptions) -> FileStore:
    normalized = _normalize(options)
    store: FileStore = await _backend(normalized, "file store", "create_file_store")(normalized)
    return store


async def create_publisher(options: StoreOptions) -> Publisher:
    normalized = _normalize(options)
    publisher: Publisher = await _backend(normalized, "publisher", "create_publisher")(normalized)
    return publisher


async def create_subscriber(options: StoreOptions) -> Subscriber:
    normalized = _normalize(options)
    subscriber: Subscriber = await _backend(normalized, "subscriber", "create_subscriber")(
        normalized
    )
    return subscriber


async def create_view_store(options: StoreOptions) -> ViewStore:
    """The view store; its tables are set up by whoever declares them (``setup(tables)``)."""
    normalized = _normalize(options)
    store: ViewStore = await _backend(normalized, "view store", "create_view_store")(normalized)
    return store
