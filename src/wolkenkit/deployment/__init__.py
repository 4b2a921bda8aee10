"""Shipping an application: its Docker image and the compose files that run it.

- :mod:`~wolkenkit.deployment.dockerfile`: the ``Dockerfile`` and ``.dockerignore``.
- :mod:`~wolkenkit.deployment.context`: the build context, a tar of exactly the app's files.
- :mod:`~wolkenkit.deployment.image`: building the image on a Docker engine (``wk build``).
- :mod:`~wolkenkit.deployment.compose`: compose files per store type and runtime
  (``wk compose``), with the stores' side in :mod:`~wolkenkit.deployment.compose_stores`.
- ``write_deployment_files``: all of these into a project, as ``wk init`` does.
"""

from __future__ import annotations

import os
from pathlib import Path

from wolkenkit.deployment.compose import compose_files, env_example
from wolkenkit.deployment.dockerfile import DOCKERFILE, DOCKERIGNORE
from wolkenkit.deployment.image import default_tag

COMPOSE_DIRECTORY = Path("deployment") / "docker-compose"
ENV_EXAMPLE = ".env.example"
#: What ``wk init`` writes into a new project: the embedded default and PostgreSQL.
PROJECT_DEPLOYMENTS = (
    ("sqlite", "single-process"),
    ("postgres", "single-process"),
    ("postgres", "microservice"),
)


def write_compose_files(
    application_directory: Path,
    store_type: str,
    runtime: str,
    output: Path | None = None,
    otel_collector: bool = False,
) -> list[Path]:
    """Write the compose files of ``store_type`` and ``runtime`` into ``output`` (by default
    the app's ``deployment/docker-compose``), with an OpenTelemetry collector if asked;
    returns the files written."""
    target = output if output is not None else application_directory / COMPOSE_DIRECTORY
    context = os.path.relpath(application_directory.resolve(), target.resolve())
    files = compose_files(
        store_type,
        runtime,
        image=default_tag(application_directory),
        build_context=Path(context).as_posix(),
        otel_collector=otel_collector,
    )
    target.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in files.items():
        if name == ENV_EXAMPLE:
            continue
        path = target / name
        path.write_text(content)
        written.append(path)
    # One .env for the directory: it needs the passwords of every compose file there, also
    # those written before for another store type or runtime.
    example = env_example(path.read_text() for path in sorted(target.glob("*.yml")))
    if example is not None:
        path = target / ENV_EXAMPLE
        path.write_text(example)
        written.append(path)
    return written


def write_deployment_files(application_directory: Path) -> list[Path]:
    """Write the ``Dockerfile``, ``.dockerignore`` and compose files of a new project."""
    written = []
    for name, content in (("Dockerfile", DOCKERFILE), (".dockerignore", DOCKERIGNORE)):
        path = application_directory / name
        path.write_text(content)
        written.append(path)
    for store_type, runtime in PROJECT_DEPLOYMENTS:
        written += write_compose_files(application_directory, store_type, runtime)
    return sorted(set(written))


__all__ = ["COMPOSE_DIRECTORY", "write_compose_files", "write_deployment_files"]
