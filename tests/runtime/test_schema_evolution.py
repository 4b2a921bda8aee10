"""Schema evolution, end to end, on SQLite, PostgreSQL and MariaDB.

Version 1 of a chat app stores messages with a ``body`` (and snapshots of a state with a
``body``). Version 2 renames it to ``text`` and adds a required ``language``, with an
upcaster for the events version 1 stored. Served by the runtime, version 2 handles
commands on the old aggregates, its flow and the replays see version-2 data, and the
HTTP stream and GraphQL send version-2 data. ``wk check-events`` passes for version 2,
lists exactly the events a wrong upcaster cannot lift, and version 2 without its upcaster
does not load.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect
from websockets.typing import Subprotocol

from tests.application.app_files import Source, write_app
from tests.application.test_functions import line_of
from tests.runtime.conftest import make_settings
from tests.runtime.graphql.conftest import GRAPHQL, Socket
from tests.runtime.graphql.test_subscriptions import DOMAIN_EVENTS
from tests.runtime.streams import open_stream
from tests.scaffolds.helpers import wk
from tests.stores.mariadb import conftest as mariadb_server
from tests.stores.postgres import conftest as postgres_server
from wolkenkit import load_application
from wolkenkit.domain.snapshot_strategy import parse_snapshot_strategy
from wolkenkit.errors import UpcasterMalformed
from wolkenkit.messages import AggregateIdentifier, new_id
from wolkenkit.runtime.server import Serving, serving
from wolkenkit.stores import factory
from wolkenkit.testing import build_command
from wolkenkit.testing.contracts._messages import collect
from wolkenkit.testing.sandbox import build_domain

MESSAGE = "server/domain/communication/message.py"

VERSION_1 = """
    from pydantic import BaseModel
    from wolkenkit import Aggregate, CommandRejected, Everyone, Schema


    class Message(BaseModel):
        body: str = ""
        likes: int = 0


    class Send(Schema):
        body: str


    class Like(Schema):
        pass


    class Sent(Schema):
        body: str


    class Liked(Schema):
        likes: int


    aggregate = Aggregate(Message, authorize=Everyone)


    @aggregate.command
    def send(message: Message, command: Send) -> Sent:
        if message.body:
            raise CommandRejected("Message was already sent.")
        return Sent(body=command.body)


    @aggregate.command
    def like(message: Message, command: Like) -> Liked:
        if not message.body:
            raise CommandRejected("Message was not yet sent.")
        return Liked(likes=message.likes + 1)


    @aggregate.event
    def sent(message: Message, event: Sent) -> Message:
        return message.model_copy(update={"body": event.body})


    @aggregate.event
    def liked(message: Message, event: Liked) -> Message:
        return message.model_copy(update={"likes": event.likes})
"""

VERSION_2 = """
    from typing import Any

    from pydantic import BaseModel
    from wolkenkit import Aggregate, CommandRejected, Everyone, Schema


    class Message(BaseModel):
        text: str = ""
        language: str = ""
        likes: int = 0


    class Send(Schema):
        text: str
        language: str


    class Like(Schema):
        pass


    class Sent(Schema, version=2):
        text: str
        language: str


    class Liked(Schema):
        likes: int
        # Added with a default: old events fit as they are, so no new version.
        text: str = ""


    aggregate = Aggregate(Message, authorize=Everyone)


    @aggregate.command
    def send(message: Message, command: Send) -> Sent:
        if message.text:
            raise CommandRejected("Message was already sent.")
        return Sent(text=command.text, language=command.language)


    @aggregate.command
    def like(message: Message, command: Like) -> Liked:
        if not message.text:
            raise CommandRejected("Message was not yet sent.")
        return Liked(likes=message.likes + 1, text=message.text)


    @aggregate.event
    def sent(message: Message, event: Sent) -> Message:
        return message.model_copy(update={"text": event.text, "language": event.language})


    @aggregate.event
    def liked(message: Message, event: Liked) -> Message:
        return message.model_copy(update={"likes": event.likes})
"""

UPCASTER = """
    @aggregate.upcaster(Sent, from_version=1)
    def body_became_text(data: dict[str, Any]) -> dict[str, Any]:
        return {"text": data["body"], "language": "en"}
"""

#: Guesses the language wrong: ``None`` for anything but ASCII, which Sent does not take.
WRONG_UPCASTER = """
    @aggregate.upcaster(Sent, from_version=1)
    def body_became_text(data: dict[str, Any]) -> dict[str, Any]:
        return {"text": data["body"], "language": "en" if data["body"].isascii() else None}
