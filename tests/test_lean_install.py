"""``pip install wolkenkit`` brings no database driver and no Docker SDK: an app under
``wk dev`` (SQLite) needs none, and a store that needs one says which extra brings it.

A fresh virtual environment gets the wheel of this wolkenkit (as ``wk init`` packs it) and
nothing else; its own ``wk`` then creates and runs the chat sample.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.helpers import wait_until
from tests.cli.test_dev_persistence import dev, messages, post
from wolkenkit.deployment.wheel import wheel_name, wolkenkit_wheel

OPTIONAL = ("asyncpg", "asyncmy", "redis", "aiobotocore", "docker", "opentelemetry.sdk")


def run(
    command: list[str], cwd: Path | None = None, environment: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environment = {
        **{
            name: value
            for name, value in os.environ.items()
            # The suite's own environment must not stand in for the fresh one.
            if name not in {"VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT", "UV_FROZEN", "UV_LOCKED"}
        },
        **(environment or {}),
    }
    return subprocess.run(
        command, cwd=cwd, env=environment, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def lean(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtual environment holding wolkenkit without extras; its ``bin``."""
    uv = shutil.which("uv")
    assert uv is not None, "uv is not on PATH (scripts/bootstrap.sh installs it)"
    directory = tmp_path_factory.mktemp("lean")
    wheel = directory / wheel_name()
    wheel.write_bytes(wolkenkit_wheel())
    venv = directory / "venv"
    for command in (
        [uv, "venv", "--quiet", "--python", sys.executable, str(venv)],
        [uv, "pip", "install", "--quiet", "--python", str(venv / "bin" / "python"), str(wheel)],
    ):
        result = run(command)
        assert result.returncode == 0, result.stderr
    return venv / "bin"


def test_no_driver_and_no_docker_sdk_comes_along(lean: Path) -> None:
    script = (
        "import importlib.util, json; "
        f"print(json.dumps([m for m in {OPTIONAL!r} if importlib.util.find_spec(m)]))"
    )
    result = run([str(lean / "python"), "-c", script])

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_the_chat_sample_runs_under_wk_dev(lean: Path, tmp_path: Path) -> None:
    result = run([str(lean / "wk"), "init", "chat", "--template", "chat"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr

    with dev(tmp_path / "chat", wk=str(lean / "wk")) as port:
        post(port, "/command/v2/communication/message/send", {"text": "Lean"})
        wait_until(lambda: [message["text"] for message in messages(port)] == ["Lean"])


@pytest.mark.parametrize(
    ("store_type", "url", "extra"),
    [
        ("postgres", "postgresql://postgres@127.0.0.1:5432/postgres", "postgres"),
        ("mariadb", "mariadb://root@127.0.0.1:3306/test", "mariadb"),
    ],
)
def test_a_store_whose_extra_is_missing_says_which_one(
    lean: Path, tmp_path: Path, store_type: str, url: str, extra: str
) -> None:
    result = run(
        [str(lean / "wk"), "setup", "store", "domain-event", store_type, "--options", url],
        cwd=tmp_path,
    )

    assert result.returncode == 1
    assert result.stderr.count("\n") == 1, result.stderr
    assert f"wolkenkit[{extra}]" in result.stderr


def test_wk_build_without_the_docker_sdk_says_which_extra(lean: Path, tmp_path: Path) -> None:
    result = run([str(lean / "wk"), "init", "shop", "--template", "blank"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr

    result = run([str(lean / "wk"), "build"], cwd=tmp_path / "shop")

    assert result.returncode == 1
    assert result.stderr.count("\n") == 1, result.stderr
    assert "wolkenkit[docker]" in result.stderr


def test_tracing_without_the_sdk_says_which_extra(lean: Path, tmp_path: Path) -> None:
    result = run([str(lean / "wk"), "init", "chat", "--template", "chat"], cwd=tmp_path)
    assert result.returncode == 0, result.stderr

    result = run(
        [str(lean / "python"), "-m", "wolkenkit.runtime.server"],
        environment={
            "APPLICATION_DIRECTORY": str(tmp_path / "chat"),
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318",
        },
    )

    assert result.returncode == 1
    assert result.stderr.count("\n") == 1, result.stderr
    assert "wolkenkit[otel]" in result.stderr
