"""A small app with a view table: a flow writes each sent message into ``messages``, and a
stream query reads them back in order. Shared by the sandbox and the runtime tests."""

from __future__ import annotations

MESSAGE = "server/domain/communication/message.py"

AGGREGATE = """
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


    messages = Table(Message, key="id", indexes=("timestamp",))
"""

FLOW = """
    from wolkenkit import DomainEvent, Flow, Rows

    from server.domain.communication.message import Sent
    from server.tables import Message

    flow = Flow()


    @flow.on(Sent)
    async def remember(event: DomainEvent[Sent], messages: Rows[Message]) -> None:
        await messages.upsert(
            Message(
                id=event.aggregate_identifier.aggregate.id,
                text=event.data.text,
                timestamp=event.metadata.timestamp,
            )
        )
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

#: The whole app, path below its root → source.
FILES = {
    MESSAGE: AGGREGATE,
    "server/tables.py": TABLES,
    "server/flows/messages.py": FLOW,
    "server/views/messages.py": VIEW,
}
