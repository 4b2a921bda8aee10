"""The build context of an application's image: a tar of exactly the files the image needs.

The app's own ``.dockerignore`` decides what goes in (matched by the Docker SDK's
implementation of Docker's rules), or ours when it has none; the app's ``Dockerfile`` is used,
or ours. Whatever the ignore file says, the data of ``wk dev``, virtual environments, version
control and caches are never sent (``ALWAYS_EXCLUDED``). The tar is written here rather than
by the SDK, so what reaches the engine can be inspected and tested.

The Dockerfile installs the wheels in ``wheels/`` by file. An app made by ``wk init`` has a
wheel of wolkenkit there; one that has none gets the running wolkenkit's, so its image can
be built while wolkenkit is on no package index (and holds the wolkenkit it was run with).
"""

from __future__ import annotations

import importlib.util
import io
import tarfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import IO

from wolkenkit.deployment.dockerfile import ALWAYS_EXCLUDED, DOCKERFILE, DOCKERIGNORE
from wolkenkit.deployment.wheel import (
    DISTRIBUTION,
    WHEELS_DIRECTORY,
    wheel_name,
    wolkenkit_wheel,
)
from wolkenkit.errors import CliError

DOCKERFILE_NAME = "Dockerfile"
DOCKERIGNORE_NAME = ".dockerignore"


@dataclass(frozen=True)
class BuildContext:
    """What the engine receives: the archive, and the relative paths of the files in it."""

    archive: bytes
    files: list[str]


def require_docker_sdk() -> None:
    """Raise a one-line error naming the extra when the Docker SDK is not installed."""
    if importlib.util.find_spec("docker") is None:
        raise CliError(
            "wk build needs the Docker SDK, which is not installed: install wolkenkit[docker] "
            "(pip install 'wolkenkit[docker]')."
        )


def context_files(directory: Path) -> list[str]:
    """The files of ``directory`` that belong in the context, as sorted POSIX paths."""
    require_docker_sdk()
    # Imported here: the SDK pulls in requests, which the other commands do not need.
    from docker.utils.build import exclude_paths

    if not directory.is_dir():
        raise CliError(f"Directory '{directory}' not found.")
    ignore_file = directory / DOCKERIGNORE_NAME
    ignore = ignore_file.read_text() if ignore_file.is_file() else DOCKERIGNORE
    patterns = [
        line.strip() for line in ignore.splitlines() if line.strip() and not line.startswith("#")
    ]
    included = exclude_paths(str(directory), patterns, dockerfile=DOCKERFILE_NAME)
    files = []
    for name in included:
        path = PurePosixPath(name)
        if any(part in ALWAYS_EXCLUDED for part in path.parts):
            continue
        # Directories come along with their files; empty ones are not needed.
        if (directory / name).is_file() and not (directory / name).is_symlink():
            files.append(path.as_posix())
    return sorted(set(files))


def build_context(directory: Path) -> BuildContext:
    """The tar the engine builds from. The app's Dockerfile and .dockerignore go in when it
    has them, ours otherwise; its wheel of wolkenkit when it has one, the running one's
    otherwise."""
    files = context_files(directory)
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as archive:
        for name in files:
            _add_file(archive, name, directory / name)
        for name, default in ((DOCKERFILE_NAME, DOCKERFILE), (DOCKERIGNORE_NAME, DOCKERIGNORE)):
            if name not in files:
                _add_bytes(archive, name, default.encode())
                files.append(name)
        if not _has_wolkenkit_wheel(files):
            name = f"{WHEELS_DIRECTORY}/{wheel_name()}"
            _add_bytes(archive, name, wolkenkit_wheel())
            files.append(name)
    return BuildContext(buffer.getvalue(), sorted(files))


def _has_wolkenkit_wheel(files: list[str]) -> bool:
    return any(
        path.parent == PurePosixPath(WHEELS_DIRECTORY)
        and path.name.startswith(f"{DISTRIBUTION}-")
        and path.suffix == ".whl"
        for path in map(PurePosixPath, files)
    )


def _add_file(archive: tarfile.TarFile, name: str, path: Path) -> None:
    info = archive.gettarinfo(str(path), arcname=name)
    # Owners and their names on this machine mean nothing in the image.
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    with path.open("rb") as content:
        archive.addfile(info, content)


def _add_bytes(archive: tarfile.TarFile, name: str, content: bytes) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(content)
    info.mode = 0o644
    stream: IO[bytes] = io.BytesIO(content)
    archive.addfile(info, stream)
