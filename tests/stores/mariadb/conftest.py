"""Fixtures of the MariaDB store tests: the test server and a throwaway database per test."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from typing import Any

import asyncmy
import pytest

from wolkenkit.messages import new_id

#: The test server; ``WOLKENKIT_TEST_MARIADB_*`` variables point the tests elsewhere.
SERVER: dict[str, Any] = {
    "type": "MariaDb",
    "hostName": os.environ.get("WOLKENKIT_TEST_MARIADB_HOST", "127.0.0.1"),
    "port": int(os.environ.get("WOLKENKIT_TEST_MARIADB_PORT", "3306")),
    "userName": os.environ.get("WOLKENKIT_TEST_MARIADB_USER", "root"),
    "password": os.environ.get("WOLKENKIT_TEST_MARIADB_PASSWORD", ""),
}


async def connect(database: str | None = None) -> asyncmy.Connection:
    """A plain connection to the test server, for looking behind a store's back."""
    connection: asyncmy.Connection = await asyncmy.connect(
        host=SERVER["hostName"],
        port=SERVER["port"],
        user=SERVER["userName"],
        password=SERVER["password"],
        database=database,
        autocommit=True,
    )
    return connection


@pytest.fixture
def server() -> dict[str, Any]:
    """Options that reach the test server, without a database or table names."""
    return dict(SERVER)


@pytest.fixture
async def options() -> AsyncIterator[dict[str, Any]]:
    """Store options for a database of this test's own, dropped afterwards."""
    database = f"wk_test_{new_id().replace('-', '')[:20]}"
    connection = await connect()
    try:
        async with connection.cursor() as cursor:
            await cursor.execute(f"CREATE DATABASE `{database}`")
        yield {**SERVER, "database": database}
    finally:
        async with connection.cursor() as cursor:
            await cursor.execute(f"DROP DATABASE IF EXISTS `{database}`")
        await connection.ensure_closed()


@pytest.fixture
async def connection(options: dict[str, Any]) -> AsyncIterator[asyncmy.Connection]:
    """A plain connection to the test's database, for looking behind the stores' backs."""
    connection = await connect(options["database"])
    yield connection
    await connection.ensure_closed()
