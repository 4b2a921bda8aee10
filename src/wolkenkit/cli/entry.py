"""The ``wk`` console script's entry point, kept free of heavy imports.

``wk dev`` starts its runtime child here, before importing the CLI framework (Typer, Rich and,
through Typer, pydantic), so that the child's imports overlap with the command's own.
"""

from __future__ import annotations

import sys

#: The exit code of a program stopped by Ctrl+C (128 + SIGINT), as shells and Typer use it.
INTERRUPTED = 130


def run() -> None:
    try:
        if sys.argv[1:2] == ["dev"] and "--help" not in sys.argv:
            from wolkenkit.runtime.standby import start_early

            start_early()
        from wolkenkit.cli.main import run as run_command

        run_command()
    except KeyboardInterrupt:
        # Ctrl+C while the command is still being imported: stop as quietly as once it runs.
        # Nothing is imported here: an import the Ctrl+C cut short would fail again.
        standby = sys.modules.get("wolkenkit.runtime.standby")
        if standby is not None:
            standby.discard_early()
        sys.exit(INTERRUPTED)
