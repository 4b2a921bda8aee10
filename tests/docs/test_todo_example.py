"""The todo example of docs/writing-an-application.md is a complete app, exactly as printed.

The code block between the page's ``todo-example`` markers is split into files at its
``# server/...py`` headers, loaded, driven through a command, its event, the flow and the
view, and type-checked with the settings of a generated project.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.scaffolds.helpers import type_check
from wolkenkit import load_application
from wolkenkit.testing import Sandbox

PAGE = Path(__file__).parent.parent.parent / "docs" / "writing-an-application.md"
_BLOCK = re.compile(
    r"<!-- todo-example:start -->\n```python\n(.*?)```\n<!-- todo-example:end -->", re.DOTALL
)
_HEADER = re.compile(r"^# (server/\S+\.py)$", re.MULTILINE)


def example_code() -> str:
    [code] = _BLOCK.findall(PAGE.read_text())
    return str(code)


def write_app(code: str, directory: Path) -> Path:
    """One file per ``# server/...py`` header, holding the lines up to the next header."""
    parts = _HEADER.split(code)
    assert parts[0].strip() == "", "the example starts with a file header"
    for path, text in zip(parts[1::2], parts[2::2], strict=True):
        target = directory / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text.strip() + "\n")
    # A generated project's type-check settings (the blank template's).
    (directory / "pyproject.toml").write_text(
        '[tool.mypy]\nstrict = true\nplugins = ["pydantic.mypy"]\nfiles = ["server"]\n'
        "explicit_package_bases = true\n"
    )
    return directory


@pytest.fixture(scope="module")
def app_directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_app(example_code(), tmp_path_factory.mktemp("todos"))


def test_the_example_is_short() -> None:
    # The yardstick: an aggregate with two commands, a flow and a view in 80 lines of
    # code (blank lines, which the formatter puts between definitions, not counted).
    lines = [line for line in example_code().splitlines() if line.strip()]

    assert len(lines) <= 80


def test_a_todo_goes_from_command_through_flow_to_view(app_directory: Path) -> None:
    sandbox = Sandbox(load_application(app_directory))
    todo = sandbox.for_aggregate("planning", "todo")

    noted = todo.when("note", {"title": "Buy milk"}).then()
    assert [(event.name, event.data) for event in noted.domain_events] == [
        ("noted", {"title": "Buy milk"})
    ]
    for event in noted.domain_events:
        sandbox.for_flow("todos").when(event).then()
    [item] = sandbox.for_view("todos").query("pending")
    assert item == {
        "id": todo.aggregate_identifier.aggregate.id,
        "title": "Buy milk",
        "done": False,
    }

    completed = todo.when("complete").then()
    assert [event.name for event in completed.domain_events] == ["completed"]
    for event in completed.domain_events:
        sandbox.for_flow("todos").when(event).then()
    assert sandbox.for_view("todos").query("pending") == []

    # A todo is completed once: the second time is rejected, and nothing reaches the flow.
    again = todo.when("complete").then()
    assert [event.name for event in again.domain_events] == ["completeRejected"]


def test_the_example_passes_mypy_strict(app_directory: Path) -> None:
    result = type_check(app_directory)

    assert result.returncode == 0, result.stdout + result.stderr
