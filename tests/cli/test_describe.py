"""``wk describe``: the description as JSON or as a tree; a broken app is one line on stderr."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.application.app_files import AGGREGATE, CHAT, Source, aggregate_with, write_app
from wolkenkit.application.description import describe_application
from wolkenkit.application.loader import load_application
from wolkenkit.cli.describe import summarize

MESSAGE = "server/domain/communication/message.py"


def wk(*arguments: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """Run the ``wk`` entry point in a fresh interpreter, as a user's shell would."""
    return subprocess.run(
        [sys.executable, "-c", "from wolkenkit.cli.main import run; run()", *arguments],
        capture_output=True,
        text=True,
        cwd=cwd,
        check=False,
        timeout=60,
    )


def test_json_is_the_application_description() -> None:
    result = wk("describe", str(CHAT), "--json")

    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == describe_application(load_application(CHAT))
    assert result.stdout.startswith('{\n  "commands": {')


def test_the_tree_shows_every_part_with_its_documentation() -> None:
    # The app directory defaults to the current one.
    result = wk("describe", cwd=CHAT)

    assert result.returncode == 0, result.stderr
    for expected in [
        "communication",
        "send {text: string}",
        "Sends a new message.",
        # Each event with its version, 1 for all of the chat's.
        "sent v1 {text: string}",
        "sendRejected v1 {reason: string}",
        "flowMessagesUpdated",
        "all {}",
        "All messages, newest first.",
    ]:
        assert expected in result.stdout


@pytest.mark.parametrize(
    ("files", "expected"),
    [
        pytest.param(
            {"server/views/": ""},
            "Directory '{app}/server/domain' not found.",
            id="no domain",
        ),
        pytest.param(
            {MESSAGE: aggregate_with("authorize=Everyone")},
            f"Aggregate definition '{MESSAGE}' is malformed: The initial state is missing.",
            id="no initial state",
        ),
        pytest.param(
            {
                MESSAGE: """
                    from wolkenkit import Aggregate, Everyone

                    aggregate = Aggregate(dict, authorize=Everyone)


                    @aggregate.command
                    def like(command) -> None:
                        pass
                """
            },
            f"Handler 'like' ({{app}}/{MESSAGE}:7) is malformed: "
            "Parameter 'command' has no annotation, so nothing says what it is.",
            id="parameter without annotation",
        ),
        pytest.param(
            {MESSAGE: "aggregate = None\naggregate ="},
            f"Syntax error in '{MESSAGE}' (line 2): invalid syntax.",
            id="syntax error",
        ),
        pytest.param(
            {MESSAGE: ("from server.helpers import State", *AGGREGATE)},
            f"Missing import in '{MESSAGE}': No module named 'server.helpers'.",
            id="missing import",
        ),
        pytest.param(
            {
                MESSAGE: aggregate_with(
                    "State, authorize=Everyone",
                    """
                    @aggregate.event
                    def send_rejected(state: State, event: dict[str, Any]) -> State:
                        return state
                    """,
                )
            },
            f"Reserved domain event name 'sendRejected' used in '{MESSAGE}'.",
            id="reserved event name",
        ),
    ],
)
def test_a_broken_app_is_one_line_on_stderr(
    tmp_path: Path, files: dict[str, Source], expected: str
) -> None:
    write_app(tmp_path, files)

    result = wk("describe", str(tmp_path))

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr == f"Error: {expected.format(app=tmp_path)}\n"


def test_a_missing_app_directory_is_one_line_on_stderr(tmp_path: Path) -> None:
    result = wk("describe", str(tmp_path / "nowhere"))

    assert result.returncode == 1
    assert result.stderr == f"Error: Application directory '{tmp_path / 'nowhere'}' not found.\n"


def test_usage_errors_are_shown_by_click_with_exit_code_2() -> None:
    result = wk("describe", "--yaml")

    assert result.returncode == 2
    assert "No such option: --yaml" in result.stderr
    assert "Traceback" not in result.stderr


def test_help_works() -> None:
    result = wk("describe", "--help")

    assert result.returncode == 0
    assert "APP_DIR" in result.stdout
    assert "--json" in result.stdout


def test_schemas_are_summarized_in_one_line() -> None:
    assert (
        summarize(
            {
                "type": "object",
                "properties": {
                    "text": {"type": "string"},
                    "tags": {"type": "array", "items": {"type": "string"}},
                    "mood": {"enum": ["happy", "sad"]},
                    "reply": {"anyOf": [{"type": "object"}, {"type": "null"}]},
                },
                "required": ["text"],
            }
        )
        == '{text: string, tags?: list[string], mood?: "happy" | "sad", reply?: object | null}'
    )
    assert summarize({}) == "any"
    assert summarize({"type": "object", "properties": {}, "additionalProperties": False}) == "{}"
