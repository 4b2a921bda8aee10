"""The ``wk`` command: one Typer app, one small module per command.

A user's mistake (any ``WolkenkitError``) is printed as one readable line on stderr with exit
code 1; a traceback is only ever shown for a bug in wolkenkit itself.
"""

from __future__ import annotations

import sys
from importlib.metadata import version
from typing import Annotated

import typer
from rich.console import Console
from rich.text import Text

from wolkenkit.errors import WolkenkitError

app = typer.Typer(
    name="wk",
    help="wolkenkit: build, run and ship CQRS and event-sourcing backends.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    # Click's plain help, not Rich's panels: at 80 columns the panels cut long option names
    # and print `<bool>` beside every flag.
    rich_markup_mode=None,
)


def _print_version(asked: bool) -> None:
    if asked:
        typer.echo(f"wolkenkit {version('wolkenkit')}")
        raise typer.Exit


@app.callback()
def _group(
    _version: Annotated[
        bool,
        typer.Option(
            "--version",
            help="Print the installed wolkenkit version and exit.",
            callback=_print_version,
            is_eager=True,
        ),
    ] = False,
) -> None:
    # A callback keeps ``wk`` a group of commands even while only one command is registered;
    # without it Typer would make that command the whole program. It also holds the options
    # of ``wk`` itself.
    pass


error_console = Console(stderr=True, highlight=False, soft_wrap=True)


def _register_commands(arguments: list[str]) -> None:
    """Import the command modules of this package; each adds itself to ``app``.

    When the command line names a command, only its module is imported: start-up time counts
    (``wk dev`` is waited for, ``wk health`` runs in every health check), and some commands
    import heavy libraries (the Docker SDK, the runtime). Help and usage errors get them all.
    """
    import importlib
    import pkgutil

    import wolkenkit.cli

    names = sorted(
        module.name
        for module in pkgutil.iter_modules(wolkenkit.cli.__path__)
        if module.name not in {"main", "entry"}
    )
    # A command of two words (``check-events``) lives in a module with an underscore.
    requested = arguments[0].replace("-", "_") if arguments else None
    for name in [requested] if requested in names else names:
        importlib.import_module(f"wolkenkit.cli.{name}")


def run() -> None:
    """Run the command line (``wolkenkit.cli.entry`` is the console script)."""
    _register_commands(sys.argv[1:])
    try:
        # Standalone mode lets click handle help, usage errors (exit 2) and aborts as usual;
        # our own errors pass through it untouched.
        app()
    except WolkenkitError as error:
        error_console.print(Text.assemble(("Error:", "red"), " ", error.message))
        sys.exit(1)
