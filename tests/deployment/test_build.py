"""``wk build``: the image's Dockerfile, the build context, and the build on an engine.

No Docker engine can run where these tests run. So the build is tested at the Docker Engine
API boundary, against a stand-in engine on a Unix socket (``tests/deployment/engine.py``)
that records what ``wk build`` sends and answers with a recorded build log.
"""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import tarfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deployment.engine import Engine, engine_at
from tests.scaffolds.helpers import wk
from wolkenkit.deployment.context import build_context
from wolkenkit.deployment.dockerfile import DOCKERFILE
from wolkenkit.deployment.wheel import wheel_name, wolkenkit_wheel
from wolkenkit.scaffolds import create_project

CHAT_FILES = [
    ".dockerignore",
    "Dockerfile",
    "README.md",
    "client/app.js",
    "client/index.html",
    "pyproject.toml",
    "server/domain/communication/message.py",
    "server/flows/messages.py",
    "server/infrastructure.py",
    "server/notifications.py",
    "server/tables.py",
    "server/views/messages.py",
    f"wheels/{wheel_name()}",
]


def wk_build(*arguments: str, cwd: Path, docker_host: str) -> subprocess.CompletedProcess[str]:
    environment = {**os.environ, "DOCKER_HOST": docker_host, "COLUMNS": "200"}
    environment.pop("DOCKER_CONTEXT", None)
    return wk("build", *arguments, cwd=cwd, environment=environment)


@pytest.fixture
def chat(tmp_path: Path) -> Path:
    """A chat app as a developer has it: with data, a virtual environment and caches."""
    app = create_project("shop", template="chat", directory=tmp_path / "shop")
    for name in (
        ".wolkenkit/wolkenkit.db",
        ".venv/lib/python3.11/site-packages/x.py",
        "server/__pycache__/message.cpython-311.pyc",
        ".pytest_cache/v/cache/nodeids",
        "notes.txt",
    ):
        (app / name).parent.mkdir(parents=True, exist_ok=True)
        (app / name).write_text("not for the image")
    return app


@pytest.fixture
def engine(tmp_path: Path) -> Iterator[Engine]:
    with engine_at(tmp_path / "docker.sock") as engine:
        yield engine


