"""The file API: add, get and remove files, and the hooks around it."""

from __future__ import annotations

import asyncio
import json
import shutil
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.runtime.conftest import StartServer
from wolkenkit import load_application
from wolkenkit.runtime.server import Serving
from wolkenkit.runtime.settings import DEFAULT_FILE_SIZE_LIMIT

FILE_ID = "03edebb0-7a36-4902-a082-ef979982a12c"
HEADERS = {"x-id": FILE_ID, "x-name": "hello.txt", "content-type": "text/plain"}


async def test_add_get_and_remove_a_file(client: httpx.AsyncClient) -> None:
    added = await client.post("/files/v2/add-file", content=b"Hello, world!", headers=HEADERS)
    again = await client.post("/files/v2/add-file", content=b"Other", headers=HEADERS)
    fetched = await client.get(f"/files/v2/file/{FILE_ID}")
    removed = await client.post("/files/v2/remove-file", json={"id": FILE_ID})
    gone = await client.get(f"/files/v2/file/{FILE_ID}")

    assert (added.status_code, added.json()) == (200, {})
    assert (again.status_code, again.json()["code"]) == (409, "FileAlreadyExists")
    assert fetched.status_code == 200
    assert fetched.content == b"Hello, world!"
    assert fetched.headers["x-id"] == FILE_ID
    assert fetched.headers["x-name"] == "hello.txt"
    assert fetched.headers["content-type"].startswith("text/plain")
    assert fetched.headers["content-length"] == "13"
    assert fetched.headers["content-disposition"] == (
        "inline; filename=\"hello.txt\"; filename*=UTF-8''hello.txt"
    )
    assert (removed.status_code, removed.json()) == (200, {})
    assert (gone.status_code, gone.json()["code"]) == (404, "FileNotFound")


async def test_malformed_file_headers_are_refused(client: httpx.AsyncClient) -> None:
    for headers in (
        {**HEADERS, "x-id": "nope"},
        {**HEADERS, "x-name": ""},
        {**HEADERS, "content-type": "not a type"},
    ):
        response = await client.post("/files/v2/add-file", content=b"x", headers=headers)
        assert (response.status_code, response.json()["code"]) == (400, "RequestMalformed")


HOOKS = """
from wolkenkit import FileAddMetadata, FileMetadata, HookServices, NotAuthenticated


def adding_file(file: FileAddMetadata, services: HookServices) -> dict[str, str]:
    if file.name == "secret.txt":
        raise NotAuthenticated("No secrets.")
    return {"name": file.name.upper()}


async def getting_file(file: FileMetadata, services: HookServices) -> None:
    if services.client.user.id == "anonymous-mallory":
        raise services.error.NotAuthenticated("Not for you.")
"""


@pytest.fixture
async def hooked_client(
    start_server: StartServer, chat_directory: Path, tmp_path: Path
) -> AsyncIterator[httpx.AsyncClient]:
    directory = tmp_path / "hooked"
    shutil.copytree(chat_directory, directory)
    (directory / "server" / "hooks.py").write_text(HOOKS)
    application = load_application(directory)
    async with (
        start_server(application) as running,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{running.port}") as client,
    ):
        yield client


async def test_hooks_can_refuse_and_change_files(hooked_client: httpx.AsyncClient) -> None:
    refused = await hooked_client.post(
        "/files/v2/add-file", content=b"x", headers={**HEADERS, "x-name": "secret.txt"}
    )
    added = await hooked_client.post("/files/v2/add-file", content=b"x", headers=HEADERS)
    fetched = await hooked_client.get(f"/files/v2/file/{FILE_ID}")
    forbidden = await hooked_client.get(
        f"/files/v2/file/{FILE_ID}", headers={"x-anonymous-id": "mallory"}
    )

    assert (refused.status_code, refused.json()["code"]) == (401, "NotAuthenticated")
    assert added.status_code == 200
    assert fetched.headers["x-name"] == "HELLO.TXT"
    assert (forbidden.status_code, forbidden.json()["code"]) == (401, "NotAuthenticated")


async def test_a_large_file_streams_through(client: httpx.AsyncClient, server: Serving) -> None:
    content = bytes(range(256)) * 8192  # 2 MiB

    added = await client.post("/files/v2/add-file", content=content, headers=HEADERS)
    fetched = await client.get(f"/files/v2/file/{FILE_ID}")

    assert added.status_code == 200
    assert fetched.content == content


async def test_a_file_declared_too_large_is_refused_before_its_body(server: Serving) -> None:
    # The declared length alone decides: the answer comes while the body is still unsent.
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    head = (
        "POST /files/v2/add-file HTTP/1.1\r\nhost: localhost\r\n"
        f"x-id: {FILE_ID}\r\nx-name: huge.bin\r\ncontent-type: application/octet-stream\r\n"
        f"content-length: {2**40}\r\n\r\n"
    )
    writer.write(head.encode() + b"only the first bytes")
    await writer.drain()
    async with asyncio.timeout(30):  # Without a limit, the server waits for the rest.
        status_line = await reader.readline()
        answer = await reader.read()
    writer.close()

    assert status_line.startswith(b"HTTP/1.1 413 ")
    body = json.loads(answer.partition(b"\r\n\r\n")[2])
    assert body == {
        "code": "RequestMalformed",
        "message": f"File is larger than {DEFAULT_FILE_SIZE_LIMIT} bytes.",
    }


