"""The ``wk`` console script's entry point, kept free of heavy imports.

``wk dev`` starts its runtime child here, before importing the CLI framework (Typer, Rich and,
through Typer, pydantic), so that the child's imports overlap with the command's own.
"""

from __future__ import annotations

import sys


def run() -> None:
    if sys.argv[1:2] == ["dev"] and "--help" not in sys.argv:
        from wolkenkit.runtime.development import start_standby_early

        start_standby_early()
    from wolkenkit.cli.main import run as run_command

    run_command()
