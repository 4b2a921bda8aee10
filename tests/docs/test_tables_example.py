"""The view tables example of docs/writing-an-application.md works as printed.

Its files (``server/tables.py`` and the todos flow and view over a table) replace the flow and
view of the page's todo example, whose aggregate they use; the app is driven through the
sandbox and type-checked like the todo example.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.docs.test_todo_example import example_files, write_app
from tests.scaffolds.helpers import type_check
from wolkenkit import load_application
from wolkenkit.testing import Sandbox


@pytest.fixture(scope="module")
def app_directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = write_app(example_files("todo-example"), tmp_path_factory.mktemp("todos"))
    # The page's flow and view over a table take the place of those over infrastructure.
    return write_app(example_files("tables-example"), directory)


def test_pending_todos_come_from_the_table(app_directory: Path) -> None:
    sandbox = Sandbox(load_application(app_directory))
    first = sandbox.for_aggregate("planning", "todo")
    second = sandbox.for_aggregate("planning", "todo")
    for todo, title in ((first, "Buy milk"), (second, "Water plants")):
        for event in todo.when("note", {"title": title}).then().domain_events:
            sandbox.for_flow("todos").when(event).then()
    for event in first.when("complete").then().domain_events:
        sandbox.for_flow("todos").when(event).then()

    pending = sandbox.for_view("todos").query("pending")

    assert [item["title"] for item in pending] == ["Water plants"]
    assert pending[0]["done"] is False


def test_the_example_passes_mypy_strict(app_directory: Path) -> None:
    result = type_check(app_directory)

    assert result.returncode == 0, result.stdout + result.stderr