"""

#: Version 2's flow keeps what it sees; it replays what it missed of an aggregate itself.
FLOW = """
    from wolkenkit import DomainEvent, Flow

    from server.domain.communication.message import Sent
    from server.infrastructure import Texts

    flow = Flow(replay_policy="always")


    @flow.on(Sent)
    def remember(event: DomainEvent[Sent], texts: Texts) -> None:
        texts.tell.append((event.data.text, event.data.language))
"""

INFRASTRUCTURE = """
    from wolkenkit import Infrastructure, InfrastructureServices

    Texts = Infrastructure[list[tuple[str, str]], list[tuple[str, str]]]


    async def get_infrastructure(services: InfrastructureServices) -> Texts:
        texts: list[tuple[str, str]] = []
        return Infrastructure(ask=texts, tell=texts)
"""

#: What version 1 stored, by message: its body and its likes.
STORED = {"Hello": 1, "Grüße": 0, "Hi": 0}


def write_version_2(root: Path, *upcaster: str) -> Path:
    files: dict[str, Source] = {
        MESSAGE: (VERSION_2, *upcaster),
        "server/flows/texts.py": FLOW,
        "server/infrastructure.py": INFRASTRUCTURE,
    }
    return write_app(root, files)


@pytest.fixture(
    params=[
        "sqlite",
        pytest.param("postgres", marks=pytest.mark.postgres),
        pytest.param("mariadb", marks=pytest.mark.mariadb),
    ]
)
async def options(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Any]:
    """Domain event store options for a database of this test's own, dropped afterwards."""
    if request.param == "sqlite":
        yield {"type": "Sqlite", "fileName": str(tmp_path / "events.db")}
    elif request.param == "postgres":
        schema = f"test_{new_id().replace('-', '')}"
        yield {**postgres_server.SERVER, "schema": schema}
        postgres = await postgres_server._connect()
        try:
            await postgres.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        finally:
            await postgres.close()
    else:
        database = f"wk_test_{new_id().replace('-', '')[:20]}"
        connection = await mariadb_server.connect()
        try:
            async with connection.cursor() as cursor:
                await cursor.execute(f"CREATE DATABASE `{database}`")
            yield {**mariadb_server.SERVER, "database": database}
        finally:
            async with connection.cursor() as cursor:
                await cursor.execute(f"DROP DATABASE IF EXISTS `{database}`")
            await connection.ensure_closed()


@pytest.fixture
async def stored_by_version_1(options: Any, tmp_path: Path) -> dict[str, AggregateIdentifier]:
    """Version 1 sends three messages and likes one, snapshotting after every change; the
    aggregates by their bodies."""
    application = load_application(write_app(tmp_path / "version-1", {MESSAGE: VERSION_1}))
    store = await factory.create_domain_event_store(options)
    await store.setup()
    domain = build_domain(
        application,
        domain_event_store=store,
        snapshot_strategy=parse_snapshot_strategy({"name": "always"}),
    )
    messages = {}
    try:
        for body, likes in STORED.items():
            identifier = AggregateIdentifier.of("communication", "message", new_id())
            await domain.handle_command(build_command(identifier, "send", {"body": body}))
            for _ in range(likes):
                await domain.handle_command(build_command(identifier, "like"))
            messages[body] = identifier
    finally:
        await store.destroy()
    return messages


