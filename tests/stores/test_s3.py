"""The S3 file store against the file store contract, on a local S3-compatible server (moto),
plus what only S3 shows: object layout, multipart uploads, racing writers, options."""

from __future__ import annotations

import json
import logging
import os
import socket
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Sequence
from typing import TYPE_CHECKING, Any

import pytest
from aiobotocore.session import AioSession, get_session
from moto.server import ThreadedMotoServer

from tests.stores.helpers import set_up
from wolkenkit import errors
from wolkenkit.messages import new_id
from wolkenkit.stores import factory
from wolkenkit.stores.file_store import FileStore
from wolkenkit.stores.s3 import S3FileStore, create_file_store
from wolkenkit.stores.s3.upload import PART_SIZE
from wolkenkit.testing.contracts._messages import chunked, collect
from wolkenkit.testing.contracts.file_store import FileStoreContract

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client


@pytest.fixture(scope="session")
def server() -> Iterator[dict[str, Any]]:
    """A moto S3 server on a free loopback port, for the whole session."""
    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    moto.start()
    yield {"type": "S3", "hostName": "127.0.0.1", "port": port, "accessKey": "key"}
    moto.stop()


@pytest.fixture
def options(server: dict[str, Any]) -> dict[str, Any]:
    """Options for a bucket of this test's own."""
    return {**server, "secretKey": "secret", "bucketName": f"test-{new_id()}"}


@pytest.fixture(scope="session")
def session() -> AioSession:
    # Shared, as loading the service's model takes a while.
    return get_session()


@pytest.fixture
async def s3(
    server: dict[str, Any], options: dict[str, Any], session: AioSession
) -> AsyncIterator[S3Client]:
    """A plain client for looking behind the store's back; empties the test's bucket after."""
    async with session.create_client(
        "s3",
        endpoint_url=f"http://127.0.0.1:{server['port']}",
        aws_access_key_id="key",
        aws_secret_access_key="secret",
        region_name="eu-central-1",
    ) as client:
        yield client
        bucket = options["bucketName"]
        listed = await client.list_objects_v2(Bucket=bucket)
        for entry in listed.get("Contents", []):
            await client.delete_object(Bucket=bucket, Key=entry["Key"])
        await client.delete_bucket(Bucket=bucket)


@pytest.fixture
async def store(options: dict[str, Any], s3: S3Client) -> AsyncIterator[S3FileStore]:
    async with set_up(await create_file_store(options)) as store:
        yield store


async def _read(store: S3FileStore, id: str) -> bytes:
    return b"".join(await collect(store.get_file(id)))


class TestS3FileStore(FileStoreContract):
    async def test_files_are_laid_out_as_in_the_reference(
        self, store: S3FileStore, s3: S3Client, options: dict[str, Any]
    ) -> None:
        # Objects <id>/data with the bytes and <id>/metadata.json with the rest.
        id, bucket = new_id(), options["bucketName"]
        await store.add_file(id, "hello.txt", "text/plain", chunked(b"hello", 2))

        listed = await s3.list_objects_v2(Bucket=bucket)
        assert sorted(entry["Key"] for entry in listed["Contents"]) == [
            f"{id}/data",
            f"{id}/metadata.json",
        ]
        data = await s3.get_object(Bucket=bucket, Key=f"{id}/data")
        assert data["ContentType"] == "text/plain"
        assert await data["Body"].read() == b"hello"
        metadata = await s3.get_object(Bucket=bucket, Key=f"{id}/metadata.json")
        assert json.loads(await metadata["Body"].read()) == {
            "id": id,
            "name": "hello.txt",
            "contentType": "text/plain",
            "contentLength": 5,
        }


