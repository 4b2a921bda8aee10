"""Units of work over the PostgreSQL stores: the shared-transaction contract, and which
stores share a database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from tests.stores.helpers import progress_and_views
from tests.stores.postgres.conftest import SERVER
from wolkenkit.messages import new_id
from wolkenkit.stores import postgres
from wolkenkit.stores.transactions import shared_database
from wolkenkit.testing.contracts.transactions import SharedTransactionContract, Stores

pytestmark = pytest.mark.postgres


class TestPostgresUnitsOfWork(SharedTransactionContract):
    @pytest.fixture
    async def stores(self, options: dict[str, Any]) -> AsyncIterator[Stores]:
        async with progress_and_views(
            await postgres.create_consumer_progress_store(options),
            await postgres.create_view_store(options),
        ) as stores:
            yield stores


async def test_stores_in_two_schemas_of_one_database_share_it(options: dict[str, Any]) -> None:
    progress = await postgres.create_consumer_progress_store(options)
    views = await postgres.create_view_store({**options, "schema": f"{options['schema']}_views"})
    try:
        assert shared_database(progress, views) is not None
    finally:
        await progress.destroy()
        await views.destroy()


@pytest.fixture
async def other_database(connection: asyncpg.Connection) -> AsyncIterator[str]:
    name = f"wk_test_{new_id().replace('-', '')[:20]}"
    await connection.execute(f'CREATE DATABASE "{name}"')
    yield name
    await connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_stores_in_two_databases_share_none(
    options: dict[str, Any], other_database: str
) -> None:
    progress = await postgres.create_consumer_progress_store(options)
    views = await postgres.create_view_store({**SERVER, "database": other_database})
    try:
        assert shared_database(progress, views) is None
    finally:
        await progress.destroy()
        await views.destroy()
