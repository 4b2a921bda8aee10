"""The chat template: a new app's own tests pass, and it describes itself as the reference's."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.scaffolds.helpers import project_tests, type_check, wk


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A chat app made by ``wk init``, shared by this module's tests, which only read it."""
    directory = tmp_path_factory.mktemp("init")
    result = wk("init", "demo", "--template", "chat", cwd=directory)
    assert result.returncode == 0, result.stderr
    return directory / "demo"


@pytest.fixture(scope="module")
def description(demo: Path) -> dict[str, Any]:
    result = wk("describe", "demo", "--json", cwd=demo.parent)
    assert result.returncode == 0, result.stderr
    described: dict[str, Any] = json.loads(result.stdout)
    return described


def test_its_tests_pass_right_after_init(demo: Path) -> None:
    result = project_tests(demo)

    assert result.returncode == 0, result.stdout + result.stderr
    assert "12 passed" in result.stdout
    # Not even pytest-asyncio's warning about its unset loop scope, where it is installed.
    assert "warning" not in (result.stdout + result.stderr).lower()


def test_it_type_checks_as_generated(demo: Path) -> None:
    # The README's `mypy`, with the project's settings: the event classes keep their types.
    result = type_check(demo)

    assert result.returncode == 0, result.stdout + result.stderr


def test_it_has_the_files_of_a_project(demo: Path) -> None:
    pyproject = (demo / "pyproject.toml").read_text()
    assert 'name = "demo"' in pyproject
    assert '"wolkenkit>=0.1.0"' in pyproject
    assert ".wolkenkit/" in (demo / ".gitignore").read_text().splitlines()
    readme = (demo / "README.md").read_text()
    for command in ("wk dev", "wk describe", "pytest", "wk replay", "wk build"):
        assert command in readme
    # The image and the compose files, made as wk build and wk compose make them.
    assert (demo / "Dockerfile").read_text().startswith("# The image of a wolkenkit application")
    assert "!client/" in (demo / ".dockerignore").read_text().splitlines()
    compose = demo / "deployment" / "docker-compose"
    assert (compose / "single-process.sqlite.yml").is_file()
    assert (compose / "microservice.postgres.yml").is_file()
    # The browser client, served under wk dev at /client/.
    assert (demo / "client" / "index.html").is_file()
    assert (demo / "client" / "app.js").is_file()


def test_commands_are_send_and_like(description: dict[str, Any]) -> None:
    commands = description["commands"]["communication"]["message"]

    assert list(commands) == ["send", "like"]
    assert commands["send"]["schema"] == {
        "type": "object",
        "properties": {"text": {"type": "string"}},
        "required": ["text"],
        "additionalProperties": False,
    }
    assert commands["like"]["schema"] == {
        "type": "object",
        "properties": {},
        "additionalProperties": False,
    }


def test_domain_events_include_rejections_and_failures(description: dict[str, Any]) -> None:
    events = description["domainEvents"]["communication"]["message"]

    assert set(events) == {
        "sent",
        "liked",
        "sendRejected",
        "sendFailed",
        "likeRejected",
        "likeFailed",
    }
    assert events["sent"]["schema"]["properties"] == {"text": {"type": "string"}}
    assert events["liked"]["schema"]["properties"] == {"likes": {"type": "integer"}}
    assert events["sent"]["documentation"] == "A message was sent."
    assert events["liked"]["documentation"] == (
        "A message was liked; the data holds its new number of likes."
    )
    for name in ("sendRejected", "sendFailed", "likeRejected", "likeFailed"):
        assert events[name]["schema"]["properties"] == {"reason": {"type": "string"}}


def test_notifications_and_the_view(description: dict[str, Any]) -> None:
    assert set(description["notifications"]) == {"flowMessagesUpdated", "viewMessagesUpdated"}
    item_schema = description["views"]["messages"]["all"]["itemSchema"]
    assert item_schema["properties"] == {
        "id": {"type": "string"},
        "timestamp": {"type": "integer", "x-graphql-type": "BigInt"},
        "text": {"type": "string"},
        "likes": {"type": "integer"},
    }
    assert sorted(item_schema["required"]) == ["id", "likes", "text", "timestamp"]
