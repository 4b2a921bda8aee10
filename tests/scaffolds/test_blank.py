"""The blank template: a sample of each part, whose own tests pass as generated."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.scaffolds.helpers import project_tests, type_check, wk

DEPLOYMENT_FILES = [
    ".env.example",
    "microservice.postgres.yml",
    "setup.postgres.yml",
    "setup.sqlite.yml",
    "single-process.postgres.yml",
    "single-process.sqlite.yml",
    "stores.postgres.yml",
]


@pytest.fixture(scope="module")
def blank(tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("init")
    result = wk("init", "sample", "--template", "blank", cwd=directory)
    assert result.returncode == 0, result.stderr
    return directory / "sample"


def test_its_tests_pass_right_after_init(blank: Path) -> None:
    result = project_tests(blank)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 passed" in result.stdout
    # Not even pytest-asyncio's warning about its unset loop scope, where it is installed.
    assert "warning" not in (result.stdout + result.stderr).lower()


def test_it_type_checks_as_generated(blank: Path) -> None:
    # The README's `mypy`: strict, with the project's own settings, on server/ and tests/.
    result = type_check(blank)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "strict = true" in (blank / "pyproject.toml").read_text()


def test_it_has_the_files_of_a_project(blank: Path) -> None:
    assert '"wolkenkit>=0.1.0"' in (blank / "pyproject.toml").read_text()
    readme = (blank / "README.md").read_text()
    for command in ("wk dev", "wk describe", "pytest", "wk build", "docker compose"):
        assert command in readme
    assert "USER wolkenkit" in (blank / "Dockerfile").read_text()
    assert "!server/" in (blank / ".dockerignore").read_text().splitlines()
    compose = blank / "deployment" / "docker-compose"
    assert sorted(path.name for path in compose.iterdir()) == DEPLOYMENT_FILES
    assert ".env" in (blank / ".gitignore").read_text().splitlines()


def test_it_is_the_references_blank_application(blank: Path) -> None:
    result = wk("describe", str(blank), "--json", cwd=blank.parent)
    assert result.returncode == 0, result.stderr
    description: dict[str, Any] = json.loads(result.stdout)

    commands = description["commands"]["sampleContext"]["sampleAggregate"]
    assert list(commands) == ["sampleCommand"]
    assert commands["sampleCommand"]["schema"] == {
        "type": "object",
        "properties": {},
        "additionalProperties": False,
    }
    events = description["domainEvents"]["sampleContext"]["sampleAggregate"]
    assert "sampleDomainEvent" in events
    assert description["notifications"] == {}
    assert list(description["views"]) == ["sampleView"]
    assert list(description["views"]["sampleView"]) == ["all"]
