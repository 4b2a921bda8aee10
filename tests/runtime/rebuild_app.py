"""An app whose tables are rebuilt in the tests: a flow keeps every sent message in
``messages``; another keeps how many there are in ``totals`` and reads ``messages`` too (so
the two are rebuilt together); a third owns no table.

Its handlers pass a gate for messages called ``slow``: in the tests' own process an
``asyncio`` gate the test opens and closes (``infrastructure.ask["gate"]``); in a ``wk
replay`` process started with ``REBUILD_GATE=<path>`` a file gate: the handler creates
``<path>.reached`` and waits until ``<path>`` exists, and with ``REBUILD_FAILS`` set it then
raises. The message ``echo`` makes the flow issue a command, which a rebuild must not repeat.
"""

from __future__ import annotations

from pathlib import Path

from tests.application.app_files import write_app

MESSAGE = """
    from wolkenkit import Aggregate, Everyone, Schema


    class State(Schema):
        text: str = ""


    class Send(Schema):
        text: str


    class Sent(Schema):
        text: str


    aggregate = Aggregate(State, authorize=Everyone)


    @aggregate.command
    def send(command: Send) -> Sent:
        return Sent(text=command.text)


    @aggregate.event
    def sent(state: State, event: Sent) -> State:
        return state.model_copy(update={"text": event.text})
"""

TABLES = """
    from pydantic import BaseModel

    from wolkenkit import Table


    class Message(BaseModel):
        id: str
        text: str
        timestamp: int


    class Total(BaseModel):
        name: str
        count: int


    messages = Table(Message, key="id", indexes=("timestamp",))
    totals = Table(Total, key="name")
"""

INFRASTRUCTURE = """
    import asyncio
    import os
    from pathlib import Path
    from typing import Any

    from wolkenkit import Infrastructure, InfrastructureServices


    class Gate:
        def __init__(self) -> None:
            self.open = asyncio.Event()
            self.open.set()
            self.reached = asyncio.Event()
            self.fails = False

        async def passing(self, text: str) -> None:
            if text != "slow":
                return
            self.reached.set()
            await self.open.wait()
            path = os.environ.get("REBUILD_GATE")
            if path is not None:
                Path(path + ".reached").touch()
                while not Path(path).exists():
                    await asyncio.sleep(0.01)
            if self.fails or "REBUILD_FAILS" in os.environ:
                raise RuntimeError("the gate fails")


    async def get_infrastructure(services: InfrastructureServices) -> Infrastructure[Any, Any]:
        return Infrastructure(ask={"gate": Gate()}, tell={})
"""

MESSAGES_FLOW = """
    from typing import Any

    from wolkenkit import AggregateIdentifier, Command, CommandService, DomainEvent, Flow
    from wolkenkit import Infrastructure, Rows
    from wolkenkit.messages import new_id

    from server.domain.communication.message import Sent
    from server.tables import Message

    flow = Flow()


    @flow.on(Sent)
    async def remember(
        event: DomainEvent[Sent],
        messages: Rows[Message],
        infrastructure: Infrastructure[Any, Any],
        command: CommandService,
    ) -> None:
        await infrastructure.ask["gate"].passing(event.data.text)
        await messages.upsert(
            Message(
                id=event.aggregate_identifier.aggregate.id,
                text=event.data.text,
                timestamp=event.metadata.timestamp,
            )
        )
        if event.data.text == "echo":
            echoed = AggregateIdentifier.of("communication", "message", new_id())
            await command.issue_command(
                Command(aggregate_identifier=echoed, name="send", data={"text": "echoed"})
            )
"""

TALLY_FLOW = """
    from wolkenkit import DomainEvent, Flow, Rows

    from server.domain.communication.message import Sent
    from server.tables import Message, Total

    flow = Flow()


    @flow.on(Sent)
    async def count(event: DomainEvent[Sent], totals: Rows[Total], messages: Rows[Message]) -> None:
        total = await totals.get("all")
        await totals.upsert(Total(name="all", count=1 if total is None else total.count + 1))
"""

PLAIN_FLOW = """
    from wolkenkit import DomainEvent, Flow

    from server.domain.communication.message import Sent

    flow = Flow()


    @flow.on(Sent)
    async def nothing(event: DomainEvent[Sent]) -> None:
        pass
"""

VIEW = """
    from collections.abc import AsyncIterator

    from wolkenkit import Everyone, Rows, View

    from server.tables import Message

    view = View(authorize=Everyone)


    @view.stream
    async def all(messages: Rows[Message]) -> AsyncIterator[Message]:
        \"\"\"Every message, oldest first.\"\"\"
        async for message in messages.find(order_by=("timestamp",)):
            yield message
"""

FILES = {
    "server/domain/communication/message.py": MESSAGE,
    "server/tables.py": TABLES,
    "server/infrastructure.py": INFRASTRUCTURE,
    "server/flows/messages.py": MESSAGES_FLOW,
    "server/flows/tally.py": TALLY_FLOW,
    "server/flows/plain.py": PLAIN_FLOW,
    "server/views/messages.py": VIEW,
}


def write_rebuild_app(root: Path) -> Path:
    return write_app(root, FILES)
