"""Options and connections shared by the Redis lock store, publisher and subscriber.

Options are the reference's (``{"type": "Redis", "hostName", "port", "password", "database",
"listNames": {"locks"}}``). ``database`` is a number; a numeric string, as the reference's
environment schema wrongly allows, is accepted too. ``userName`` serves Redis ACL users and
comes from ``redis://user:secret@host`` URLs.
"""

from __future__ import annotations

import os
from typing import Annotated, Literal

from pydantic import Field
from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff
from redis.exceptions import RedisError

from wolkenkit.errors import StoreError, StoreOptionsInvalid
from wolkenkit.stores.options import OptionsModel


class RedisOptions(OptionsModel):
    """Where the Redis server is; the publisher and the subscriber need no more."""

    type: Literal["Redis"] = "Redis"
    host_name: Annotated[str, Field(min_length=1)]
    port: Annotated[int, Field(ge=1, le=65535)] = 6379
    user_name: str | None = None
    password: str | None = None
    database: Annotated[int, Field(ge=0)] = 0


class RedisListNames(OptionsModel):
    locks: Annotated[str, Field(min_length=1)] = "locks"


class RedisLockStoreOptions(RedisOptions):
    list_names: RedisListNames = RedisListNames()


def create_client(options: RedisOptions, *, name: str, retries: int = 3) -> Redis:
    """A client with a pool. Retries are few and quick: a caller rather hears of an outage
    than hangs in it."""
    return Redis(
        host=options.host_name,
        port=options.port,
        db=options.database,
        username=options.user_name,
        # An empty password in JSON options means "none", as it does for the reference.
        password=options.password or None,
        client_name=name,
        socket_connect_timeout=5,
        retry=Retry(ExponentialBackoff(cap=0.5, base=0.01), retries),
    )


async def connect(options: RedisOptions, store: str, *, name: str, retries: int = 3) -> Redis:
    """A client that has reached the server once, or ``StoreOptionsInvalid`` in one line."""
    client = create_client(options, name=name, retries=retries)
    try:
        await client.ping()
    except RedisError as error:
        await client.aclose()
        raise StoreOptionsInvalid(
            f"The {store} cannot connect to {options.host_name}:{options.port}: {describe(error)}."
        ) from None
    return client


def describe(error: BaseException) -> str:
    """The cause of a driver error in a few words (``Connection refused``)."""
    cause = error.__cause__ or error.__context__
    if isinstance(cause, OSError) and isinstance(cause.errno, int):
        return os.strerror(cause.errno)
    return str(error).rstrip(".") or type(error).__name__


def unavailable(store: str, error: RedisError) -> StoreError:
    """A driver error during an operation, translated at the boundary."""
    return StoreError(f"The {store} failed to talk to Redis: {describe(error)}.")