@pytest.mark.parametrize("store", ["InMemory", "FileSystem"])
async def test_a_streamed_file_over_the_limit_leaves_nothing_behind(
    start_server: StartServer, tmp_path: Path, store: str
) -> None:
    # A chunked upload declares no length: it is cut off once it brings more than the
    # limit, and neither its bytes nor its metadata are stored; the id stays free.
    directory = tmp_path / "files"
    options = {"type": store, **({"directory": str(directory)} if store == "FileSystem" else {})}

    async def chunks(count: int, size: int = 600) -> AsyncIterator[bytes]:
        for _ in range(count):
            yield b"x" * size

    async with (
        start_server(FILE_SIZE_LIMIT=1_000, FILE_STORE_OPTIONS=options) as running,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{running.port}") as client,
    ):
        refused = await client.post("/files/v2/add-file", content=chunks(3), headers=HEADERS)
        missing = await client.get(f"/files/v2/file/{FILE_ID}")
        if store == "FileSystem":
            left = sorted(path.relative_to(directory) for path in directory.rglob("*"))
            assert left == [Path(".removed"), Path(".staging")]
        at_limit = await client.post("/files/v2/add-file", content=b"y" * 1_000, headers=HEADERS)
        fetched = await client.get(f"/files/v2/file/{FILE_ID}")

    assert refused.status_code == 413
    assert refused.json() == {
        "code": "RequestMalformed",
        "message": "File is larger than 1000 bytes.",
    }
    assert (missing.status_code, missing.json()["code"]) == (404, "FileNotFound")
    assert at_limit.status_code == 200
    assert fetched.content == b"y" * 1_000


async def _served(client: httpx.AsyncClient, name: bytes, content_type: str) -> httpx.Response:
    """The response that serves a file just added under ``name`` (raw header bytes)."""
    file_id = str(uuid.uuid4())
    headers = {b"x-id": file_id.encode(), b"x-name": name, b"content-type": content_type.encode()}
    added = await client.post("/files/v2/add-file", content=b"<b>x</b>", headers=headers)
    assert added.status_code == 200
    return await client.get(f"/files/v2/file/{file_id}")


@pytest.mark.parametrize(
    "content_type",
    [
        "text/html",
        "image/svg+xml",
        "application/xhtml+xml",
        "text/xml",
        "application/pdf",
        "text/javascript",
        "application/x-shockwave-flash",
        "multipart/x-mixed-replace",
    ],
)
async def test_active_content_is_served_as_a_download_in_a_sandbox(
    client: httpx.AsyncClient, content_type: str
) -> None:
    # An uploaded page or script must never run on the origin of the APIs and the client:
    # it is a download, the browser may not guess another type, and if it renders the file
    # anyway, it does so in a sandbox without scripts. Clients still read the stored type.
    served = await _served(client, b"page.html", content_type)

    assert served.status_code == 200
    assert served.headers["content-disposition"].startswith("attachment;")
    assert served.headers["x-content-type-options"] == "nosniff"
    policy = {part.strip() for part in served.headers["content-security-policy"].split(";")}
    assert {"sandbox", "default-src 'none'"} <= policy
    assert served.headers["content-type"] == content_type


@pytest.mark.parametrize(
    "content_type", ["image/png", "image/jpeg", "text/plain", "video/mp4", "application/json"]
)
async def test_passive_content_is_shown_inline(
    client: httpx.AsyncClient, content_type: str
) -> None:
    served = await _served(client, b"photo.png", content_type)

    assert served.headers["content-disposition"].startswith("inline;")
    assert served.headers["x-content-type-options"] == "nosniff"
    assert "sandbox" in served.headers["content-security-policy"]


@pytest.mark.parametrize(
    ("name", "fallback", "encoded"),
    [
        (b"hello.txt", "hello.txt", "hello.txt"),
        (
            b"a.txt; filename*=UTF-8''evil.exe",
            "a.txt; filename*=UTF-8''evil.exe",
            "a.txt%3B%20filename%2A%3DUTF-8%27%27evil.exe",
        ),
        (
            b'say "hi" \\ 100%.txt',
            'say \\"hi\\" \\\\ 100_.txt',
            "say%20%22hi%22%20%5C%20100%25.txt",
        ),
        ("résumé.txt".encode("latin-1"), "r_sum_.txt", "r%C3%A9sum%C3%A9.txt"),
    ],
)
async def test_the_name_cannot_add_parameters_to_the_disposition(
    client: httpx.AsyncClient, name: bytes, fallback: str, encoded: str
) -> None:
    # RFC 6266: a quoted ASCII fallback and the exact name in RFC 8187 encoding; whatever
    # the name holds stays inside those two parameters. `x-name` carries it unchanged.
    served = await _served(client, name, "text/plain")

    assert served.headers["content-disposition"] == (
        f"inline; filename=\"{fallback}\"; filename*=UTF-8''{encoded}"
    )
    assert dict(served.headers.raw)[b"x-name"] == name
