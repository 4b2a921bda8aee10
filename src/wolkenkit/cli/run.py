"""``wk run``: run the runtime, or some of its services, as a process for production."""

from __future__ import annotations

from typing import Annotated

import typer

from wolkenkit.cli.main import app
from wolkenkit.errors import CliError
from wolkenkit.runtime.services import Service, parse_services


@app.command()
def run(
    services: Annotated[
        list[str] | None,
        typer.Argument(
            help=(
                "Services to run in this process (default: all, the single-process runtime): "
                + ", ".join(service.value for service in Service)
                + "."
            ),
            metavar="[SERVICE]...",
        ),
    ] = None,
) -> None:
    """Run the runtime, configured by environment variables."""
    names = services or []
    try:
        parse_services(names)
    except ValueError as error:
        raise CliError(str(error)) from None
    # Imported here: the runtime's imports are heavier than the CLI's.
    from wolkenkit.runtime.server import main

    main(names)
