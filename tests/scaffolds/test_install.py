"""A new project installs as its README says, on a machine where wolkenkit is installed but
on no package index: wolkenkit comes from the wheel that ``wk init`` put into ``wheels/``.

The README's commands run exactly as written, with uv and with pip. The other dependencies
come from the package index (or uv's cache). To show that wolkenkit itself is never looked up
there, an index is offered that has a newer wolkenkit: were wolkenkit resolved from an index,
that one would win and the project's tests could not import wolkenkit.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import tomllib
import zipfile
from pathlib import Path

import pytest

import wolkenkit
from tests.scaffolds.helpers import wk
from wolkenkit.deployment.wheel import wheel_name, wolkenkit_wheel

DECOY_VERSION = "99.0.0"


@pytest.fixture(scope="module")
def decoy_index(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A find-links folder with a wolkenkit that is newer than ours and holds no code."""
    directory = tmp_path_factory.mktemp("decoy-index")
    dist_info = f"wolkenkit-{DECOY_VERSION}.dist-info"
    with zipfile.ZipFile(directory / f"wolkenkit-{DECOY_VERSION}-py3-none-any.whl", "w") as wheel:
        wheel.writestr(
            f"{dist_info}/METADATA",
            f"Metadata-Version: 2.1\nName: wolkenkit\nVersion: {DECOY_VERSION}\n",
        )
        wheel.writestr(
            f"{dist_info}/WHEEL",
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
        )
        wheel.writestr(f"{dist_info}/RECORD", "")
    return directory


def new_project(directory: Path, template: str) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    result = wk("init", "demo", "--template", template, cwd=directory)
    assert result.returncode == 0, result.stderr
    return directory / "demo"


def getting_started(project: Path) -> list[list[str]]:
    """The shell blocks of the README's "Getting started", each as its command lines."""
    readme = (project / "README.md").read_text()
    section = readme.split("## Getting started", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```shell\n(.*?)```", section, flags=re.DOTALL)
    return [block.strip().splitlines() for block in blocks]


def run_as_a_user(command: str, project: Path, decoy_index: Path) -> str:
    """Run one of the README's command lines in a shell; returns its output."""
    environment = {
        name: value
        for name, value in os.environ.items()
        # The suite's own environment must not stand in for the project's.
        if name not in {"VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT", "UV_FROZEN", "UV_LOCKED"}
    }
    environment["UV_FIND_LINKS"] = environment["PIP_FIND_LINKS"] = str(decoy_index)
    result = subprocess.run(
        command,
        shell=True,
        cwd=project,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=300,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, f"{command}\n{output}"
    return output


def installed_wolkenkit(project: Path) -> dict[str, object]:
    """Where the project's environment got wolkenkit from (its ``direct_url.json``)."""
    [dist_info] = project.glob(".venv/lib/python*/site-packages/wolkenkit-*.dist-info")
    assert dist_info.name == f"wolkenkit-{wolkenkit.__version__}.dist-info"
    origin: dict[str, object] = json.loads((dist_info / "direct_url.json").read_text())
    return origin


def test_uv_installs_the_wheel_of_wheels_and_the_tests_pass_without_warnings(
    tmp_path: Path, decoy_index: Path
) -> None:
    project = new_project(tmp_path, "chat")
    [uv, _] = getting_started(project)
    assert uv == ["uv sync --extra dev", "uv run pytest"]

    outputs = [run_as_a_user(command, project, decoy_index) for command in uv]

    assert "12 passed" in outputs[-1]
    assert "warning" not in outputs[-1].lower()
    wheel = project / "wheels" / wheel_name()
    assert installed_wolkenkit(project)["url"] == wheel.as_uri()
    # The README's table: the type check passes too, as generated.
    run_as_a_user("uv run mypy", project, decoy_index)


def test_pip_installs_the_wheel_of_wheels_and_the_tests_pass_without_warnings(
    tmp_path: Path, decoy_index: Path
) -> None:
    project = new_project(tmp_path, "chat")
    [_, pip] = getting_started(project)
    assert pip[0] == "python -m venv .venv"

    outputs = [run_as_a_user(command, project, decoy_index) for command in pip]

    assert "12 passed" in outputs[-1]
    assert "warning" not in outputs[-1].lower()
    wheel = project / "wheels" / wheel_name()
    assert installed_wolkenkit(project)["url"] == wheel.as_uri()


def test_the_blank_template_installs_as_the_chat_does(tmp_path: Path) -> None:
    # Installing takes a while, so only the chat is installed above; the blank application
    # must give the same commands and the same installation settings.
    chat = new_project(tmp_path / "chat", "chat")
    blank = new_project(tmp_path / "blank", "blank")

    assert getting_started(blank) == getting_started(chat)
    for section in ("project.optional-dependencies", "tool.uv.sources", "tool.pytest.ini_options"):
        assert settings(blank, section) == settings(chat, section)
    assert (blank / "wheels" / wheel_name()).read_bytes() == wolkenkit_wheel()


def settings(project: Path, dotted: str) -> object:
    table: object = tomllib.loads((project / "pyproject.toml").read_text())
    for key in dotted.split("."):
        assert isinstance(table, dict)
        table = table[key]
    return table