async def test_version_2_reads_what_version_1_stored(
    options: Any, stored_by_version_1: dict[str, AggregateIdentifier], tmp_path: Path
) -> None:
    application = load_application(write_version_2(tmp_path / "version-2", UPCASTER))
    settings = make_settings(
        DOMAIN_EVENT_STORE_OPTIONS=options,
        SNAPSHOT_STRATEGY={"name": "always"},
        GRAPHQL_API={"enableIntegratedClient": False},
    )
    async with (
        serving(settings, application) as server,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", timeout=10) as client,
        open_stream(client, "/domain-events/v2") as (_, stream),
        connect(
            f"ws://127.0.0.1:{server.port}{GRAPHQL}",
            subprotocols=[Subprotocol("graphql-transport-ws")],
        ) as websocket,
    ):
        socket = Socket(websocket, "graphql-transport-ws")
        await socket.initialise()
        await socket.start("events", DOMAIN_EVENTS)
        await _until_listening(server, 2)

        # Commands on the old aggregates work: their state is read from version-1 events
        # (their snapshots, of the old state model, are ignored).
        for identifier in stored_by_version_1.values():
            response = await client.post(
                f"/command/v2/communication/message/{identifier.aggregate.id}/like", json={}
            )
            assert response.status_code == 200, response.text
        response = await client.post(
            "/command/v2/communication/message/send", json={"text": "Neu", "language": "de"}
        )
        assert response.status_code == 200, response.text

        streamed = [await stream.next_document() for _ in range(4)]
        subscribed = [await _next_event(socket) for _ in range(4)]
        texts = await _flow_texts(server, 4)
        events = server.runtime.domain.domain_event_store
        replays = {
            "by time": await collect(events.get_replay()),
            "by position": [
                positioned.domain_event
                for positioned in await collect(events.get_replay_by_position())
            ],
            "by aggregate": [
                event
                for identifier in stored_by_version_1.values()
                for event in await collect(events.get_replay_for_aggregate(identifier.aggregate.id))
            ],
        }

    # The stream and GraphQL send version-2 data, as version 2 made it from the old state,
    # and nothing of the version itself.
    expected = sorted(
        [("liked", {"likes": likes + 1, "text": body}) for body, likes in STORED.items()]
        + [("sent", {"text": "Neu", "language": "de"})],
        key=repr,
    )
    assert sorted(((event["name"], event["data"]) for event in streamed), key=repr) == expected
    assert sorted(subscribed, key=repr) == expected
    assert all(
        set(event) == {"aggregateIdentifier", "name", "data", "id", "metadata"}
        for event in streamed
    )
    # The flow replayed the old aggregates' first events and saw them at version 2.
    assert sorted(texts) == sorted([(body, "en") for body in STORED] + [("Neu", "de")])
    # So do replays by time, by position and by aggregate.
    for how, replay in replays.items():
        sent = [event.data for event in replay if event.name == "sent"]
        old = [data for data in sent if data["text"] in STORED]
        assert sorted(old, key=repr) == sorted(
            ({"text": body, "language": "en"} for body in STORED), key=repr
        ), how


async def test_the_check_passes_and_a_wrong_upcaster_fails_exactly_the_bad_events(
    options: Any, stored_by_version_1: dict[str, AggregateIdentifier], tmp_path: Path
) -> None:
    store_options = json.dumps(options)
    right = write_version_2(tmp_path / "right", UPCASTER)
    wrong = write_version_2(tmp_path / "wrong", WRONG_UPCASTER)

    passed = wk(
        "check-events", str(right), "--domain-event-store-options", store_options, cwd=tmp_path
    )
    failed = wk(
        "check-events", str(wrong), "--domain-event-store-options", store_options, cwd=tmp_path
    )

    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "Checked 4 events in " in passed.stdout
    assert passed.stdout.rstrip().endswith("events/s): every event fits the app.")
    assert failed.returncode == 1, failed.stdout + failed.stderr
    position = await _position_of(options, stored_by_version_1["Grüße"])
    problems = [line for line in failed.stdout.splitlines() if line.startswith("✗")]
    assert problems == [
        f"✗ communication.message.sent {stored_by_version_1['Grüße'].aggregate.id} revision 1, "
        f"position {position}: Its data does not fit Sent: Input should be a valid string "
        "(at language)."
    ]
    assert failed.stdout.rstrip().endswith("events/s): 1 event does not fit the app.")


def test_without_its_upcaster_version_2_does_not_load(tmp_path: Path) -> None:
    directory = write_version_2(tmp_path)

    with pytest.raises(UpcasterMalformed) as raised:
        load_application(directory)

    line = line_of(directory / MESSAGE, "class Sent(")
    assert str(raised.value) == (
        f"Sent ({directory / MESSAGE}:{line}) is at version 2, but no upcaster lifts its "
        "version 1 to 2: add one with @aggregate.upcaster(Sent, from_version=1)."
    )


async def _until_listening(server: Serving, count: int) -> None:
    """Until the HTTP stream and the GraphQL subscription both listen."""
    async with asyncio.timeout(5):
        while server.runtime.domain_events.listener_count < count:  # noqa: ASYNC110
            await asyncio.sleep(0.01)


async def _next_event(socket: Socket) -> tuple[str, Any]:
    kind, _, payload = await socket.receive()
    assert kind == "next", payload
    event = payload["data"]["domainEvents"]
    return event["name"], json.loads(event["data"])


async def _flow_texts(server: Serving, count: int) -> list[tuple[str, str]]:
    """What the flow has seen, once it has seen ``count`` events."""
    texts: list[tuple[str, str]] = server.runtime.domain.infrastructure.tell
    async with asyncio.timeout(10):
        while len(texts) < count:  # noqa: ASYNC110
            await asyncio.sleep(0.01)
    return list(texts)


async def _position_of(options: Any, identifier: AggregateIdentifier) -> int:
    """The position of the aggregate's first event."""
    store = await factory.create_domain_event_store(options)
    try:
        return next(
            positioned.position
            for positioned in await collect(store.get_replay_by_position())
            if positioned.domain_event.aggregate_identifier == identifier
        )
    finally:
        await store.destroy()
