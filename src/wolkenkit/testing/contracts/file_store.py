"""The contract every file store keeps: adding, reading and removing files by id."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator

import pytest

from wolkenkit.errors import FileAlreadyExists, FileNotFound
from wolkenkit.files import FileMetadata
from wolkenkit.messages import new_id
from wolkenkit.stores.file_store import FileStore
from wolkenkit.testing.contracts._messages import chunked, collect


async def _read(store: FileStore, id: str) -> bytes:
    return b"".join(await collect(store.get_file(id)))


async def _assert_not_found(store: FileStore, id: str) -> None:
    """Reading, describing and removing the file all fail alike."""
    with pytest.raises(FileNotFound):
        await _read(store, id)
    with pytest.raises(FileNotFound):
        await store.get_metadata(id)
    with pytest.raises(FileNotFound):
        await store.remove_file(id)


class FileStoreContract:
    """Everything a file store must do. Provide an async ``store`` fixture that yields a
    fresh store that has been set up."""

    async def test_an_added_file_can_be_read_back(self, store: FileStore) -> None:
        # The store counts the bytes it received and hands back the same bytes and metadata.
        id = new_id()
        content = b"Hello, wolkenkit!\n"

        metadata = await store.add_file(id, "hello.txt", "text/plain", chunked(content, 5))

        expected = FileMetadata(
            id=id, name="hello.txt", content_type="text/plain", content_length=len(content)
        )
        assert metadata == expected
        assert await store.get_metadata(id) == expected
        assert await _read(store, id) == content

    async def test_a_file_can_be_read_more_than_once(self, store: FileStore) -> None:
        id = new_id()
        await store.add_file(id, "data.bin", "application/octet-stream", chunked(b"abc", 2))

        assert await _read(store, id) == b"abc"
        assert await _read(store, id) == b"abc"

    async def test_an_empty_file_has_length_zero(self, store: FileStore) -> None:
        id = new_id()

        metadata = await store.add_file(id, "empty.txt", "text/plain", chunked(b"", 1))

        assert metadata.content_length == 0
        assert await _read(store, id) == b""

    async def test_a_large_file_survives_any_chunking(self, store: FileStore) -> None:
        # Several megabytes arrive in uneven chunks; every byte comes back, in order.
        id = new_id()
        content = os.urandom(3 * 1024 * 1024 + 17)

        metadata = await store.add_file(
            id, "large.bin", "application/octet-stream", chunked(content, 100_003)
        )

        assert metadata.content_length == len(content)
        assert await _read(store, id) == content

    async def test_an_id_can_be_added_only_once(self, store: FileStore) -> None:
        # Files are immutable: adding under a taken id fails and keeps the first file.
        id = new_id()
        await store.add_file(id, "first.txt", "text/plain", chunked(b"first", 8))

        with pytest.raises(FileAlreadyExists):
            await store.add_file(id, "second.txt", "text/plain", chunked(b"second", 8))

        assert (await store.get_metadata(id)).name == "first.txt"
        assert await _read(store, id) == b"first"

    async def test_files_are_kept_apart(self, store: FileStore) -> None:
        first, second = new_id(), new_id()
        await store.add_file(first, "first.txt", "text/plain", chunked(b"first", 8))
        await store.add_file(second, "second.json", "application/json", chunked(b"{}", 8))

        assert await _read(store, first) == b"first"
        assert (await store.get_metadata(second)).content_type == "application/json"

    async def test_an_unknown_file_is_not_found(self, store: FileStore) -> None:
        # A file that was never added cannot be read, described or removed.
        await _assert_not_found(store, new_id())

    async def test_a_removed_file_is_gone(self, store: FileStore) -> None:
        # After removal the file is unknown, and its id may be used again.
        id = new_id()
        await store.add_file(id, "gone.txt", "text/plain", chunked(b"gone", 8))

        await store.remove_file(id)

        await _assert_not_found(store, id)
        await store.add_file(id, "again.txt", "text/plain", chunked(b"again", 8))
        assert await _read(store, id) == b"again"

    async def test_a_stream_that_breaks_off_leaves_no_file(self, store: FileStore) -> None:
        # An upload that fails midway (the client left, or it grew past a size limit) stores
        # neither bytes nor metadata, and its id stays free.
        id = new_id()

        async def broken() -> AsyncIterator[bytes]:
            yield b"x" * 100_000
            raise _BrokenOff()

        with pytest.raises(_BrokenOff):
            await store.add_file(id, "broken.bin", "application/octet-stream", broken())

        await _assert_not_found(store, id)
        await store.add_file(id, "whole.txt", "text/plain", chunked(b"whole", 2))
        assert await _read(store, id) == b"whole"


class _BrokenOff(Exception):
    """The error of an upload stream that stops midway."""
