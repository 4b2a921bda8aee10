"""A headless Chromium for page tests, driven over the DevTools protocol.

``open_page`` loads a URL and records every request the page makes, whether it failed, and the
script errors; ``evaluate`` runs JavaScript in the page. Tests skip when no Chromium is
installed (Debian: ``apt-get install chromium``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import re
import shutil
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect

EXECUTABLES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_chromium() -> str | None:
    return next(filter(None, map(shutil.which, EXECUTABLES)), None)


@dataclass
class Page:
    """What a loaded page did: its requests by URL with their status, and its failures."""

    connection: ClientConnection
    statuses: dict[str, int] = field(default_factory=dict)
    failed: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _pending: dict[int, asyncio.Future[Any]] = field(default_factory=dict)

    async def send(self, method: str, **params: Any) -> Any:
        message_id = next(self._ids)
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[message_id] = future
        await self.connection.send(
            json.dumps({"id": message_id, "method": method, "params": params})
        )
        return await future

    async def evaluate(self, expression: str) -> Any:
        result = await self.send("Runtime.evaluate", expression=expression, returnByValue=True)
        return result["result"].get("value")

    async def wait_for(self, expression: str, within: float = 15.0) -> None:
        """Until ``expression`` is truthy in the page (the page itself checks, every 0.1 s)."""
        waiting = (
            "new Promise(resolve => { const check = () => "
            f"({expression}) ? resolve(true) : setTimeout(check, 100); check(); }})"
        )
        async with asyncio.timeout(within):
            await self.send("Runtime.evaluate", expression=waiting, awaitPromise=True)

    async def receive(self) -> None:
        async for raw in self.connection:
            message = json.loads(raw)
            if "id" in message:
                future = self._pending.pop(message["id"])
                if "error" in message:
                    future.set_exception(RuntimeError(message["error"]))
                else:
                    future.set_result(message.get("result", {}))
                continue
            self._record(message["method"], message.get("params", {}))
        for future in self._pending.values():
            future.set_exception(ConnectionError("Chromium closed the connection."))

    def _record(self, method: str, params: dict[str, Any]) -> None:
        if method == "Network.responseReceived":
            response = params["response"]
            self.statuses[response["url"]] = response["status"]
        elif method == "Network.loadingFailed":
            self.failed.append(f"{params.get('errorText')} ({params.get('type')})")
        elif method == "Runtime.exceptionThrown":
            self.errors.append(json.dumps(params["exceptionDetails"])[:500])
        elif method == "Runtime.consoleAPICalled" and params.get("type") == "error":
            self.errors.append(json.dumps(params["args"])[:500])
        elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
            self.errors.append(params["entry"].get("text", ""))


@contextlib.asynccontextmanager
async def open_page(executable: str, url: str) -> AsyncIterator[Page]:
    """Chromium with a fresh profile, showing ``url`` (once its ``load`` event fired)."""
    with tempfile.TemporaryDirectory() as profile:
        process = await asyncio.create_subprocess_exec(
            executable,
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-background-networking",
            "--no-first-run",
            "--remote-debugging-port=0",
            f"--user-data-dir={profile}",
            "about:blank",
            stdout=asyncio.subprocess.DEVNULL,
            stderr=asyncio.subprocess.PIPE,
        )
        try:
            browser = await _devtools_address(process)
            async with httpx.AsyncClient() as http:
                targets = (await http.get(f"http://{browser}/json/list")).json()
            target = next(target for target in targets if target["type"] == "page")
            async with connect(target["webSocketDebuggerUrl"], max_size=None) as connection:
                page = Page(connection)
                receiving = asyncio.create_task(page.receive())
                try:
                    for domain in ("Network", "Page", "Runtime", "Log"):
                        await page.send(f"{domain}.enable")
                    await page.send("Page.navigate", url=url)
                    await page.wait_for(
                        f"location.href === {json.dumps(url)} && document.readyState === 'complete'"
                    )
                    yield page
                finally:
                    receiving.cancel()
        finally:
            process.terminate()
            await process.wait()


async def _devtools_address(process: asyncio.subprocess.Process) -> str:
    """Where Chromium's DevTools server listens, as it says on stderr (read on afterwards, so
    the pipe never fills up)."""
    stderr = process.stderr
    assert stderr is not None
    async with asyncio.timeout(30):
        while line := await stderr.readline():
            found = re.search(rb"DevTools listening on ws://([^/]+)/", line)
            if found:
                draining = asyncio.create_task(_drain(stderr))
                _draining.add(draining)
                draining.add_done_callback(_draining.discard)
                return found.group(1).decode()
    raise RuntimeError("Chromium did not start its DevTools server.")


_draining: set[asyncio.Task[None]] = set()


async def _drain(stream: asyncio.StreamReader) -> None:
    while await stream.read(65536):
        pass
