"""The file store: blobs with a name and a content type, addressed by uuid."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import AsyncIterable, AsyncIterator

from pydantic import ValidationError

from wolkenkit.errors import ParameterInvalid
from wolkenkit.files import FileAddMetadata, FileMetadata


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


def check_new_file(id: str, name: str, content_type: str) -> None:
    """Raise ``ParameterInvalid`` unless the id is a uuid, the name is not empty and the
    content type is one; for backends that must check before they write anything."""
    try:
        # By the wire's names, so the error names the field as clients know it.
        FileAddMetadata.model_validate({"id": id, "name": name, "contentType": content_type})
    except ValidationError as error:
        problem = error.errors()[0]
        raise ParameterInvalid(
            f"The file's {problem['loc'][0]} is invalid: {problem['msg']}."
        ) from None
