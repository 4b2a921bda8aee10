"""A file store in a directory: ``<directory>/<id>/data`` and ``<directory>/<id>/metadata.json``.

Adding a file is crash-safe and race-free. Both files are written into a fresh directory
``.staging/<random>`` on the same file system, flushed to disk, and that directory is then
renamed to ``<id>`` in one step. A reader therefore sees a whole file or none, and a crash
leaves at most a staging directory, which ``setup`` sweeps away once it is stale. Renaming a
directory onto an existing, non-empty one fails, so of two writers of one id exactly one wins,
across threads and processes alike. Removing renames ``<id>`` into ``.removed/`` before
deleting it, so a file vanishes in one step too. Ids are uuids, so they never clash with
these two hidden directories.

All disk I/O runs in worker threads, in chunks, so large files never block the event loop.
"""

from __future__ import annotations

import asyncio
import errno
import os
import re
import shutil
import time
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

from wolkenkit.errors import FileAlreadyExists, FileNotFound, StoreError
from wolkenkit.files import FileMetadata
from wolkenkit.messages import UUID_PATTERN, new_id
from wolkenkit.stores.file_store import FileStore, check_new_file

#: Files are read in pieces of this size, and written once this much has come in.
CHUNK_SIZE = 256 * 1024
STAGING = ".staging"
REMOVED = ".removed"
#: A staging directory untouched for this long (s) belongs to a writer that died.
STALE_AFTER = 60 * 60

_UUID = re.compile(UUID_PATTERN)


class FileSystemFileStore(FileStore):
    """Files as directories below ``directory``, which ``setup`` creates."""

    def __init__(self, directory: Path) -> None:
        self._directory = directory

    async def setup(self) -> None:
        with self._translated("set up"):
            await asyncio.to_thread(_sweep, self._directory)

    async def destroy(self) -> None:
        # Nothing stays open between calls; the files are the data and stay.
        pass

    async def add_file(
        self, id: str, name: str, content_type: str, stream: AsyncIterable[bytes]
    ) -> FileMetadata:
        check_new_file(id, name, content_type)
        target = self._directory / id
        # Fail before reading a possibly large stream when the id is already taken.
        if await asyncio.to_thread(target.exists):
            raise FileAlreadyExists(f"File '{id}' already exists.")
        staging = self._directory / STAGING / new_id()
        with self._translated("write"):
            handle = await asyncio.to_thread(_open_staging, staging)
        try:
            length = await self._write(handle, stream)
            metadata = FileMetadata(
                id=id, name=name, content_type=content_type, content_length=length
            )
            with self._translated("write"):
                await asyncio.to_thread(_commit, handle, metadata, staging, target)
        except BaseException:
            await asyncio.to_thread(_discard, handle, staging)
            raise
        return metadata

    async def get_file(self, id: str) -> AsyncIterator[bytes]:
        path = self._existing(id) / "data"
        with self._translated("read", id):
            handle = await asyncio.to_thread(path.open, "rb")
            try:
                while chunk := await asyncio.to_thread(handle.read, CHUNK_SIZE):
                    yield chunk
            finally:
                handle.close()

    async def get_metadata(self, id: str) -> FileMetadata:
        path = self._existing(id) / "metadata.json"
        with self._translated("read", id):
            content = await asyncio.to_thread(path.read_bytes)
        return FileMetadata.model_validate_json(content)

    async def remove_file(self, id: str) -> None:
        removed = self._directory / REMOVED / new_id()
        with self._translated("remove", id):
            await asyncio.to_thread(_move_aside, self._existing(id), removed)
        # The file is gone for everyone now; deleting its bytes may fail without harm, as
        # the next setup sweeps what is left.
        await asyncio.to_thread(shutil.rmtree, removed, ignore_errors=True)

    async def _write(self, handle: BinaryIO, stream: AsyncIterable[bytes]) -> int:
        """Copy the stream to the file in chunks of about ``CHUNK_SIZE``; return its length.
        The stream's own errors pass through untranslated."""
        length = 0
        buffer = bytearray()
        async for chunk in stream:
            length += len(chunk)
            buffer += chunk
            if len(buffer) >= CHUNK_SIZE:
                with self._translated("write"):
                    await asyncio.to_thread(handle.write, buffer)
                buffer = bytearray()
        if buffer:
            with self._translated("write"):
                await asyncio.to_thread(handle.write, buffer)
        return length

    def _existing(self, id: str) -> Path:
        """The directory of a file; an id that is no uuid names no file (nor a path)."""
        if not _UUID.fullmatch(id):
            raise FileNotFound(f"File '{id}' not found.")
        return self._directory / id

    @contextmanager
    def _translated(self, action: str, id: str | None = None) -> Iterator[None]:
        """Operating system errors as ours: a missing file, or one line naming the cause."""
        try:
            yield
        except OSError as error:
            if id is not None and isinstance(error, FileNotFoundError):
                raise FileNotFound(f"File '{id}' not found.") from None
            raise StoreError(
                f"The file system file store failed to {action} in '{self._directory}': "
                f"{error.strerror or error}."
            ) from None


def _open_staging(staging: Path) -> BinaryIO:
    # Not the parents: a store directory that has gone missing is an error to report.
    staging.parent.mkdir(exist_ok=True)
    staging.mkdir()
    return (staging / "data").open("xb")


def _move_aside(path: Path, removed: Path) -> None:
    removed.parent.mkdir(exist_ok=True)
    os.rename(path, removed)


def _commit(handle: BinaryIO, metadata: FileMetadata, staging: Path, target: Path) -> None:
    """Make the staged file durable, then publish it under its id in one rename."""
    handle.flush()
    os.fsync(handle.fileno())
    handle.close()
    with (staging / "metadata.json").open("xb") as metadata_file:
        metadata_file.write(metadata.model_dump_json().encode())
        metadata_file.flush()
        os.fsync(metadata_file.fileno())
    _fsync_directory(staging)
    try:
        os.rename(staging, target)
    except OSError as error:
        if error.errno in (errno.EEXIST, errno.ENOTEMPTY):
            raise FileAlreadyExists(f"File '{target.name}' already exists.") from None
        raise
    # The rename itself is durable only once the parent directory is.
    _fsync_directory(target.parent)


def _discard(handle: BinaryIO, staging: Path) -> None:
    handle.close()
    shutil.rmtree(staging, ignore_errors=True)


def _fsync_directory(path: Path) -> None:
    descriptor = os.open(path, os.O_RDONLY)
    try:
        os.fsync(descriptor)
    finally:
        os.close(descriptor)


def _sweep(directory: Path) -> None:
    """Create the directory, and delete what removals and dead writers left behind."""
    directory.mkdir(parents=True, exist_ok=True)
    # The two directories stay, as other processes may be moving entries into them.
    for name in (STAGING, REMOVED):
        (directory / name).mkdir(exist_ok=True)
    for entry in (directory / REMOVED).iterdir():
        shutil.rmtree(entry, ignore_errors=True)
    stale_before = time.time() - STALE_AFTER
    for entry in (directory / STAGING).iterdir():
        if _last_change(entry) < stale_before:
            shutil.rmtree(entry, ignore_errors=True)


def _last_change(directory: Path) -> float:
    try:
        return max(path.stat().st_mtime for path in [directory, *directory.iterdir()])
    except FileNotFoundError:
        return time.time()  # Gone or finished meanwhile: not ours to touch.