async def test_a_file_larger_than_a_part_is_uploaded_in_parts(
    store: S3FileStore, s3: S3Client, options: dict[str, Any]
) -> None:
    # Two full parts and a short last one, sent as they fill.
    id, content = new_id(), os.urandom(2 * PART_SIZE + 12_345)

    metadata = await store.add_file(
        id, "big.bin", "application/octet-stream", chunked(content, 1_000_003)
    )

    assert metadata.content_length == len(content)
    assert await _read(store, id) == content
    head = await s3.head_object(Bucket=options["bucketName"], Key=f"{id}/data")
    assert head["ETag"].endswith('-3"')  # S3's mark of an object made of three parts


async def test_a_failing_stream_leaves_no_object_and_no_parts(
    store: S3FileStore, s3: S3Client, options: dict[str, Any]
) -> None:
    # The client's upload breaks off after a part was sent: nothing stays behind.
    id, bucket = new_id(), options["bucketName"]

    async def broken() -> AsyncIterator[bytes]:
        yield os.urandom(PART_SIZE + 1)
        yield b"more"
        raise ConnectionResetError("The client went away.")

    with pytest.raises(ConnectionResetError):
        await store.add_file(id, "broken.bin", "application/octet-stream", broken())

    assert "Contents" not in await s3.list_objects_v2(Bucket=bucket)
    assert "Uploads" not in await s3.list_multipart_uploads(Bucket=bucket)
    await store.add_file(id, "whole.txt", "text/plain", chunked(b"whole", 2))
    assert await _read(store, id) == b"whole"


async def test_data_without_metadata_is_not_served(
    store: S3FileStore, s3: S3Client, options: dict[str, Any]
) -> None:
    # A file exists once its metadata does; bytes alone, as while adding, are not a file.
    id = new_id()
    await s3.put_object(Bucket=options["bucketName"], Key=f"{id}/data", Body=b"half")

    with pytest.raises(errors.FileNotFound):
        await _read(store, id)
    with pytest.raises(errors.FileNotFound):
        await store.get_metadata(id)
    with pytest.raises(errors.FileAlreadyExists):
        await store.add_file(id, "late.txt", "text/plain", chunked(b"late", 2))


async def test_a_bad_content_type_is_refused_before_anything_is_written(
    store: S3FileStore, s3: S3Client, options: dict[str, Any]
) -> None:
    # Bytes stored without metadata would block the id, so the checks come first.
    with pytest.raises(errors.ParameterInvalid, match="contentType is invalid"):
        await store.add_file(new_id(), "x.txt", "not a type", chunked(b"x", 1))

    assert "Contents" not in await s3.list_objects_v2(Bucket=options["bucketName"])


async def test_of_concurrent_writers_of_one_id_exactly_one_wins(
    store: S3FileStore,
    options: dict[str, Any],
    race_to_add: Callable[[Sequence[FileStore]], Awaitable[str]],
) -> None:
    # Uploads carry If-None-Match: *, so the server lets exactly one of them create the id.
    stores = [await create_file_store(options) for _ in range(6)]
    try:
        await race_to_add(stores)
    finally:
        for other in stores:
            await other.destroy()


async def test_setup_is_idempotent(store: S3FileStore) -> None:
    # A second start-up finds its own bucket and carries on.
    await store.setup()


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"accessKey": None}, "accessKey: Field required"),
        ({"bucketName": "Not_A_Bucket"}, "bucketName: String should match pattern"),
        ({"port": 0}, "port: Input should be greater than or equal to 1"),
        ({"directory": "/tmp"}, "directory: Extra inputs are not permitted"),
    ],
)
async def test_invalid_options_are_named(
    options: dict[str, Any], change: dict[str, Any], problem: str
) -> None:
    changed = {key: value for key, value in {**options, **change}.items() if value is not None}
    with pytest.raises(errors.StoreOptionsInvalid, match="S3 file store") as raised:
        await create_file_store(changed)
    assert problem in str(raised.value)


async def test_an_unreachable_server_fails_at_creation(options: dict[str, Any]) -> None:
    with pytest.raises(errors.StoreOptionsInvalid) as raised:
        await factory.create_file_store({**options, "port": 1})
    assert str(raised.value) == (
        "The S3 file store cannot connect to 127.0.0.1:1: Connection refused."
    )
