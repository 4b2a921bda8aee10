"""Streaming an upload of unknown length into one S3 object, without overwriting.

A stream that fits into one part becomes a single ``PutObject``; a longer one becomes a
multipart upload whose parts are sent as they fill, so memory holds at most two parts, never
the whole file. Both the put and the completion of a multipart upload carry
``If-None-Match: *``, so the object appears only if no object of that key exists: of two
concurrent uploads exactly one wins, and the other fails with ``FileAlreadyExists``.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncGenerator, AsyncIterable, AsyncIterator
from typing import TYPE_CHECKING

from botocore.exceptions import BotoCoreError, ClientError

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client
    from types_aiobotocore_s3.type_defs import CompletedPartTypeDef

#: S3 wants parts of at least 5 MiB (but the last); bigger ones mean fewer requests, and
#: memory holds two at most.
PART_SIZE = 8 * 1024 * 1024


async def upload(
    client: S3Client, bucket: str, key: str, stream: AsyncIterable[bytes], content_type: str
) -> int:
    """Store the stream as ``key`` unless it exists; return the number of bytes."""
    async with contextlib.aclosing(_parts(stream)) as parts:
        # Only a second part tells that one request will not do.
        read_ahead: list[bytes] = []
        async for part in parts:
            read_ahead.append(part)
            if len(read_ahead) == 2:
                break
        if len(read_ahead) < 2:
            body = read_ahead[0] if read_ahead else b""
            await client.put_object(
                Bucket=bucket, Key=key, Body=body, ContentType=content_type, IfNoneMatch="*"
            )
            return len(body)
        created = await client.create_multipart_upload(
            Bucket=bucket, Key=key, ContentType=content_type
        )
        upload_id = created["UploadId"]
        try:
            return await _send_parts(client, bucket, key, upload_id, read_ahead, parts)
        except BaseException:
            # Parts of an unfinished upload are stored (and billed) until aborted. Shielded,
            # so that a cancelled caller still lets the abort go out.
            with contextlib.suppress(BotoCoreError, ClientError, asyncio.CancelledError):
                await asyncio.shield(
                    client.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=upload_id)
                )
            raise


async def _send_parts(
    client: S3Client,
    bucket: str,
    key: str,
    upload_id: str,
    read_ahead: list[bytes],
    rest: AsyncIterator[bytes],
) -> int:
    """Upload the parts one by one and complete the upload; return the number of bytes."""
    completed: list[CompletedPartTypeDef] = []
    length = 0

    async def send(part: bytes) -> None:
        nonlocal length
        number = len(completed) + 1
        response = await client.upload_part(
            Bucket=bucket, Key=key, UploadId=upload_id, PartNumber=number, Body=part
        )
        entry: CompletedPartTypeDef = {"ETag": response["ETag"], "PartNumber": number}
        # The client adds a checksum to each part by default; completing must repeat it.
        if "ChecksumCRC32" in response:
            entry["ChecksumCRC32"] = response["ChecksumCRC32"]
        completed.append(entry)
        length += len(part)

    while read_ahead:
        # Popped, so that a sent part's memory is free while the next one is read.
        await send(read_ahead.pop(0))
    async for part in rest:
        await send(part)
    await client.complete_multipart_upload(
        Bucket=bucket,
        Key=key,
        UploadId=upload_id,
        MultipartUpload={"Parts": completed},
        IfNoneMatch="*",
    )
    return length


async def _parts(stream: AsyncIterable[bytes]) -> AsyncGenerator[bytes]:
    """The stream regrouped into parts of ``PART_SIZE`` bytes (but the last)."""
    buffer = bytearray()
    async for chunk in stream:
        buffer += chunk
        while len(buffer) >= PART_SIZE:
            yield bytes(buffer[:PART_SIZE])
            del buffer[:PART_SIZE]
    if buffer:
        yield bytes(buffer)
