"""The single-process runtime on SQLite (``wk dev``'s stores) keeps the commands it accepted
in a journal: a process killed (SIGKILL) while they wait handles them after its restart.

The app's one command worker hangs in the first command (``hang``) until killed; the commands
sent after it are accepted (200) and wait in the queue behind it.
"""

from __future__ import annotations

import asyncio
import json
import signal
from pathlib import Path
from typing import Any

from tests.application.app_files import write_app
from tests.application.counting_app import MARKER
from tests.runtime.test_exactly_once import (
    PATIENCE_SECONDS,
    _wait_for,
    runtime,
    send,
    sqlite_stores,
)
from wolkenkit.messages import AggregateIdentifier
from wolkenkit.stores import factory

HANGING_APP = {
    "server/domain/communication/message.py": f"""
        import asyncio
        import os
        from pathlib import Path

        from wolkenkit import Aggregate, Everyone, Schema


        class State(Schema):
            text: str = ""


        class Send(Schema):
            text: str


        aggregate = Aggregate(State, authorize=Everyone)


        @aggregate.event
        class Sent(Schema):
            text: str


        @aggregate.command
        async def send(command: Send) -> Sent:
            marker = Path(os.environ["{MARKER}"])
            if command.text == "hang" and not marker.exists():
                marker.touch()
                await asyncio.Event().wait()
            return Sent(text=command.text)
    """,
}


async def _handled(options: dict[str, Any], aggregates: list[AggregateIdentifier]) -> int:
    store = await factory.create_domain_event_store(options)
    try:
        events = [await store.get_last_domain_event(aggregate) for aggregate in aggregates]
    finally:
        await store.destroy()
    return sum(event is not None for event in events)


def test_commands_accepted_before_a_kill_are_handled_after_the_restart(tmp_path: Path) -> None:
    app = write_app(tmp_path / "app", HANGING_APP)
    log = tmp_path / "runtime.log"
    with sqlite_stores(app, apart=False) as stores:
        events = json.loads(stores.environment["DOMAIN_EVENT_STORE_OPTIONS"])
        with runtime(app, stores, log) as killed:
            aggregates = [send(killed.port, "hang")]
            _wait_for(lambda: (app / "written").exists(), "the hanging command")
            aggregates += [send(killed.port, text) for text in ("one", "two", "three")]
            killed.process.send_signal(signal.SIGKILL)
            assert killed.process.wait(timeout=PATIENCE_SECONDS) == -signal.SIGKILL
        assert asyncio.run(_handled(events, aggregates)) == 0

        with runtime(app, stores, log):
            _wait_for(
                lambda: asyncio.run(_handled(events, aggregates)) == len(aggregates),
                "the accepted commands",
            )
