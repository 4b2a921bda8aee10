"""Writing small apps into a temporary directory, so each test shows the app it loads."""

from __future__ import annotations

import re
import textwrap
from collections.abc import Mapping
from pathlib import Path

#: The fixture chat app: one aggregate package, a flow, a view, notifications, infrastructure.
CHAT = Path(__file__).parent.parent / "fixtures" / "chat"

#: The imports and models of an aggregate module; ``aggregate = Aggregate(...)`` comes next.
MODELS = """
    from typing import Any

    from pydantic import BaseModel

    from wolkenkit import Aggregate, Everyone, Schema


    class State(BaseModel):
        text: str = ""


    class SendData(Schema):
        text: str


    class SentData(Schema):
        text: str
"""

#: The aggregate's handlers, registered on the ``aggregate`` defined before them.
HANDLERS = """
    @aggregate.command
    def send(command: SendData) -> SentData:
        \"\"\"Sends a message.\"\"\"
        return SentData(text=command.text)


    @aggregate.event
    def sent(state: State, event: SentData) -> State:
        return state.model_copy(update={"text": event.text})
"""

#: A complete, valid aggregate module.
AGGREGATE = (MODELS, "aggregate = Aggregate(State, authorize=Everyone)", HANDLERS)

Source = str | tuple[str, ...]


def aggregate_with(arguments: str, *more: str) -> Source:
    """The message aggregate module built with ``Aggregate(<arguments>)``, its handlers and
    ``more`` source after them."""
    return (MODELS, f"aggregate = Aggregate({arguments})", HANDLERS, *more)


def write_app(root: Path, files: Mapping[str, Source]) -> Path:
    """Write ``files`` (path below ``root`` → source) and return ``root``.

    A source may come in parts, each indented as it likes: ``(MODELS, "aggregate = ...")``.
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


def handler_error(name: str, file: str, detail: str) -> re.Pattern[str]:
    """The one-line load error of a malformed handler function: its name, where it is defined
    (``<file>:<line>``, the file as a path that ends in ``file``) and ``detail``."""
    return re.compile(
        rf"Handler '{re.escape(name)}' \((.*/)?{re.escape(file)}:\d+\) is malformed: "
        rf"{re.escape(detail)}"
    )
