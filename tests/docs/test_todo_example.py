"""The todo example of docs/writing-an-application.md is a complete app, exactly as printed.

Between the page's ``todo-example`` markers, each file is a python block preceded by its
path on a line of its own; the files are written out, loaded, driven through a command, its
event, the flow and the view, and type-checked with the settings of a generated project.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.scaffolds.helpers import type_check
from wolkenkit import load_application
from wolkenkit.testing import Sandbox

PAGE = Path(__file__).parent.parent.parent / "docs" / "writing-an-application.md"
#: One file of an example: ```` `server/...py` ````, a blank line, and its python block.
_FILE = re.compile(r"^`(server/\S+\.py)`\n\n```python\n(.*?)^```$", re.MULTILINE | re.DOTALL)


def example_files(marker: str) -> list[tuple[str, str]]:
    """The files, as (path, code), between the page's ``<marker>:start`` and ``:end``."""
    [region] = re.findall(
        rf"<!-- {marker}:start -->\n(.*?)<!-- {marker}:end -->", PAGE.read_text(), re.DOTALL
    )
    files: list[tuple[str, str]] = _FILE.findall(region)
    assert _FILE.sub("", region).strip() == "", "every block of the example has its path"
    return files


def write_app(files: list[tuple[str, str]], directory: Path) -> Path:
    """Each file at its path below ``directory``, and a generated project's mypy settings."""
    for path, code in files:
        target = directory / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(code)
    # A generated project's type-check settings (the blank template's).
    (directory / "pyproject.toml").write_text(
        '[tool.mypy]\nstrict = true\nplugins = ["pydantic.mypy"]\nfiles = ["server"]\n'
        "explicit_package_bases = true\n"
    )
    return directory


@pytest.fixture(scope="module")
def app_directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_app(example_files("todo-example"), tmp_path_factory.mktemp("todos"))


def test_the_example_is_short() -> None:
    # The yardstick: an aggregate with two commands, a flow and a view in 80 lines,
    # counting every line inside the blocks, blank ones too.
    files = example_files("todo-example")
    lines = sum(len(code.splitlines()) for _, code in files)

    assert [path for path, _ in files] == [
        "server/domain/planning/todo.py",
        "server/tables.py",
        "server/flows/todos.py",
        "server/views/todos.py",
    ]
    assert lines <= 80


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
