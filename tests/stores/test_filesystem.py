"""The file system file store against the file store contract, plus what only it promises:
the reference's layout on disk, crash-safe and race-free writes, and clear option errors."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
import textwrap
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from pathlib import Path

import pytest

from wolkenkit import errors
from wolkenkit.messages import new_id
from wolkenkit.stores import factory
from wolkenkit.stores.file_store import FileStore
from wolkenkit.stores.filesystem import FileSystemFileStore, create_file_store
from wolkenkit.stores.filesystem.file_store import REMOVED, STAGING, STALE_AFTER
from wolkenkit.testing.contracts._messages import chunked, collect
from wolkenkit.testing.contracts.file_store import FileStoreContract


async def _store(directory: Path) -> FileSystemFileStore:
    store = await create_file_store({"type": "FileSystem", "directory": str(directory)})
    await store.setup()
    return store


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[FileSystemFileStore]:
    store = await _store(tmp_path / "files")
    yield store
    await store.destroy()


async def _read(store: FileSystemFileStore, id: str) -> bytes:
    return b"".join(await collect(store.get_file(id)))


def _ids(directory: Path) -> list[str]:
    """The stored files' directories, without the store's own hidden ones."""
    return sorted(path.name for path in directory.iterdir() if not path.name.startswith("."))


class TestFileSystemFileStore(FileStoreContract):
    async def test_files_are_laid_out_as_in_the_reference(
        self, store: FileSystemFileStore, tmp_path: Path
    ) -> None:
        # <directory>/<id>/data holds the bytes, <directory>/<id>/metadata.json the rest.
        id = new_id()
        await store.add_file(id, "hello.txt", "text/plain", chunked(b"hello", 2))

        assert _ids(tmp_path / "files") == [id]
        assert (tmp_path / "files" / id / "data").read_bytes() == b"hello"
        assert json.loads((tmp_path / "files" / id / "metadata.json").read_bytes()) == {
            "id": id,
            "name": "hello.txt",
            "contentType": "text/plain",
            "contentLength": 5,
        }

        # Removing leaves no trace.
        await store.remove_file(id)
        assert _ids(tmp_path / "files") == []
        assert list((tmp_path / "files" / REMOVED).iterdir()) == []


async def test_a_failing_stream_leaves_nothing_behind(
    store: FileSystemFileStore, tmp_path: Path
) -> None:
    # The client's upload breaks off: no file, no debris, and the id is still free.
    id = new_id()

    async def broken() -> AsyncIterator[bytes]:
        yield b"x" * 1_000_000
        raise ConnectionResetError("The client went away.")

    with pytest.raises(ConnectionResetError):
        await store.add_file(id, "broken.bin", "application/octet-stream", broken())

    with pytest.raises(errors.FileNotFound):
        await store.get_metadata(id)
    assert _ids(tmp_path / "files") == []
    assert list((tmp_path / "files" / STAGING).iterdir()) == []
    await store.add_file(id, "whole.bin", "application/octet-stream", chunked(b"whole", 2))
    assert await _read(store, id) == b"whole"


async def test_a_file_being_written_is_not_served(store: FileSystemFileStore) -> None:
    # Until the last byte is on disk, the file does not exist for readers.
    id, halfway, go_on = new_id(), asyncio.Event(), asyncio.Event()

    async def slow() -> AsyncIterator[bytes]:
        yield b"first half, "
        halfway.set()
        await go_on.wait()
        yield b"second half"

    adding = asyncio.create_task(store.add_file(id, "slow.txt", "text/plain", slow()))
    await halfway.wait()
    with pytest.raises(errors.FileNotFound):
        await _read(store, id)
    with pytest.raises(errors.FileNotFound):
        await store.get_metadata(id)

    go_on.set()
    await adding
    assert await _read(store, id) == b"first half, second half"


async def test_a_writer_killed_mid_file_leaves_no_file(tmp_path: Path) -> None:
    # A process dies while writing: the id stays free, the debris is swept once it is stale.
    directory, id = tmp_path / "files", new_id()
    writer = await asyncio.create_subprocess_exec(
        sys.executable, "-c", _KILLED_WRITER, str(directory), id, stdout=subprocess.PIPE
    )
    assert writer.stdout is not None
    assert await writer.stdout.readline() == b"writing\n"
    writer.kill()  # SIGKILL: no cleanup code runs
    await writer.wait()

    store = await _store(directory)
    with pytest.raises(errors.FileNotFound):
        await store.get_metadata(id)
    [debris] = (directory / STAGING).iterdir()
    assert (debris / "data").stat().st_size > 0

    stale = time.time() - STALE_AFTER - 1
    for path in [debris, debris / "data"]:
        os.utime(path, (stale, stale))
    await store.setup()
    assert list((directory / STAGING).iterdir()) == []
    await store.add_file(id, "again.txt", "text/plain", chunked(b"again", 2))
    assert await _read(store, id) == b"again"


_KILLED_WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from pathlib import Path
    from wolkenkit.stores.filesystem import create_file_store

    async def endless():
        while True:
            yield b"x" * 300_000
            print("writing", flush=True)
            await asyncio.sleep(0.01)

    async def main():
        store = await create_file_store({"type": "FileSystem", "directory": sys.argv[1]})
        await store.setup()
        await store.add_file(sys.argv[2], "endless.bin", "application/octet-stream", endless())

    asyncio.run(main())
    """
)


async def test_of_concurrent_writers_of_one_id_exactly_one_wins(
    tmp_path: Path, race_to_add: Callable[[Sequence[FileStore]], Awaitable[str]]
) -> None:
    # Renaming a directory onto a non-empty one fails, so exactly one writer publishes.
    directory = tmp_path / "files"

    id = await race_to_add([await _store(directory) for _ in range(8)])

    assert _ids(directory) == [id]
    assert list((directory / STAGING).iterdir()) == []


async def test_disk_errors_are_named_in_one_line(
    store: FileSystemFileStore, tmp_path: Path
) -> None:
    # The operating system's error becomes ours, saying what failed where.
    shutil.rmtree(tmp_path / "files")

    with pytest.raises(errors.StoreError, match=r"failed to write in .*: No such file"):
        await store.add_file(new_id(), "x.txt", "text/plain", chunked(b"x", 1))


async def test_ids_that_are_no_uuids_name_no_file(store: FileSystemFileStore) -> None:
    # An id never becomes a path of its own, so '..' cannot reach outside the directory.
    with pytest.raises(errors.FileNotFound):
        await store.get_metadata("..")
    with pytest.raises(errors.FileNotFound):
        await store.remove_file("../files")
    with pytest.raises(errors.ParameterInvalid, match="id is invalid"):
        await store.add_file("../escape", "x.txt", "text/plain", chunked(b"x", 1))


async def test_options_are_checked_at_creation(tmp_path: Path) -> None:
    a_file = tmp_path / "a-file"
    a_file.write_bytes(b"")

    with pytest.raises(errors.StoreOptionsInvalid, match="directory: Field required"):
        await create_file_store({"type": "FileSystem"})
    with pytest.raises(errors.StoreOptionsInvalid, match="it is not a directory"):
        await create_file_store({"type": "FileSystem", "directory": str(a_file)})
    with pytest.raises(errors.StoreOptionsInvalid, match="a-file' is a file"):
        await create_file_store({"type": "FileSystem", "directory": str(a_file / "files")})


async def test_a_file_url_gives_a_file_system_store(tmp_path: Path) -> None:
    store = await factory.create_file_store(f"file://{tmp_path}/files")
    await store.setup()

    assert isinstance(store, FileSystemFileStore)
    assert (tmp_path / "files").is_dir()
