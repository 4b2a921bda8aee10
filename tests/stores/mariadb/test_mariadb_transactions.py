"""Units of work over the MariaDB stores: the shared-transaction contract, and which stores
share a database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.stores.helpers import progress_and_views
from tests.stores.mariadb.conftest import connect
from wolkenkit.messages import new_id
from wolkenkit.stores import mariadb
from wolkenkit.stores.transactions import shared_database
from wolkenkit.testing.contracts.transactions import SharedTransactionContract, Stores

pytestmark = pytest.mark.mariadb


class TestMariaDbUnitsOfWork(SharedTransactionContract):
    @pytest.fixture
    async def stores(self, options: dict[str, Any]) -> AsyncIterator[Stores]:
        async with progress_and_views(
            await mariadb.create_consumer_progress_store(options),
            await mariadb.create_view_store(options),
        ) as stores:
            yield stores


@pytest.fixture
async def other_database() -> AsyncIterator[str]:
    name = f"wk_test_{new_id().replace('-', '')[:20]}"
    connection = await connect()
    try:
        async with connection.cursor() as cursor:
            await cursor.execute(f"CREATE DATABASE `{name}`")
        yield name
    finally:
        async with connection.cursor() as cursor:
            await cursor.execute(f"DROP DATABASE IF EXISTS `{name}`")
        await connection.ensure_closed()


async def test_stores_in_two_databases_share_none(
    options: dict[str, Any], other_database: str
) -> None:
    progress = await mariadb.create_consumer_progress_store(options)
    views = await mariadb.create_view_store({**options, "database": other_database})
    try:
        assert shared_database(progress, views) is None
    finally:
        await progress.destroy()
        await views.destroy()
