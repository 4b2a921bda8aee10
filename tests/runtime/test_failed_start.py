"""A start that fails half-way leaves nothing behind: no workers running, no store open."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import pytest

from tests.domain.chat_app import build_application
from tests.runtime.conftest import make_settings
from tests.runtime.graphql.test_schema import with_tally
from wolkenkit.errors import GraphQlError
from wolkenkit.runtime.server import serving


def _sqlite_stores(directory: Path) -> dict[str, Any]:
    database = str(directory / "wolkenkit.db")
    return {
        "DOMAIN_EVENT_STORE_OPTIONS": {"type": "Sqlite", "fileName": database},
        "LOCK_STORE_OPTIONS": {"type": "Sqlite", "fileName": database},
        "VIEW_STORE_OPTIONS": {"type": "Sqlite", "fileName": str(directory / "views.db")},
        "PRIORITY_QUEUE_STORE_FOR_COMMANDS_OPTIONS": {
            "type": "Sqlite",
            "fileName": database,
            "expirationTime": 30_000,
        },
    }


def _files_open_under(directory: Path) -> list[str]:
    """The files of this process's open descriptors that lie under ``directory``."""
    opened = []
    for descriptor in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{descriptor}")
        except OSError:
            continue
        if target.startswith(str(directory)):
            opened.append(target)
    return opened


def _failing_hook() -> None:
    raise RuntimeError("The hook failed.")


@pytest.mark.parametrize(
    ("extra_commands", "graphql", "before_listening", "error"),
    [
        # GraphQL has no type for the map in tally's data: the schema cannot be made.
        (with_tally.command_handlers, {"enableIntegratedClient": False}, None, GraphQlError),
        ({}, False, _failing_hook, RuntimeError),
    ],
    ids=["graphql schema", "before listening"],
)
async def test_a_failed_start_stops_the_workers_and_closes_the_stores(
    tmp_path: Path,
    extra_commands: dict[str, Any],
    graphql: Any,
    before_listening: Any,
    error: type[Exception],
) -> None:
    tasks_before = asyncio.all_tasks()
    settings = make_settings(GRAPHQL_API=graphql, **_sqlite_stores(tmp_path))
    application = build_application(extra_commands=extra_commands)

    with pytest.raises(error):
        async with serving(settings, application, before_listening=before_listening):
            pass

    assert asyncio.all_tasks() <= tasks_before
    assert _files_open_under(tmp_path) == []
