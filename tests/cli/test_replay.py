"""``wk replay`` on the chat app with the SQLite default of ``wk dev``: it rebuilds the table
the ``messages`` flow owns from the stored events, or, for chosen aggregates, re-feeds them to
the flow."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import sqlite3
import time
from pathlib import Path

import jwt
import pytest

from tests.cli.helpers import wait_until
from tests.cli.test_dev_persistence import dev, messages, post
from tests.runtime.conftest import Keys
from tests.scaffolds.helpers import wk
from wolkenkit.messages import AggregateIdentifier
from wolkenkit.runtime.development import embedded_store_environment
from wolkenkit.scaffolds import create_project
from wolkenkit.stores import factory

SEND = "/command/v2/communication/message/send"


@pytest.fixture
def chat(tmp_path: Path) -> Path:
    """A chat app that has two messages, one liked, and whose wk dev is stopped."""
    app = create_project("chat", template="chat", directory=tmp_path / "chat")
    with dev(app) as port:
        first = post(port, SEND, {"text": "First"})["aggregateIdentifier"]["aggregate"]["id"]
        post(port, SEND, {"text": "Second"})
        post(port, f"/command/v2/communication/message/{first}/like", {})
        wait_until(lambda: sorted((m["text"], m["likes"]) for m in messages(port)) == EXPECTED)
    return app


EXPECTED = [("First", 1), ("Second", 0)]


def delete_view_rows(chat: Path) -> None:
    """Empty the messages table, which wk dev keeps in its stores' file."""
    with contextlib.closing(sqlite3.connect(chat / ".wolkenkit" / "wolkenkit.db")) as database:
        database.execute("DELETE FROM view_messages")
        database.commit()


def test_a_deleted_view_is_rebuilt_from_the_stored_events(chat: Path) -> None:
    delete_view_rows(chat)

    result = wk("replay", cwd=chat)

    assert result.returncode == 0, result.stderr
    assert re.search(
        r"^Rebuilt table messages: 2 rows from 3 events of flow messages in \d+\.\d\d s\.$",
        result.stdout,
        re.MULTILINE,
    ), result.stdout
    with dev(chat) as port:
        assert sorted((m["text"], m["likes"]) for m in messages(port)) == EXPECTED


def test_a_replay_of_chosen_aggregates_only_fills_gaps(chat: Path) -> None:
    # The flow has seen every event, so there is nothing to fill in; with contexts named,
    # nothing is rebuilt either.
    everything = json.dumps({"contexts": [{"contextName": "communication"}]})
    result = wk("replay", str(chat), "--replay-configuration", everything, cwd=chat.parent)

    assert result.returncode == 0, result.stderr
    assert "The flows have seen every selected event already; nothing to replay" in " ".join(
        result.stdout.split()
    )
    assert "Rebuilt" not in result.stdout


def test_a_replay_of_one_instance_rebuilds_only_that_one(chat: Path) -> None:
    delete_view_rows(chat)
    with dev(chat) as port:
        assert messages(port) == []
    first = _aggregate_ids(chat)[0]
    configuration = {
        "flows": ["messages"],
        "contexts": [
            {
                "contextName": "communication",
                "aggregates": [{"aggregateName": "message", "instances": [{"aggregateId": first}]}],
            }
        ],
    }
    (chat / "replay.json").write_text(json.dumps(configuration))

    result = wk(
        "replay", "--replay-configuration", "@replay.json", "--dangerously-reevaluate", cwd=chat
    )

    assert result.returncode == 0, result.stderr
    assert "Replayed 2 events of 1 aggregates to flow messages" in result.stdout
    with dev(chat) as port:
        assert [(m["text"], m["likes"]) for m in messages(port)] == [("First", 1)]


def test_mistakes_are_one_line(chat: Path, tmp_path: Path) -> None:
    bad = wk("replay", "--replay-configuration", '{"flows": ["nope"]}', cwd=chat)
    nothing = wk("replay", cwd=tmp_path)

    assert bad.returncode == 1
    assert bad.stderr.splitlines() == [
        "Error: The replay configuration is invalid: flow 'nope' not found (flows: messages)."
    ]
    assert nothing.returncode == 1
    assert len(nothing.stderr.splitlines()) == 1
    assert "No stored events" in nothing.stderr


def test_a_running_runtime_takes_the_replay_through_its_api(chat: Path, tmp_path: Path) -> None:
    keys = Keys(tmp_path / "keys")
    token = jwt.encode(
        {"iss": keys.issuer, "sub": "operator", "exp": int(time.time()) + 600},
        keys.private_pem,
        algorithm="RS256",
    )
    flags = ["--identity-provider-issuer", keys.issuer, "--identity-provider-certificate"]
    with dev(chat, *flags, str(keys.directory)) as port:
        delete_view_rows(chat)
        assert messages(port) == []
        url = f"http://127.0.0.1:{port}/perform-replay/v2"
        anonymous = wk("replay", "--replay-api-url", url, cwd=chat)
        handed = wk("replay", "--replay-api-url", url, "--token", token, cwd=chat)
        # The runtime rebuilds the table, and swaps it in.
        wait_until(lambda: sorted((m["text"], m["likes"]) for m in messages(port)) == EXPECTED)

    assert anonymous.returncode == 1
    assert anonymous.stderr.splitlines() == [
        f"Error: The runtime at {url} refused the replay: NotAuthenticated: Replays need an "
        "authenticated caller."
    ]
    assert handed.returncode == 0, handed.stderr
    assert (
        f"The runtime at {url} rebuilds table messages of flow messages; its log tells when "
        "they are swapped in." in " ".join(handed.stdout.split())
    )


