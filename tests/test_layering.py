"""The layering of the codebase is lint: ruff refuses an import that breaks it (see the
banned imports in pyproject.toml and the ruff.toml of application/, domain/, stores/ and
runtime/http/ and runtime/graphql/)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
RUFF = str(Path(sys.executable).parent / "ruff")


def lint(path: str, source: str) -> subprocess.CompletedProcess[str]:
    """ruff's verdict on ``source`` as if it were the file ``path`` of this repository."""
    return subprocess.run(
        [RUFF, "check", "--no-cache", "--output-format", "concise", "--stdin-filename", path],
        input=source,
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize(
    ("path", "source", "rule"),
    [
        # The domain layer knows nothing of the runtime, nor of any backend.
        ("src/wolkenkit/domain/example.py", "from wolkenkit.runtime import settings\n", "TID251"),
        ("src/wolkenkit/domain/example.py", "from wolkenkit.stores.sqlite import x\n", "TID251"),
        ("src/wolkenkit/application/example.py", "import starlette\n", "TID251"),
        # Stores know nothing above them.
        ("src/wolkenkit/stores/sqlite/example.py", "from wolkenkit.domain import x\n", "TID251"),
        # Nothing imports the CLI.
        ("src/wolkenkit/runtime/example.py", "from wolkenkit.cli import main\n", "TID251"),
        ("src/wolkenkit/runtime/http/example.py", "from wolkenkit.cli import main\n", "TID251"),
        # The HTTP and GraphQL APIs see the runtime as a Gateway, not its composition root.
        (
            "src/wolkenkit/runtime/http/example.py",
            "from wolkenkit.runtime.composition import Runtime\n\nprint(Runtime)\n",
            "TID251",
        ),
        (
            "src/wolkenkit/runtime/graphql/example.py",
            "from wolkenkit.runtime import composition\n\nprint(composition)\n",
            "TID251",
        ),
        # A driver is imported at module level by its backend only.
        ("src/wolkenkit/runtime/example.py", "import asyncpg\n", "TID253"),
        ("src/wolkenkit/stores/mariadb/example.py", "import asyncpg\n", "TID253"),
    ],
)
def test_an_import_across_the_layers_is_refused(path: str, source: str, rule: str) -> None:
    result = lint(path, source + "print(x)\n" if "import x" in source else source)

    assert result.returncode == 1
    assert rule in result.stdout, result.stdout


def test_a_transport_imports_the_gateway() -> None:
    result = lint(
        "src/wolkenkit/runtime/graphql/example.py",
        "from wolkenkit.runtime.gateway import Gateway\n\nprint(Gateway)\n",
    )

    assert result.returncode == 0, result.stdout


def test_a_backend_imports_its_own_driver() -> None:
    result = lint(
        "src/wolkenkit/stores/postgres/example.py", "import asyncpg\n\nPOOL = asyncpg.Pool\n"
    )

    assert result.returncode == 0, result.stdout
