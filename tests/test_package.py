"""The package's public names, imported lazily."""

from __future__ import annotations

import subprocess
import sys
import typing

import wolkenkit


def test_every_public_name_resolves_and_the_lists_agree() -> None:
    assert sorted(wolkenkit.__all__) == sorted(wolkenkit._EXPORTS)
    for name in wolkenkit.__all__:
        value = getattr(wolkenkit, name)
        if typing.get_origin(value) is typing.Annotated:
            # A type alias (``BigInt``) has no name of its own; it resolves, which is enough.
            continue
        assert getattr(value, "__name__", name) == name


def test_importing_the_package_does_not_import_the_application_model() -> None:
    # What keeps ``wk`` quick to start: its commands import wolkenkit for its errors only.
    probe = "import sys, wolkenkit.errors; print('pydantic' in sys.modules)"
    result = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "False"
