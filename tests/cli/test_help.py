"""``wk --help`` and ``wk --version`` as a user sees them in an 80-column terminal."""

from __future__ import annotations

import importlib
import os
from importlib.metadata import version
from pathlib import Path
from typing import Any

import pytest
import typer.main

from tests.scaffolds.helpers import wk
from wolkenkit.cli.main import app

#: What each short flag stands for, wherever it appears: the long names it may abbreviate.
#: A short flag not listed here, or standing for another long name, fails the test below.
SHORT_FLAGS = {
    "-b": {"--base-path"},
    "-c": {"--claims"},
    "-d": {"--directory"},
    "-e": {"--expiration"},
    # The issuer of tokens: the one wk token signs for, the one wk dev accepts.
    "-i": {"--issuer", "--identity-provider-issuer"},
    "-k": {"--private-key"},
    "-n": {"--host-name"},
    "-p": {"--port"},
    "-r": {"--raw"},
    "-s": {"--health-socket"},
    "-t": {"--template"},
}


def help_of(*command: str) -> str:
    result = wk(*command, "--help", cwd=Path.cwd(), environment={**os.environ, "COLUMNS": "80"})
    assert result.returncode == 0, result.stderr
    return result.stdout


#: Every command and group of wk; the first test checks that the help lists exactly these.
COMMANDS = [
    (),
    ("build",),
    ("check-events",),
    ("compose",),
    ("describe",),
    ("dev",),
    ("health",),
    ("init",),
    ("replay",),
    ("run",),
    ("setup",),
    ("setup", "infrastructure"),
    ("setup", "store"),
    ("token",),
]


def listed_commands(command: tuple[str, ...]) -> list[tuple[str, ...]]:
    """The subcommands a group's help lists."""
    text = help_of(*command)
    if "\nCommands:\n" not in text:
        return []
    listing = text.split("\nCommands:\n", 1)[1]
    return [(*command, line.split()[0]) for line in listing.splitlines() if line]


def test_the_table_holds_every_command() -> None:
    found: list[tuple[str, ...]] = [()]
    for command in found:
        found += listed_commands(command)

    assert sorted(found) == sorted(COMMANDS)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda command: " ".join(command) or "wk")
def test_the_help_reads_well_at_80_columns(command: tuple[str, ...]) -> None:
    text = help_of(*command)

    # Nothing is cut: no ellipsis anywhere, no line wider than the terminal.
    assert "…" not in text
    assert max(len(line) for line in text.splitlines()) <= 80
    # A flag takes no value, so it shows none.
    assert "<bool>" not in text


@pytest.mark.parametrize("command", COMMANDS, ids=lambda command: " ".join(command) or "wk")
def test_a_short_flag_means_the_same_everywhere(command: tuple[str, ...]) -> None:
    for option in options_of(command):
        for short in (name for name in option.opts if not name.startswith("--")):
            longs = {name for name in option.opts if name.startswith("--")}
            assert longs <= SHORT_FLAGS.get(short, set()), f"wk {' '.join(command)}: {short}"


def options_of(command: tuple[str, ...]) -> list[Any]:
    """The command's options as the CLI defines them (each module registers its command)."""
    for name in {names[0] for names in COMMANDS if names}:
        importlib.import_module(f"wolkenkit.cli.{name.replace('-', '_')}")
    found: Any = typer.main.get_command(app)
    for name in command:
        found = found.commands[name]
    return [parameter for parameter in found.params if parameter.param_type_name == "option"]


def test_version_prints_the_installed_version() -> None:
    result = wk("--version", cwd=Path.cwd())

    assert result.returncode == 0
    assert result.stdout == f"wolkenkit {version('wolkenkit')}\n"
    assert result.stderr == ""
