"""Apps declare view tables in ``server/tables.py``; flows, queries and notification
subscribers ask for a table's rows as ``name: Rows[Model]``.

Load errors are one line naming the file (and, for a handler, the line of its ``def``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.application.app_files import write_app
from tests.application.table_app import FILES, MESSAGE, TABLES
from tests.application.test_functions import load_error
from wolkenkit.application.loader import load_application
from wolkenkit.errors import TableDefinitionMalformed
from wolkenkit.messages import AggregateIdentifier, new_id
from wolkenkit.testing import Sandbox, build_client, build_domain_event


def test_tables_are_the_module_level_tables_named_by_their_attribute(tmp_path: Path) -> None:
    application = load_application(write_app(tmp_path, FILES))

    assert list(application.tables) == ["messages"]
    table = application.tables["messages"]
    assert table.model.__name__ == "Message"
    assert table.key == "id"
    assert table.indexes == ("timestamp",)


def test_an_app_without_tables_has_none(tmp_path: Path) -> None:
    files = {MESSAGE: FILES[MESSAGE]}

    assert load_application(write_app(tmp_path, files)).tables == {}


async def test_a_flow_writes_a_table_that_a_query_reads(tmp_path: Path) -> None:
    sandbox = Sandbox(load_application(write_app(tmp_path, FILES)))
    first = AggregateIdentifier.of("communication", "message", new_id())
    second = AggregateIdentifier.of("communication", "message", new_id())

    await (
        sandbox.for_flow("messages")
        .when(build_domain_event(second, "sent", {"text": "Second"}, timestamp=2))
        .when(build_domain_event(first, "sent", {"text": "First"}, timestamp=1))
        .run()
    )
    items = await sandbox.for_view("messages").query_async("all")

    assert items == [
        {"id": first.aggregate.id, "text": "First", "timestamp": 1},
        {"id": second.aggregate.id, "text": "Second", "timestamp": 2},
    ]


def _with(**changed: Any) -> dict[str, Any]:
    return {**FILES, **changed}


def test_rows_of_a_model_without_a_table_fail_the_load(tmp_path: Path) -> None:
    tables = (TABLES, "class Draft(BaseModel):\n    id: str")
    view = """
        from wolkenkit import Everyone, Rows, View

        from server.tables import Draft

        view = View(authorize=Everyone)


        @view.value
        async def draft(drafts: Rows[Draft]) -> Draft:
            raise NotImplementedError
    """
    files = _with(**{"server/tables.py": tables, "server/views/drafts.py": view})

    message = load_error(tmp_path, files, "server/views/drafts.py", "async def draft(")

    assert "Rows[Draft]" in message
    assert "no table" in message


def test_a_command_handler_must_not_ask_for_rows(tmp_path: Path) -> None:
    aggregate = (
        FILES[MESSAGE]
        .replace(
            "def send(command: Send) -> Sent:",
            "def send(command: Send, messages: Rows[Message]) -> Sent:",
        )
        .replace(
            "from wolkenkit import Aggregate, Everyone, Schema",
            "from wolkenkit import Aggregate, Everyone, Rows, Schema\n"
            "    from server.tables import Message",
        )
    )
    files = _with(**{MESSAGE: aggregate})

    message = load_error(tmp_path, files, MESSAGE, "def send(")

    assert "the write side does not read views" in message


def test_two_tables_of_one_model_fail_the_load(tmp_path: Path) -> None:
    tables = (TABLES, 'archive = Table(Message, key="id")')
    write_app(tmp_path, _with(**{"server/tables.py": tables}))

    with pytest.raises(TableDefinitionMalformed) as raised:
        load_application(tmp_path)

    message = str(raised.value)
    assert "server/tables.py" in message
    assert "'messages' and 'archive' both hold Message" in message


@pytest.mark.parametrize(
    ("declaration", "problem"),
    [
        ("Über = Table(Message, key='id')", "Table name 'Über' is invalid"),
        ("messages = Table(Message, key='text', indexes=('nothing',))", "no field 'nothing'"),
    ],
)
def test_a_malformed_table_fails_the_load(tmp_path: Path, declaration: str, problem: str) -> None:
    tables = TABLES.replace(
        'messages = Table(Message, key="id", indexes=("timestamp",))', declaration
    )
    write_app(tmp_path, _with(**{"server/tables.py": tables}))

    with pytest.raises(TableDefinitionMalformed) as raised:
        load_application(tmp_path)

    message = str(raised.value)
    assert "\n" not in message
    assert "Tables definition 'server/tables.py' is malformed" in message
    assert problem in message


async def test_a_notification_subscriber_writes_a_table(tmp_path: Path) -> None:
    notifications = """
        from wolkenkit import Everyone, Notifications, Schema


        class Pinned(Schema):
            id: str
            text: str


        notifications = Notifications(Pinned, authorize=Everyone)
    """
    view = """
        from wolkenkit import Everyone, Rows, View

        from server.notifications import Pinned
        from server.tables import Message

        view = View(authorize=Everyone)


        @view.on(Pinned)
        async def pin(pinned: Pinned, messages: Rows[Message]) -> None:
            await messages.insert(Message(id=pinned.id, text=pinned.text, timestamp=0))


        @view.value
        async def pinned(messages: Rows[Message]) -> Message:
            found = await messages.get("pinned")
            assert found is not None
            return found
    """
    files = _with(**{"server/notifications.py": notifications, "server/views/pins.py": view})
    sandbox = Sandbox(load_application(write_app(tmp_path, files)))

    await sandbox.for_view("pins").notify_async("pinned", {"id": "pinned", "text": "Hi"})
    domain = await sandbox.domain()
    value = await domain.query_value("pins", "pinned", {}, build_client())

    assert value == {"id": "pinned", "text": "Hi", "timestamp": 0}
