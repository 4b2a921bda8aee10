"""The file API: add, get and remove files, and the hooks around it."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.runtime.conftest import StartServer
from wolkenkit import load_application
from wolkenkit.runtime.server import Serving

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
    assert fetched.headers["content-disposition"] == "inline; filename=hello.txt"
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
