"""Metadata of stored files, shared by the file store, the file hooks and the HTTP API."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from wolkenkit.messages import Uuid, WireModel

CONTENT_TYPE_PATTERN = r"^\w+/[-.\w]+(\+[-.\w]+)?$"


class FileAddMetadata(WireModel):
    """What a client says about a file it adds."""

    id: Uuid
    name: Annotated[str, Field(min_length=1)]
    content_type: Annotated[str, Field(pattern=CONTENT_TYPE_PATTERN)]


class FileMetadata(FileAddMetadata):
    """A stored file's metadata, with its size in bytes."""

    content_length: Annotated[int, Field(ge=0)]
