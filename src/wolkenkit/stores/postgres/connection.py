"""Options, connection pools, identifiers and error translation shared by the PostgreSQL stores.

Every store takes the reference's options (``hostName``, ``port``, ``userName``, ``password``,
``database``, ``encryptConnection``, ``tableNames``) plus an optional ``schema`` of ours: when
set, the store's tables live in that schema, which ``setup()`` creates if needed.
"""

from __future__ import annotations

import os
import ssl
import tempfile
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import TracebackType
from typing import Literal

import asyncpg
from pydantic import Field, model_validator

from wolkenkit.errors import StoreError, StoreOptionsInvalid, WolkenkitError
from wolkenkit.stores.options import OptionsModel
from wolkenkit.stores.postgres.pool import Connect, ConnectionPool

#: Connections each store opens at most.
MAXIMUM_CONNECTIONS = 10
#: Seconds to wait for the server when opening a connection.
CONNECT_TIMEOUT = 10.0

_DRIVER_ERRORS = (asyncpg.PostgresError, asyncpg.InterfaceError, OSError)


class EncryptionOptions(OptionsModel):
    """``encryptConnection`` as an object, as in the reference (PEM strings, not paths)."""

    reject_unauthorized: bool = True
    ca: str | None = None
    private_key: str | None = None
    certificate: str | None = None

    @model_validator(mode="after")
    def _key_needs_certificate(self) -> EncryptionOptions:
        if self.private_key is not None and self.certificate is None:
            raise ValueError("a privateKey needs a certificate")
        return self


class PostgresOptions(OptionsModel):
    """The connection part of every PostgreSQL store's options."""

    type: Literal["Postgres"]
    host_name: str = Field(min_length=1)
    port: int = Field(default=5432, ge=1, le=65535)
    user_name: str = Field(min_length=1)
    password: str = ""
    database: str = Field(min_length=1)
    encrypt_connection: bool | EncryptionOptions = False
    schema_name: str | None = Field(default=None, alias="schema", min_length=1)


def _ssl_context(encryption: bool | EncryptionOptions) -> ssl.SSLContext | bool:
    if encryption is False:
        return False
    if encryption is True:
        return ssl.create_default_context()
    context = ssl.create_default_context(cadata=encryption.ca)
    if not encryption.reject_unauthorized:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    if encryption.certificate is not None:
        # The ssl module loads certificates from files only; they exist just for this call.
        with tempfile.TemporaryDirectory() as directory:
            certificate = Path(directory, "certificate.pem")
            certificate.write_text(encryption.certificate)
            key = None
            if encryption.private_key is not None:
                key = Path(directory, "key.pem")
                key.write_text(encryption.private_key)
            context.load_cert_chain(certificate, key)
    return context


def connector(options: PostgresOptions, store: str) -> Connect:
    """A function that opens one connection as the options say."""
    try:
        ssl_context = _ssl_context(options.encrypt_connection)
    except (ssl.SSLError, ValueError) as error:
        raise StoreOptionsInvalid(
            f"The {store} has unusable encryptConnection options: {error}."
        ) from None

    async def connect() -> asyncpg.Connection:
        connection: asyncpg.Connection = await asyncpg.connect(
            host=options.host_name,
            port=options.port,
            user=options.user_name,
            password=options.password or None,
            database=options.database,
            ssl=ssl_context,
            timeout=CONNECT_TIMEOUT,
            # Operators see in pg_stat_activity which store a connection serves.
            server_settings={"application_name": f"wolkenkit {store}"},
        )
        return connection

    return connect


async def start(
    starting: Callable[[], Awaitable[None]], options: PostgresOptions, store: str
) -> None:
    """Run ``starting``, which connects; any failure is one ``StoreOptionsInvalid`` line
    naming the store, the server and the reason."""
    try:
        await starting()
    except (*_DRIVER_ERRORS, TimeoutError) as error:
        raise StoreOptionsInvalid(
            f"The {store} cannot connect to {options.host_name}:{options.port}: {_reason(error)}."
        ) from None


async def create_pool(options: PostgresOptions, store: str) -> ConnectionPool:
    """A pool with one connection open already."""
    pool = ConnectionPool(connector(options, store), MAXIMUM_CONNECTIONS, store)
    await start(pool.start, options, store)
    return pool


def _reason(error: BaseException) -> str:
    if isinstance(error, TimeoutError):
        return "Timed out"
    if isinstance(error, OSError) and error.errno is not None:
        return os.strerror(error.errno)
    return str(error).rstrip(".") or type(error).__name__


def quote(identifier: str) -> str:
    """``identifier`` as a quoted SQL identifier; table names contain dashes."""
    return '"' + identifier.replace('"', '""') + '"'


class Names:
    """Quoted, schema-qualified names of a store's tables and indexes."""

    def __init__(self, schema: str | None) -> None:
        self.schema = schema

    def table(self, name: str) -> str:
        if self.schema is None:
            return quote(name)
        return f"{quote(self.schema)}.{quote(name)}"

    @staticmethod
    def index(table: str, purpose: str) -> str:
        # Indexes always live in their table's schema, so their names are never qualified.
        return quote(f"{table}_{purpose}")


async def set_up(
    pool: ConnectionPool,
    names: Names,
    statements: list[str],
    store: str,
    finish: Callable[[asyncpg.Connection], Awaitable[None]] | None = None,
) -> None:
    """Run ``setup()``'s DDL in one transaction, then ``finish`` in it (which may look at
    what is there now, raise, or go on). Concurrent ``CREATE ... IF NOT EXISTS`` may still
    collide in the catalog, so setups take turns on an advisory lock."""
    with DriverErrors(store):
        async with pool.acquire() as connection, connection.transaction():
            await connection.execute("SELECT pg_advisory_xact_lock(hashtext('wolkenkit setup'))")
            if names.schema is not None:
                await connection.execute(f"CREATE SCHEMA IF NOT EXISTS {quote(names.schema)}")
            for statement in statements:
                await connection.execute(statement)
            if finish is not None:
                await finish(connection)


class DriverErrors:
    """Turns driver and network errors into ``StoreError``, naming the store; our own errors
    pass through untouched."""

    __slots__ = ("_store",)

    def __init__(self, store: str) -> None:
        self._store = store

    def __enter__(self) -> None:
        return None

    def __exit__(
        self,
        error_type: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        if error is None or isinstance(error, WolkenkitError):
            return
        if isinstance(error, _DRIVER_ERRORS):
            raise StoreError(f"The {self._store} failed: {_reason(error)}.") from error
