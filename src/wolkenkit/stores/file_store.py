"""The file store: blobs with a name and a content type, addressed by uuid."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterable, AsyncIterator

from wolkenkit.files import FileMetadata


class FileStore(ABC):
    @abstractmethod
    async def setup(self) -> None: ...

    @abstractmethod
    async def destroy(self) -> None: ...

    @abstractmethod
    async def add_file(
        self, id: str, name: str, content_type: str, stream: AsyncIterable[bytes]
    ) -> FileMetadata:
        """Store the bytes and return the metadata with the counted length.
        Raises ``FileAlreadyExists`` if the id is taken."""

    @abstractmethod
    def get_file(self, id: str) -> AsyncIterator[bytes]:
        """The file's bytes in chunks; raises ``FileNotFound`` on the first read."""

    @abstractmethod
    async def get_metadata(self, id: str) -> FileMetadata:
        """Raises ``FileNotFound``."""

    @abstractmethod
    async def remove_file(self, id: str) -> None:
        """Raises ``FileNotFound``."""