def test_chosen_aggregates_are_re_fed_through_the_api(chat: Path, tmp_path: Path) -> None:
    keys = Keys(tmp_path / "keys")
    token = jwt.encode(
        {"iss": keys.issuer, "sub": "operator", "exp": int(time.time()) + 600},
        keys.private_pem,
        algorithm="RS256",
    )
    flags = ["--identity-provider-issuer", keys.issuer, "--identity-provider-certificate"]
    everything = json.dumps({"contexts": [{"contextName": "communication"}]})
    with dev(chat, *flags, str(keys.directory)) as port:
        url = f"http://127.0.0.1:{port}/perform-replay/v2"
        # Re-evaluated, the flow inserts its rows anew: it needs an empty table.
        delete_view_rows(chat)
        handed = wk(
            "replay",
            "--replay-api-url",
            url,
            "--token",
            token,
            "--replay-configuration",
            everything,
            "--dangerously-reevaluate",
            cwd=chat,
        )
        # The runtime's flow worker handles the events again, and so clears the replay flags.
        wait_until(lambda: asyncio.run(_replaying(chat)) == [False, False])
        assert sorted((m["text"], m["likes"]) for m in messages(port)) == EXPECTED

    assert handed.returncode == 0, handed.stderr
    assert f"to the runtime at {url}" in " ".join(handed.stdout.split())


def _aggregate_ids(chat: Path) -> list[str]:
    return asyncio.run(_read_aggregate_ids(chat))


async def _read_aggregate_ids(chat: Path) -> list[str]:
    environment = embedded_store_environment(chat / ".wolkenkit")
    store = await factory.create_domain_event_store(
        json.loads(environment["DOMAIN_EVENT_STORE_OPTIONS"])
    )
    try:
        return [identifier.aggregate.id async for identifier in store.get_aggregate_identifiers()]
    finally:
        await store.destroy()


async def _replaying(chat: Path) -> list[object]:
    environment = embedded_store_environment(chat / ".wolkenkit")
    store = await factory.create_consumer_progress_store(
        json.loads(environment["CONSUMER_PROGRESS_STORE_OPTIONS"])
    )
    try:
        results: list[object] = []
        for aggregate_id in await _read_aggregate_ids(chat):
            identifier = AggregateIdentifier.of("communication", "message", aggregate_id)
            results.append((await store.get_progress("messages", identifier)).is_replaying)
        return results
    finally:
        await store.destroy()


def test_the_stores_given_as_flags_are_used_without_a_wolkenkit_directory(
    tmp_path: Path,
) -> None:
    # A deployed app has no .wolkenkit/: the flags say where its stores are.
    app = create_project("shop", template="chat", directory=tmp_path / "shop")
    database = tmp_path / "stores.db"
    stores = json.dumps({"type": "Sqlite", "fileName": str(database)})
    replay = [
        "replay",
        "--domain-event-store-options",
        f"sqlite:///{database}",
        "--consumer-progress-store-options",
        stores,
    ]

    result = wk(
        *replay,
        "--view-store-options",
        stores,
        "--lock-store-options",
        stores,
        "--priority-queue-store-for-domain-events-options",
        stores,
        cwd=app,
    )
    # Without the stores it shares with the runtime, a rebuild could not pause its flows.
    partly = wk(*replay, "--view-store-options", stores, cwd=app)

    assert result.returncode == 0, result.stderr
    assert "Rebuilt table messages: 0 rows from 0 events of flow messages" in result.stdout
    assert database.is_file()
    assert not (app / ".wolkenkit").exists()
    assert partly.returncode == 1
    assert partly.stderr.splitlines() == [
        "Error: Rebuilding tables needs the stores the runtime uses: give LOCK_STORE_OPTIONS, "
        "PRIORITY_QUEUE_STORE_FOR_DOMAIN_EVENTS_OPTIONS (--lock-store-options, "
        "--priority-queue-store-for-domain-events-options)."
    ]


def test_the_event_store_alone_is_not_enough(tmp_path: Path) -> None:
    # Without a progress store the flows' progress would live in memory and be forgotten.
    app = create_project("shop", template="chat", directory=tmp_path / "shop")

    result = wk("replay", "--domain-event-store-options", f"sqlite:///{tmp_path / 'e.db'}", cwd=app)

    assert result.returncode == 1
    assert result.stderr.splitlines() == [
        "Error: Give the consumer progress store's options as well "
        "(--consumer-progress-store-options or CONSUMER_PROGRESS_STORE_OPTIONS)."
    ]
