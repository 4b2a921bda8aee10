"""The chat template's browser client, in headless Chromium against ``wk dev``: a message
typed and sent shows up in the list, and a like updates its count."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from tests.cli.test_dev_persistence import dev
from tests.runtime.chromium import Page, find_chromium, open_page
from wolkenkit.scaffolds import create_project

CHROMIUM = find_chromium()

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="needs Chromium")


async def click(page: Page, selector: str) -> None:
    """A real mouse click in the middle of the element."""
    box = await page.evaluate(
        f"(() => {{ const r = document.querySelector({json.dumps(selector)})"
        ".getBoundingClientRect(); return [r.x + r.width / 2, r.y + r.height / 2]; })()"
    )
    for kind in ("mousePressed", "mouseReleased"):
        await page.send(
            "Input.dispatchMouseEvent",
            type=kind,
            x=box[0],
            y=box[1],
            button="left",
            clickCount=1,
        )


async def test_send_and_like_in_the_browser(tmp_path: Path) -> None:
    assert CHROMIUM is not None
    chat = create_project("chat", template="chat", directory=tmp_path / "chat")

    with dev(chat) as port:
        async with open_page(CHROMIUM, f"http://127.0.0.1:{port}/client/") as page:
            # The client is live once its notification stream is open.
            await page.wait_for("document.getElementById('status').textContent === 'Live.'")
            await click(page, "#text")
            await page.send("Input.insertText", text="Hello from Chromium")
            await click(page, "#send")

            await page.wait_for(
                "[...document.querySelectorAll('.message .text')]"
                ".some(text => text.textContent === 'Hello from Chromium')"
            )
            assert await page.evaluate("document.getElementById('text').value") == ""
            assert await page.evaluate("document.querySelector('.likes').textContent") == "0"

            await click(page, ".message .like")
            await page.wait_for("document.querySelector('.likes').textContent === '1'")

            screenshot = await page.send("Page.captureScreenshot", format="png")
            (tmp_path / "chat.png").write_bytes(base64.b64decode(screenshot["data"]))
            texts = await page.evaluate(
                "[...document.querySelectorAll('.message .text')].map(text => text.textContent)"
            )
            # Taken now: closing the page aborts its open streams.
            failed, errors = list(page.failed), list(page.errors)

    assert texts == ["Hello from Chromium"]
    assert errors == []
    assert failed == []
    assert (tmp_path / "chat.png").stat().st_size > 1000
