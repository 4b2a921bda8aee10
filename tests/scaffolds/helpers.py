"""Running ``wk`` as a user's shell would: the console script of this environment."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

WK = Path(sys.executable).parent / "wk"


def wk(
    *arguments: str,
    cwd: Path,
    stdin: str | None = None,
    environment: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(WK), *arguments],
        capture_output=True,
        text=True,
        cwd=cwd,
        input=stdin,
        env=environment,
        check=False,
        timeout=120,
    )


def project_tests(directory: Path) -> subprocess.CompletedProcess[str]:
    """Run a generated project's own tests, as its README says to."""
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        capture_output=True,
        text=True,
        cwd=directory,
        check=False,
        timeout=120,
    )


def type_check(directory: Path) -> subprocess.CompletedProcess[str]:
    """``mypy`` in ``directory``, with the settings of its ``pyproject.toml``, from scratch."""
    return subprocess.run(
        [sys.executable, "-m", "mypy", "--no-incremental"],
        capture_output=True,
        text=True,
        cwd=directory,
        check=False,
        timeout=300,
    )
