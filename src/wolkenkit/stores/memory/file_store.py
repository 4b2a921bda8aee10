"""A file store that keeps files as bytes in the process's memory."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass

from wolkenkit.errors import FileAlreadyExists, FileNotFound
from wolkenkit.files import FileMetadata
from wolkenkit.stores.file_store import FileStore

#: Files are handed out in pieces of this size, as a stream from disk or S3 would be.
CHUNK_SIZE = 64 * 1024


@dataclass(frozen=True, slots=True)
class _StoredFile:
    metadata: FileMetadata
    content: bytes


class InMemoryFileStore(FileStore):
    """Files by id; ``destroy`` forgets them."""

    def __init__(self) -> None:
        self._files: dict[str, _StoredFile] = {}

    async def setup(self) -> None:
        pass

    async def destroy(self) -> None:
        self._files.clear()

    async def add_file(
        self, id: str, name: str, content_type: str, stream: AsyncIterable[bytes]
    ) -> FileMetadata:
        # Fail before reading a possibly large stream when the id is already taken.
        self._ensure_free(id)
        chunks = [chunk async for chunk in stream]
        content = b"".join(chunks)
        metadata = FileMetadata(
            id=id, name=name, content_type=content_type, content_length=len(content)
        )
        # Another add of the same id may have finished while the stream was read.
        self._ensure_free(id)
        self._files[id] = _StoredFile(metadata=metadata, content=content)
        return metadata

    async def get_file(self, id: str) -> AsyncIterator[bytes]:
        content = self._get(id).content
        for start in range(0, len(content), CHUNK_SIZE):
            yield content[start : start + CHUNK_SIZE]

    async def get_metadata(self, id: str) -> FileMetadata:
        return self._get(id).metadata

    async def remove_file(self, id: str) -> None:
        self._get(id)
        del self._files[id]

    def _get(self, id: str) -> _StoredFile:
        stored_file = self._files.get(id)
        if stored_file is None:
            raise FileNotFound(f"File '{id}' not found.")
        return stored_file

    def _ensure_free(self, id: str) -> None:
        if id in self._files:
            raise FileAlreadyExists(f"File '{id}' already exists.")
