"""The PostgreSQL stores' connection pool: bounded, cancellation-safe, self-healing."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from wolkenkit.errors import StoreError
from wolkenkit.messages import new_id
from wolkenkit.stores.postgres.connection import PostgresOptions, create_pool
from wolkenkit.stores.postgres.pool import ConnectionPool

pytestmark = pytest.mark.postgres

SIZE = 10


@pytest.fixture
def name() -> str:
    """The pool's store name, which also names its connections on the server."""
    return f"pool test {new_id()}"


@pytest.fixture
async def pool(server: dict[str, Any], name: str) -> AsyncIterator[ConnectionPool]:
    pool = await create_pool(PostgresOptions.model_validate(server), name)
    yield pool
    await pool.close()


async def _backends(connection: asyncpg.Connection, name: str) -> int:
    """How many connections the pool called ``name`` has open on the server."""
    count: int = await connection.fetchval(
        "SELECT count(*) FROM pg_stat_activity WHERE application_name = $1", f"wolkenkit {name}"
    )
    return count


async def test_callers_beyond_the_limit_wait_for_a_connection(
    pool: ConnectionPool, name: str, connection: asyncpg.Connection
) -> None:
    # Three times as many callers as connections all get their turn, on at most ten.
    results = await asyncio.gather(
        *(pool.fetchval("SELECT 1 FROM pg_sleep(0.01)") for _ in range(30))
    )

    assert results == [1] * 30
    assert await _backends(connection, name) == SIZE


async def test_a_caller_cancelled_while_waiting_loses_no_connection(pool: ConnectionPool) -> None:
    # Someone who gives up waiting must not take a connection with them.
    leases = [pool.acquire() for _ in range(SIZE)]
    for lease in leases:
        await lease.__aenter__()
    waiting = asyncio.ensure_future(pool.fetchval("SELECT 1"))
    await asyncio.sleep(0.01)

    waiting.cancel()
    for lease in leases:
        await lease.__aexit__(None, None, None)

    with pytest.raises(asyncio.CancelledError):
        await waiting
    results = await asyncio.gather(*(pool.fetchval("SELECT 2") for _ in range(SIZE + 5)))
    assert results == [2] * (SIZE + 5)


async def test_a_cancelled_query_does_not_poison_the_pool(
    pool: ConnectionPool, name: str, connection: asyncpg.Connection
) -> None:
    # A connection interrupted mid-query is closed rather than handed to the next caller.
    slow = asyncio.ensure_future(pool.fetchval("SELECT pg_sleep(5)"))
    await asyncio.sleep(0.1)
    slow.cancel()
    with pytest.raises(asyncio.CancelledError):
        await slow

    assert await pool.fetchval("SELECT 3") == 3
    assert await _eventually(connection, name, 1)


async def test_connections_the_server_ended_are_replaced(
    pool: ConnectionPool, name: str, connection: asyncpg.Connection
) -> None:
    # After a server restart or an administrator's kill, stores go on with new connections.
    await asyncio.gather(*(pool.fetchval("SELECT pg_sleep(0.01)") for _ in range(3)))
    await connection.execute(
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = $1",
        f"wolkenkit {name}",
    )
    await asyncio.sleep(0.1)

    assert await pool.fetchval("SELECT 4") == 4


async def test_closing_ends_every_connection(
    server: dict[str, Any], name: str, connection: asyncpg.Connection
) -> None:
    # Idle connections close at once, borrowed ones as soon as they come back.
    pool = await create_pool(PostgresOptions.model_validate(server), name)
    await asyncio.gather(*(pool.fetchval("SELECT pg_sleep(0.01)") for _ in range(4)))
    lease = pool.acquire()
    await lease.__aenter__()

    await pool.close()
    await lease.__aexit__(None, None, None)

    with pytest.raises(StoreError, match="has been destroyed"):
        await pool.fetchval("SELECT 1")
    assert await _eventually(connection, name, 0)


async def _eventually(connection: asyncpg.Connection, name: str, count: int) -> bool:
    """Whether the server soon counts ``count`` connections of the pool; it notices closed
    connections a moment after the client."""
    for _ in range(50):
        if await _backends(connection, name) == count:
            return True
        await asyncio.sleep(0.02)
    return False
