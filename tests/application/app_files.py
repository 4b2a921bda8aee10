"""Writing small apps into a temporary directory, so each test shows the app it loads."""

from __future__ import annotations

import textwrap
from collections.abc import Mapping
from pathlib import Path

#: The fixture chat app: one aggregate package, a flow, a view, notifications, infrastructure.
CHAT = Path(__file__).parent.parent / "fixtures" / "chat"

#: Handlers for an aggregate module; a test adds the line ``aggregate = Aggregate(...)``.
HANDLERS = """
    from pydantic import BaseModel, ConfigDict

    from wolkenkit.application.definitions import Aggregate, CommandHandler, DomainEventHandler


    class State(BaseModel):
        text: str = ""


    class SendData(BaseModel):
        model_config = ConfigDict(extra="forbid")

        text: str


    class Send(CommandHandler[State, SendData]):
        \"\"\"Sends a message.\"\"\"

        def is_authorized(self, state, command, services):
            return True

        def handle(self, state, command, services):
            services.aggregate.publish_domain_event("sent", {"text": command.data.text})


    class Sent(DomainEventHandler[State, SendData]):
        def handle(self, state, domain_event, services):
            return {"text": domain_event.data.text}

        def is_authorized(self, state, domain_event, services):
            return True
"""

#: A complete, valid aggregate module.
AGGREGATE = (
    HANDLERS,
    """
    aggregate = Aggregate(
        initial_state=State,
        command_handlers={"send": Send()},
        domain_event_handlers={"sent": Sent()},
    )
    """,
)

Source = str | tuple[str, ...]


def write_app(root: Path, files: Mapping[str, Source]) -> Path:
    """Write ``files`` (path below ``root`` → source) and return ``root``.

    A source may come in parts, each indented as it likes: ``(HANDLERS, "aggregate = ...")``.
    A path ending in ``/`` makes an empty directory.
    """
    for name, source in files.items():
        path = root / name
        if name.endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
            continue
        parts = (source,) if isinstance(source, str) else source
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("\n\n".join(textwrap.dedent(part).strip("\n") for part in parts) + "\n")
    return root
