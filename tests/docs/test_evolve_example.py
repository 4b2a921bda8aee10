"""The example of docs/evolving-an-application.md works as printed.

Its code block is split into files at its ``# server/...py`` and ``# tests/...py`` headers;
the app loads, its sandbox test passes, and the whole passes ``mypy --strict``. Without its
last upcaster the app does not load, and the error names the model's file and line.
"""

from __future__ import annotations

import json
import re
import runpy
from pathlib import Path

import pytest

from tests.scaffolds.helpers import type_check, wk
from wolkenkit import load_application
from wolkenkit.errors import UpcasterMalformed

PAGE = Path(__file__).parent.parent.parent / "docs" / "evolving-an-application.md"
_BLOCK = re.compile(
    r"<!-- evolve-example:start -->\n```python\n(.*?)```\n<!-- evolve-example:end -->",
    re.DOTALL,
)
_HEADER = re.compile(r"^# ((?:server|tests)/\S+\.py)$", re.MULTILINE)
MODULE = "server/domain/planning/todo.py"


def write_example(directory: Path, change: tuple[str, str] = ("", "")) -> Path:
    """The example's files in ``directory``, with ``change`` (old, new) made to its code."""
    [code] = _BLOCK.findall(PAGE.read_text())
    parts = _HEADER.split(str(code).replace(*change))
    assert parts[0].strip() == "", "the example starts with a file header"
    for path, text in zip(parts[1::2], parts[2::2], strict=True):
        target = directory / path
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text.strip() + "\n")
    (directory / "pyproject.toml").write_text(
        '[tool.mypy]\nstrict = true\nplugins = ["pydantic.mypy"]\nfiles = ["server", "tests"]\n'
        "explicit_package_bases = true\n"
    )
    return directory


@pytest.fixture(scope="module")
def app_directory(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_example(tmp_path_factory.mktemp("todos"))


def test_the_sandbox_test_of_the_example_passes(app_directory: Path) -> None:
    tests = runpy.run_path(str(app_directory / "tests" / "test_versions.py"))

    tests["test_a_todo_noted_by_version_1_can_be_completed"]()


def test_wk_describe_shows_each_events_version(app_directory: Path) -> None:
    # In the tree every event's; in the JSON (the API's description) those past version 1.
    tree = wk("describe", str(app_directory), cwd=app_directory)
    description = json.loads(wk("describe", "--json", str(app_directory), cwd=app_directory).stdout)

    assert "noted v3 {text: string, noted_at: integer}" in tree.stdout
    assert "completed v1 {}" in tree.stdout
    events = description["domainEvents"]["planning"]["todo"]
    assert events["noted"]["version"] == 3
    assert "version" not in events["completed"]


def test_without_an_upcaster_the_example_does_not_load(tmp_path: Path) -> None:
    # The page shows this error; it names the line of the model's class.
    directory = write_example(tmp_path, ("@aggregate.upcaster(Noted, from_version=2)\n", ""))
    line = (directory / MODULE).read_text().splitlines().index("class Noted(Schema, version=3):")

    with pytest.raises(UpcasterMalformed) as raised:
        load_application(directory)

    assert str(raised.value) == (
        f"Noted ({directory / MODULE}:{line + 1}) is at version 3, but no upcaster lifts its "
        "version 2 to 3: add one with @aggregate.upcaster(Noted, from_version=2)."
    )


def test_the_example_passes_mypy_strict(app_directory: Path) -> None:
    result = type_check(app_directory)

    assert result.returncode == 0, result.stdout + result.stderr
