"""A file store in an S3 bucket (or any S3-compatible server): objects ``<id>/data`` and
``<id>/metadata.json``, as the reference lays them out.

A file exists once its ``metadata.json`` exists. Adding uploads ``data`` first, on the
condition that it does not exist yet (which makes the id the winner's), and writes
``metadata.json`` last; removing deletes ``metadata.json`` first. So readers see a whole file
or none, and two writers of one id cannot mix their bytes. A writer that dies between the two
objects leaves a ``data`` object without metadata: the file does not exist, but its id stays
taken until the object is deleted by hand.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from contextlib import AsyncExitStack, contextmanager
from typing import TYPE_CHECKING, cast

from botocore.exceptions import BotoCoreError, ClientError

from wolkenkit.errors import FileAlreadyExists, FileNotFound, StoreError
from wolkenkit.files import FileMetadata
from wolkenkit.messages import UUID_PATTERN
from wolkenkit.stores.file_store import FileStore, check_new_file
from wolkenkit.stores.s3.upload import upload

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client
    from types_aiobotocore_s3.literals import BucketLocationConstraintType

#: Files are handed out in pieces of this size.
CHUNK_SIZE = 256 * 1024

_UUID = re.compile(UUID_PATTERN)
_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}
# A concurrent conditional write loses with 412, or with 409 while the other is in flight.
_TAKEN = {"412", "PreconditionFailed", "409", "ConditionalRequestConflict"}


class S3FileStore(FileStore):
    """Files as objects in one bucket, which ``setup`` creates."""

    def __init__(
        self, client: S3Client, resources: AsyncExitStack, bucket: str, region: str
    ) -> None:
        self._client = client
        self._resources = resources
        self._bucket = bucket
        self._region = region

    async def setup(self) -> None:
        try:
            if self._region == "us-east-1":
                await self._client.create_bucket(Bucket=self._bucket)
            else:
                # Elsewhere, S3 wants to be told the region the bucket belongs in.
                region = cast("BucketLocationConstraintType", self._region)
                await self._client.create_bucket(
                    Bucket=self._bucket, CreateBucketConfiguration={"LocationConstraint": region}
                )
        except ClientError as error:
            if _code(error) != "BucketAlreadyOwnedByYou":
                raise _failed(f"create the bucket '{self._bucket}'", error) from None
        except BotoCoreError as error:
            raise _failed(f"create the bucket '{self._bucket}'", error) from None

    async def destroy(self) -> None:
        await self._resources.aclose()

    async def add_file(
        self, id: str, name: str, content_type: str, stream: AsyncIterable[bytes]
    ) -> FileMetadata:
        # Checked first, as bytes without metadata would block the id.
        check_new_file(id, name, content_type)
        # Fail before reading a possibly large stream when the id is already taken.
        if await self._exists(id):
            raise FileAlreadyExists(f"File '{id}' already exists.")
        with self._translated("store", id):
            length = await upload(self._client, self._bucket, f"{id}/data", stream, content_type)
            metadata = FileMetadata(
                id=id, name=name, content_type=content_type, content_length=length
            )
            await self._client.put_object(
                Bucket=self._bucket,
                Key=f"{id}/metadata.json",
                Body=metadata.model_dump_json().encode(),
                ContentType="application/json",
            )
        return metadata

    async def get_file(self, id: str) -> AsyncIterator[bytes]:
        if not await self._exists(id):
            raise FileNotFound(f"File '{id}' not found.")
        with self._translated("read", id):
            response = await self._client.get_object(Bucket=self._bucket, Key=f"{id}/data")
            async with response["Body"] as body:
                async for chunk in body.iter_chunks(CHUNK_SIZE):
                    yield chunk

    async def get_metadata(self, id: str) -> FileMetadata:
        if not _UUID.fullmatch(id):
            raise FileNotFound(f"File '{id}' not found.")
        with self._translated("read", id):
            response = await self._client.get_object(Bucket=self._bucket, Key=f"{id}/metadata.json")
            async with response["Body"] as body:
                content = await body.read()
        return FileMetadata.model_validate_json(content)

    async def remove_file(self, id: str) -> None:
        if not await self._exists(id):
            raise FileNotFound(f"File '{id}' not found.")
        with self._translated("remove", id):
            # Metadata first: from this moment on the file does not exist.
            await self._client.delete_object(Bucket=self._bucket, Key=f"{id}/metadata.json")
            await self._client.delete_object(Bucket=self._bucket, Key=f"{id}/data")

    async def _exists(self, id: str) -> bool:
        if not _UUID.fullmatch(id):
            return False
        try:
            with self._translated("read", id):
                await self._client.head_object(Bucket=self._bucket, Key=f"{id}/metadata.json")
        except FileNotFound:
            return False
        return True

    @contextmanager
    def _translated(self, action: str, id: str) -> Iterator[None]:
        """The client's errors as ours: a missing or taken file, or one line of cause."""
        try:
            yield
        except ClientError as error:
            if _code(error) in _NOT_FOUND:
                raise FileNotFound(f"File '{id}' not found.") from None
            if _code(error) in _TAKEN:
                raise FileAlreadyExists(f"File '{id}' already exists.") from None
            raise _failed(f"{action} file '{id}'", error) from None
        except BotoCoreError as error:
            raise _failed(f"{action} file '{id}'", error) from None


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _failed(action: str, error: ClientError | BotoCoreError) -> StoreError:
    if isinstance(error, ClientError):
        details = error.response.get("Error", {})
        cause = f"{details.get('Code', '?')}: {details.get('Message', '')}".rstrip(": .")
    else:
        cause = str(error).rstrip(".")
    return StoreError(f"The S3 file store failed to {action}: {cause}.")