def names_in(archive: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        return sorted(member.name for member in tar.getmembers() if member.isfile())


def test_the_image_is_multi_stage_slim_unprivileged_and_checks_its_health() -> None:
    stages = [line for line in DOCKERFILE.splitlines() if line.startswith("FROM ")]

    assert len(stages) == 2
    assert all(stage.split()[1].endswith("-slim") for stage in stages)
    assert "USER wolkenkit" in DOCKERFILE
    assert "HEALTHCHECK" in DOCKERFILE
    assert "CMD wk health" in DOCKERFILE
    assert 'CMD ["python", "-m", "wolkenkit.runtime.server"]' in DOCKERFILE


def test_the_context_holds_exactly_the_apps_files(chat: Path) -> None:
    context = build_context(chat)

    assert context.files == CHAT_FILES
    assert names_in(context.archive) == CHAT_FILES


def test_the_context_brings_our_dockerfile_when_the_app_has_none(chat: Path) -> None:
    (chat / "Dockerfile").unlink()
    (chat / ".dockerignore").unlink()

    context = build_context(chat)

    assert context.files == CHAT_FILES
    with tarfile.open(fileobj=io.BytesIO(context.archive)) as tar:
        dockerfile = tar.extractfile("Dockerfile")
        assert dockerfile is not None
        assert dockerfile.read().decode() == DOCKERFILE


def test_the_context_brings_the_wolkenkit_wheel_that_the_project_installs(chat: Path) -> None:
    # wk init put the wheel there; pyproject.toml points uv at it and the image installs it.
    wheel = f"wheels/{wheel_name()}"
    assert wheel in (chat / "pyproject.toml").read_text()

    context = build_context(chat)

    assert member(context.archive, wheel) == (chat / wheel).read_bytes()


def test_the_context_brings_the_running_wolkenkit_when_the_app_has_no_wheel(chat: Path) -> None:
    # An app not made by wk init: its image installs the wolkenkit that builds it.
    shutil.rmtree(chat / "wheels")

    context = build_context(chat)

    assert context.files == CHAT_FILES
    assert member(context.archive, f"wheels/{wheel_name()}") == wolkenkit_wheel()


@pytest.mark.parametrize(
    ("extras", "drivers"), [("postgres,redis", ["wolkenkit[postgres,redis]"]), ("", [])]
)
def test_the_image_installs_the_wheels_by_file_beside_the_dependencies(
    tmp_path: Path, extras: str, drivers: list[str]
) -> None:
    # The Dockerfile's first stage, run as it runs in the image (but for pip): the wheels in
    # wheels/ are installed by file, so no index is asked for what they hold; the extras the
    # build argument names bring their drivers.
    project = tmp_path / "project"
    project.mkdir()
    (project / "pyproject.toml").write_text(
        '[project]\nname = "shop"\ndependencies = ["wolkenkit>=0.1.0", "httpx"]\n'
    )
    (project / "wolkenkit-0.1.0-py3-none-any.whl").write_bytes(b"")
    requirements = tmp_path / "requirements.txt"
    [install] = [line for line in run_instructions(DOCKERFILE) if "requirements.txt" in line]
    command = (
        install.replace("/tmp/project", str(project))
        .replace("/tmp/requirements.txt", str(requirements))
        .replace("/opt/venv/bin/pip install", "true")
        .replace("python -c", f"{sys.executable} -c")
    )

    subprocess.run(
        ["sh", "-c", command], check=True, env={**os.environ, "WOLKENKIT_EXTRAS": extras}
    )

    assert requirements.read_text().splitlines() == [
        f"{project}/wolkenkit-0.1.0-py3-none-any.whl",
        "wolkenkit>=0.1.0",
        "httpx",
        *drivers,
    ]


def test_an_image_built_without_compose_gets_the_database_servers_drivers() -> None:
    assert "ARG WOLKENKIT_EXTRAS=postgres,mariadb,redis,otel\n" in DOCKERFILE


def run_instructions(dockerfile: str) -> list[str]:
    """The shell commands of the Dockerfile's RUN lines, with continuations joined."""
    joined = dockerfile.replace("\\\n", "")
    return [line.removeprefix("RUN ") for line in joined.splitlines() if line.startswith("RUN ")]


def member(archive: bytes, name: str) -> bytes:
    with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
        content = tar.extractfile(name)
        assert content is not None
        return content.read()


def test_wk_build_sends_exactly_the_apps_files(chat: Path, engine: Engine) -> None:
    result = wk_build("--tag", "shop:1.0", cwd=chat, docker_host=engine.docker_host)

    assert result.returncode == 0, result.stderr
    [(query, body)] = engine.builds
    assert query["t"] == ["shop:1.0"]
    assert names_in(body) == CHAT_FILES
    # The log streams through: each step, and the image built.
    assert "Step 1/2" in result.stdout
    assert "Step 2/2" in result.stdout
    assert "Built the image shop:1.0 (sha256:8f2e4b1c9d07" in result.stdout


def test_the_tag_defaults_to_the_projects_name(chat: Path, engine: Engine) -> None:
    result = wk_build(cwd=chat, docker_host=engine.docker_host)

    assert result.returncode == 0, result.stderr
    assert engine.builds[0][0]["t"] == ["shop"]


def test_a_failing_build_is_one_line(chat: Path, engine: Engine) -> None:
    engine.build_log = [
        {"stream": "Step 1/2 : FROM python:3.11-slim\n"},
        {
            "error": "pull access denied for python, repository does not exist",
            "errorDetail": {"message": "pull access denied"},
        },
    ]

    result = wk_build(cwd=chat, docker_host=engine.docker_host)

    assert result.returncode == 1
    assert result.stderr == (
        "Error: The image build failed: pull access denied for python, repository does not exist.\n"
    )


def test_without_an_engine_wk_build_says_so_in_one_line(chat: Path, tmp_path: Path) -> None:
    result = wk_build(cwd=chat, docker_host=f"unix://{tmp_path / 'no-engine.sock'}")

    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.count("\n") == 1
    assert result.stderr.startswith("Error: No Docker engine is reachable at unix://")
    assert "Traceback" not in result.stderr
