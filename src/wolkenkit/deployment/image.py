"""Building an application's image on a Docker engine, through the Docker SDK.

``build_image`` sends the build context (see :mod:`wolkenkit.deployment.context`) to the
engine that ``DOCKER_HOST`` and friends name (``docker.from_env()``) and reports the engine's
log as it streams in, as events a user interface can show. An engine that cannot be reached,
or a build that fails, raises ``CliError`` in one line.
"""

from __future__ import annotations

import io
import os
import re
import tomllib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from wolkenkit.deployment.context import build_context, require_docker_sdk
from wolkenkit.errors import CliError

_STEP = re.compile(r"^Step (\d+)/(\d+) : (.*)$", re.DOTALL)
_TAG_INVALID = re.compile(r"[^a-z0-9._-]+")


@dataclass(frozen=True)
class BuildStep:
    """The engine began step ``number`` of ``total``: ``instruction``."""

    number: int
    total: int
    instruction: str


@dataclass(frozen=True)
class BuildLog:
    """A line of output (a command's output, an intermediate image id)."""

    text: str


@dataclass(frozen=True)
class LayerProgress:
    """Pulling a base image: where one layer is (``current`` of ``total`` bytes, if known)."""

    layer: str
    status: str
    current: int | None
    total: int | None


BuildEvent = BuildStep | BuildLog | LayerProgress


def default_tag(directory: Path) -> str:
    """The project's name from its pyproject.toml (or the directory's), as an image name."""
    name = directory.resolve().name
    pyproject = directory / "pyproject.toml"
    if pyproject.is_file():
        try:
            project = tomllib.loads(pyproject.read_text()).get("project", {})
        except tomllib.TOMLDecodeError as error:
            raise CliError(f"'{pyproject}' is not valid TOML: {error}.") from None
        name = str(project.get("name") or name)
    return _TAG_INVALID.sub("-", name.lower()).strip("-._") or "app"


def build_image(directory: Path, tag: str, on_event: Callable[[BuildEvent], None]) -> str:
    """Build the image of the app in ``directory`` as ``tag``; returns the image's id."""
    require_docker_sdk()
    # Imported here: the SDK pulls in requests, which the other commands do not need.
    import docker
    from docker.errors import DockerException
    from requests.exceptions import RequestException

    context = build_context(directory)
    try:
        client = docker.from_env()
    except DockerException:
        raise CliError(
            f"No Docker engine is reachable at {_engine_address()}: start Docker, or point "
            "DOCKER_HOST at a running engine."
        ) from None
    try:
        chunks = client.api.build(
            fileobj=io.BytesIO(context.archive),
            custom_context=True,
            tag=tag,
            rm=True,
            forcerm=True,
            decode=True,
        )
        return _follow(chunks, on_event)
    except (DockerException, RequestException) as error:
        raise CliError(
            f"The Docker engine failed to build the image: {_first_line(error)}"
        ) from None
    finally:
        client.close()


def _follow(chunks: Iterator[Mapping[str, Any]], on_event: Callable[[BuildEvent], None]) -> str:
    image_id = ""
    for chunk in chunks:
        if "error" in chunk:
            raise CliError(f"The image build failed: {_first_line(chunk['error'])}")
        if isinstance(chunk.get("aux"), Mapping) and "ID" in chunk["aux"]:
            image_id = str(chunk["aux"]["ID"])
        if "stream" in chunk:
            for line in str(chunk["stream"]).splitlines():
                step = _STEP.match(line)
                if step is not None:
                    number, total, instruction = step.groups()
                    on_event(BuildStep(int(number), int(total), instruction))
                elif line.strip():
                    on_event(BuildLog(line))
        elif "status" in chunk:
            detail = chunk.get("progressDetail") or {}
            on_event(
                LayerProgress(
                    str(chunk.get("id", "")),
                    str(chunk["status"]),
                    detail.get("current"),
                    detail.get("total"),
                )
            )
    if not image_id:
        raise CliError("The Docker engine ended the build without naming an image.")
    return image_id


def _engine_address() -> str:
    return os.environ.get("DOCKER_HOST") or "the default socket (/var/run/docker.sock)"


def _first_line(error: object) -> str:
    lines = str(error).strip().splitlines()
    text = lines[0].rstrip(".") if lines else "unknown error"
    return f"{text}."
