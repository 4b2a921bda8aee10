"""Project templates: new wolkenkit apps from the copier templates bundled here.

Each folder beside this module that holds a ``copier.yml`` is a template, named after the
folder; adding a template means adding a folder. ``create_project`` renders one::

    create_project("demo", template="chat")   # creates ./demo

and then writes the project's ``Dockerfile``, ``.dockerignore`` and compose files, which are
made by :mod:`wolkenkit.deployment` (the same code as ``wk build`` and ``wk compose``), so
they are never out of step with them. Until wolkenkit is on a package index, the project
installs the wolkenkit that made it: a wheel of it goes into the project's ``wheels/``, which
its ``pyproject.toml`` and README point at.
"""

from __future__ import annotations

import re
from pathlib import Path

from wolkenkit import __version__
from wolkenkit.deployment import write_deployment_files
from wolkenkit.deployment.wheel import wheel_name, write_wolkenkit_wheel
from wolkenkit.errors import CliError, DirectoryAlreadyExists

TEMPLATES_DIRECTORY = Path(__file__).parent
DEFAULT_TEMPLATE = "chat"

# A distribution name as PEP 508 allows it; the project's pyproject.toml carries it.
_DISTRIBUTION_NAME = re.compile(r"^([A-Za-z0-9]|[A-Za-z0-9][A-Za-z0-9._-]*[A-Za-z0-9])$")


def available_templates() -> list[str]:
    """The names of the bundled templates, sorted."""
    return sorted(
        entry.name for entry in TEMPLATES_DIRECTORY.iterdir() if (entry / "copier.yml").is_file()
    )


def check_project_name(name: str) -> None:
    """Raise ``CliError`` unless ``name`` is a valid Python distribution name."""
    if not _DISTRIBUTION_NAME.match(name):
        raise CliError(
            f"'{name}' is not a valid project name: use letters, digits, '.', '_' and '-', "
            "starting and ending with a letter or digit."
        )


def project_directory(name: str, directory: Path | None = None) -> Path:
    """Where a project goes: ``directory``, or ``./<name>``; it must not exist yet.

    Raises ``DirectoryAlreadyExists`` otherwise: nothing is ever overwritten.
    """
    target = (directory if directory is not None else Path(name)).absolute()
    if target.exists():
        raise DirectoryAlreadyExists(f"Directory '{target}' already exists.")
    return target


def create_project(
    name: str,
    template: str = DEFAULT_TEMPLATE,
    directory: Path | None = None,
    description: str | None = None,
) -> Path:
    """Render ``template`` into ``directory`` (by default ``./<name>``); returns the directory.

    Raises ``CliError`` for an invalid name or an unknown template, and
    ``DirectoryAlreadyExists`` if the directory exists.
    """
    check_project_name(name)
    templates = available_templates()
    if template not in templates:
        raise CliError(
            f"Template '{template}' not found; available templates: {', '.join(templates)}."
        )
    target = project_directory(name, directory)

    # Imported here: copier takes most of a second to import, which every other ``wk``
    # command would pay for.
    import copier

    data = {"name": name, "wolkenkit_version": __version__, "wolkenkit_wheel": wheel_name()}
    if description is not None:
        data["description"] = description
    copier.run_copy(
        str(TEMPLATES_DIRECTORY / template),
        str(target),
        data=data,
        defaults=True,
        unsafe=False,
        quiet=True,
    )
    write_wolkenkit_wheel(target)
    write_deployment_files(target)
    return target


__all__ = [
    "DEFAULT_TEMPLATE",
    "available_templates",
    "check_project_name",
    "create_project",
    "project_directory",
]
