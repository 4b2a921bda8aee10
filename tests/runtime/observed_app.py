"""An app whose work is easy to observe: its handlers log, one command fails, and its flow
waits while a gate file is missing, so a test can hold events in the flow's queue."""

from __future__ import annotations

from pathlib import Path

from tests.application.app_files import write_app

#: While this file is missing from the app's directory, the flow holds every event.
GATE = "flow-gate-open"

FILES = {
    "server/domain/communication/message.py": """
        import logging

        from pydantic import BaseModel

        from wolkenkit import Aggregate, CommandRejected, Everyone, Schema


        class State(BaseModel):
            text: str = ""


        class SendData(Schema):
            text: str


        class SentData(Schema):
            text: str


        class FailData(Schema):
            pass


        aggregate = Aggregate(State, authorize=Everyone)


        @aggregate.command
        def send(command: SendData, logger: logging.Logger) -> SentData:
            \"\"\"Sends a message, and says so in the log.\"\"\"
            if not command.text:
                raise CommandRejected("Text is missing.")
            logger.info("Sending '%s'.", command.text)
            return SentData(text=command.text)


        @aggregate.command
        def fail(command: FailData) -> SentData:
            \"\"\"Fails, always.\"\"\"
            raise RuntimeError("Out of order.")


        @aggregate.event
        def sent(state: State, event: SentData) -> State:
            return state.model_copy(update={"text": event.text})
    """,
    "server/flows/audit.py": """
        import asyncio
        import logging
        from pathlib import Path

        from wolkenkit import DomainEvent, Flow

        from server.domain.communication.message import SentData

        flow = Flow()
        GATE = Path(__file__).parent.parent.parent / "flow-gate-open"


        @flow.on(SentData)
        async def audit(event: DomainEvent[SentData], logger: logging.Logger) -> None:
            \"\"\"Logs every sent message, once the gate is open.\"\"\"
            while not GATE.exists():
                await asyncio.sleep(0.01)
            logger.info("Audited '%s'.", event.data.text)
    """,
}


def write_observed_app(directory: Path, gate_open: bool = True) -> Path:
    root = write_app(directory, FILES)
    if gate_open:
        (root / GATE).touch()
    return root
