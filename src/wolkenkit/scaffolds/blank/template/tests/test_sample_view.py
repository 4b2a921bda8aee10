"""The sample view: its query all lists nothing yet."""

from __future__ import annotations

from wolkenkit.testing import Sandbox


def test_all_is_empty(sandbox: Sandbox) -> None:
    assert sandbox.for_view("sampleView").query("all") == []
