"""The file system backend: a file store in a local directory.

The factory function below serves ``wolkenkit.stores.factory`` for
``{"type": "FileSystem", "directory": ...}``. A relative directory is taken from the working
directory at start-up. A path that can never work (a file, or a directory we may not write to)
fails at creation; a missing directory is created by ``setup``.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import Field

from wolkenkit.errors import StoreOptionsInvalid
from wolkenkit.stores.filesystem.file_store import FileSystemFileStore
from wolkenkit.stores.options import OptionsModel, parse_options

__all__ = ["FileSystemFileStore", "FileSystemOptions", "create_file_store"]

_STORE = "file system file store"


class FileSystemOptions(OptionsModel):
    type: Literal["FileSystem"] = "FileSystem"
    directory: Annotated[str, Field(min_length=1)]


async def create_file_store(options: Mapping[str, Any]) -> FileSystemFileStore:
    parsed = parse_options(FileSystemOptions, options, _STORE)
    directory, problem = await asyncio.to_thread(_inspect, parsed.directory)
    if problem is not None:
        raise StoreOptionsInvalid(f"The {_STORE} cannot use '{directory}': {problem}.")
    return FileSystemFileStore(directory)


def _inspect(name: str) -> tuple[Path, str | None]:
    """The absolute directory, and why it cannot serve, if it cannot."""
    directory = Path(name).absolute()
    return directory, _problem_with(directory)


def _problem_with(directory: Path) -> str | None:
    # The nearest existing ancestor decides whether setup can create what is missing.
    existing = directory
    while not existing.exists() and existing != existing.parent:
        existing = existing.parent
    if not existing.is_dir():
        return "it is not a directory" if existing == directory else f"'{existing}' is a file"
    if not os.access(existing, os.W_OK | os.X_OK):
        return "it is not writable" if existing == directory else f"'{existing}' is not writable"
    return None
