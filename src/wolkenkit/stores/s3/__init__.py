"""The S3 backend: a file store in a bucket of Amazon S3 or any S3-compatible server.

The factory function below serves ``wolkenkit.stores.factory`` for the reference's options
``{"type": "S3", "hostName", "port", "encryptConnection", "accessKey", "secretKey", "region",
"bucketName"}`` with its defaults (``s3.amazonaws.com``, 443, no TLS, ``eu-central-1a``). It
asks the server for the bucket before it returns, so a wrong address or wrong credentials fail
at start-up in one line; a missing bucket is fine, ``setup`` creates it.

The client is aiobotocore: asynchronous, and botocore underneath, which gets signing, retries
and the S3 dialects of other servers right.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping
from contextlib import AsyncExitStack
from typing import TYPE_CHECKING, Annotated, Any, Literal

from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession, ClientCreatorContext, get_session
from botocore.exceptions import BotoCoreError, ClientError
from pydantic import Field

from wolkenkit.errors import StoreOptionsInvalid
from wolkenkit.stores.options import OptionsModel, parse_options
from wolkenkit.stores.s3.file_store import S3FileStore

if TYPE_CHECKING:
    from types_aiobotocore_s3 import S3Client

__all__ = ["S3FileStore", "S3Options", "create_file_store"]


_STORE = "S3 file store"
#: The rules for bucket names, roughly: 3 to 63 lowercase letters, digits, dots and dashes.
BUCKET_NAME_PATTERN = r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$"


class S3Options(OptionsModel):
    type: Literal["S3"] = "S3"
    host_name: Annotated[str, Field(min_length=1)] = "s3.amazonaws.com"
    port: Annotated[int, Field(ge=1, le=65535)] = 443
    encrypt_connection: bool = False
    access_key: Annotated[str, Field(min_length=1)]
    secret_key: Annotated[str, Field(min_length=1)]
    region: Annotated[str, Field(min_length=1)] = "eu-central-1a"
    bucket_name: Annotated[str, Field(pattern=BUCKET_NAME_PATTERN)]


async def create_file_store(options: Mapping[str, Any]) -> S3FileStore:
    parsed = parse_options(S3Options, options, _STORE)
    # A probe that tries once, so an unreachable server fails at once rather than after
    # the retries that serve operations well.
    async with _client(parsed, attempts=1) as probe:
        await _reach(probe, parsed)
    resources = AsyncExitStack()
    client = await resources.enter_async_context(_client(parsed, attempts=3))
    return S3FileStore(client, resources, parsed.bucket_name, parsed.region)


def _client(options: S3Options, attempts: int) -> ClientCreatorContext[S3Client]:
    return _session().create_client(
        "s3",
        endpoint_url=_endpoint(options),
        aws_access_key_id=options.access_key,
        aws_secret_access_key=options.secret_key,
        region_name=options.region,
        config=AioConfig(
            # Amazon serves buckets as subdomains; other servers mostly by path.
            s3={"addressing_style": "auto" if _is_amazon(options) else "path"},
            retries={"max_attempts": attempts, "mode": "standard"},
            connect_timeout=5,
        ),
    )


async def _reach(client: S3Client, options: S3Options) -> None:
    """Ask for the bucket once; only an answer that it does not exist yet is fine."""
    address = f"{options.host_name}:{options.port}"
    try:
        await client.head_bucket(Bucket=options.bucket_name)
    except ClientError as error:
        status = error.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if status == 404:
            return
        raise StoreOptionsInvalid(
            f"The {_STORE} may not use the bucket '{options.bucket_name}' at {address}: "
            f"{error.response.get('Error', {}).get('Message') or status}."
        ) from None
    except BotoCoreError as error:
        raise StoreOptionsInvalid(
            f"The {_STORE} cannot connect to {address}: {_describe(error)}."
        ) from None


@functools.cache
def _session() -> AioSession:
    """One session for all stores: it caches the service's model, which is slow to load."""
    return get_session()


def _endpoint(options: S3Options) -> str:
    scheme = "https" if options.encrypt_connection else "http"
    return f"{scheme}://{options.host_name}:{options.port}"


def _is_amazon(options: S3Options) -> bool:
    return options.host_name == "amazonaws.com" or options.host_name.endswith(".amazonaws.com")


def _describe(error: BotoCoreError) -> str:
    """The operating system's reason behind a connection error (``Connection refused``)."""
    cause: BaseException | None = getattr(error, "kwargs", {}).get("error")
    while cause is not None:
        if isinstance(cause, OSError) and isinstance(cause.errno, int):
            return os.strerror(cause.errno)
        cause = cause.__cause__ or cause.__context__
    return str(error).rstrip(".")
