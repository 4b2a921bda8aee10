"""``wk check-events`` as a user meets it: the store of ``wk dev`` by default, another by
option or environment, and mistakes in one line. (That it finds what does not fit, on every
SQL backend, is in tests/runtime/test_schema_evolution.py.)"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from tests.application.app_files import CHAT
from tests.scaffolds.helpers import wk
from wolkenkit.messages import AggregateIdentifier, new_id
from wolkenkit.runtime.development import DATA_DIRECTORY, embedded_store_environment
from wolkenkit.stores import factory
from wolkenkit.testing import build_domain_event


async def _store_sent(options: str, count: int) -> None:
    store = await factory.create_domain_event_store(json.loads(options))
    await store.setup()
    try:
        for _ in range(count):
            identifier = AggregateIdentifier.of("communication", "message", new_id())
            await store.store_domain_events(
                [build_domain_event(identifier, "sent", {"text": "Hello"})]
            )
    finally:
        await store.destroy()


def _environment(**more: str) -> dict[str, str]:
    environment = {**os.environ, **more}
    environment.pop("DOMAIN_EVENT_STORE_OPTIONS", None)
    environment.update(more)
    return environment


async def test_it_reads_the_store_of_wk_dev_by_default(tmp_path: Path) -> None:
    # A copy of the chat fixture, with the events a wk dev of it stored in .wolkenkit/.
    app = shutil.copytree(CHAT, tmp_path / "chat")
    options = embedded_store_environment(app / DATA_DIRECTORY)["DOMAIN_EVENT_STORE_OPTIONS"]
    await _store_sent(options, 3)

    result = wk("check-events", cwd=app, environment=_environment())

    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.startswith("Checked 3 events in ")


async def test_the_environment_and_the_option_name_the_store(tmp_path: Path) -> None:
    options = json.dumps({"type": "Sqlite", "fileName": str(tmp_path / "events.db")})
    await _store_sent(options, 2)

    by_environment = wk(
        "check-events",
        str(CHAT),
        cwd=tmp_path,
        environment=_environment(DOMAIN_EVENT_STORE_OPTIONS=options),
    )
    by_option = wk(
        "check-events",
        str(CHAT),
        "--domain-event-store-options",
        options,
        cwd=tmp_path,
        environment=_environment(),
    )

    for result in (by_environment, by_option):
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.startswith("Checked 2 events in ")
        assert result.stdout.rstrip().endswith("events/s): every event fits the app.")


def test_mistakes_are_one_line(tmp_path: Path) -> None:
    nothing = wk("check-events", cwd=tmp_path, environment=_environment())
    bad_options = wk(
        "check-events",
        str(CHAT),
        "--domain-event-store-options",
        '{"type": "Sqlite"}',
        cwd=tmp_path,
        environment=_environment(),
    )

    assert nothing.returncode == 1
    assert nothing.stderr.splitlines() == [
        f"Error: No stored events: '{tmp_path / DATA_DIRECTORY}' does not exist. Run the app "
        "with wk dev first, or give the store's options (--domain-event-store-options)."
    ]
    assert bad_options.returncode == 1
    assert len(bad_options.stderr.splitlines()) == 1
    assert "fileName: Field required" in bad_options.stderr
