"""Fixtures of the PostgreSQL store tests: the test server and a throwaway schema per test."""

from __future__ import annotations

import os
import socket
from collections.abc import AsyncIterator, Iterator
from typing import Any

import asyncpg
import pytest

from wolkenkit.messages import new_id

#: The test server; ``WOLKENKIT_TEST_POSTGRES_*`` variables point the tests elsewhere.
SERVER: dict[str, Any] = {
    "type": "Postgres",
    "hostName": os.environ.get("WOLKENKIT_TEST_POSTGRES_HOST", "127.0.0.1"),
    "port": int(os.environ.get("WOLKENKIT_TEST_POSTGRES_PORT", "5432")),
    "userName": os.environ.get("WOLKENKIT_TEST_POSTGRES_USER", "postgres"),
    "password": os.environ.get("WOLKENKIT_TEST_POSTGRES_PASSWORD", ""),
    "database": os.environ.get("WOLKENKIT_TEST_POSTGRES_DATABASE", "test"),
}


async def _connect() -> asyncpg.Connection:
    connection: asyncpg.Connection = await asyncpg.connect(
        host=SERVER["hostName"],
        port=SERVER["port"],
        user=SERVER["userName"],
        password=SERVER["password"] or None,
        database=SERVER["database"],
    )
    return connection


@pytest.fixture
def closed_port() -> Iterator[int]:
    """A loopback port of this test's own that refuses connections: bound, never listening,
    so nothing else on the machine can take it meanwhile."""
    with socket.socket() as reserved:
        reserved.bind(("127.0.0.1", 0))
        yield int(reserved.getsockname()[1])


@pytest.fixture
def server() -> dict[str, Any]:
    """Options that reach the test server, without table names or schema."""
    return dict(SERVER)


@pytest.fixture
async def connection() -> AsyncIterator[asyncpg.Connection]:
    """A plain connection to the test server, for looking behind a store's back."""
    connection = await _connect()
    yield connection
    await connection.close()


@pytest.fixture
async def options() -> AsyncIterator[dict[str, Any]]:
    """Store options that place the tables into a schema of their own, dropped afterwards."""
    schema = f"test_{new_id().replace('-', '')}"
    yield {**SERVER, "schema": schema}
    connection = await _connect()
    try:
        await connection.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await connection.close()
