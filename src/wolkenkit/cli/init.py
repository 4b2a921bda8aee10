"""``wk init``: a new application from one of the bundled templates."""

from __future__ import annotations

import os
import shlex
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from wolkenkit.cli.main import app
from wolkenkit.scaffolds import (
    DEFAULT_TEMPLATE,
    available_templates,
    check_project_name,
    create_project,
    project_directory,
)


@app.command()
def init(
    name: Annotated[
        str | None,
        typer.Argument(help="The project's name, a Python distribution name such as my-chat."),
    ] = None,
    template: Annotated[
        str | None,
        typer.Option(
            "--template",
            "-t",
            help=f"The template to start from, such as {DEFAULT_TEMPLATE}; asked for if missing.",
        ),
    ] = None,
    directory: Annotated[
        Path | None,
        typer.Option("--directory", "-d", help="Where to create the project; default ./NAME."),
    ] = None,
) -> None:
    """Create a new application. Asks for the name and the template unless given."""
    if name is None:
        name = typer.prompt("Name of the project")
    # Mistakes surface before the next question, not after it.
    check_project_name(name)
    project_directory(name, directory)
    if template is None:
        choices = ", ".join(available_templates())
        template = typer.prompt(f"Template ({choices})", default=DEFAULT_TEMPLATE)
    target = create_project(name, template, directory)
    _print_next_steps(name, template, target)


def _print_next_steps(name: str, template: str, target: Path) -> None:
    console = Console(highlight=False, soft_wrap=True, markup=False)
    console.print(f"Created the {template} application '{name}' in {target}.")
    console.print()
    console.print("Next steps:")
    for command, what in (
        (f"cd {shlex.quote(_shortest(target))}", ""),
        ("wk describe", "what the application offers"),
        ("pytest", "run its tests"),
        ("wk dev", "run it locally, reloading on every change"),
    ):
        console.print(f"  {command:<16}{what}".rstrip())


def _shortest(path: Path) -> str:
    """``path`` relative to the working directory when it lies below it, else absolute."""
    relative = os.path.relpath(path)
    return path.as_posix() if relative.startswith("..") else Path(relative).as_posix()
