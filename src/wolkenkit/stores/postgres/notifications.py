"""How publish/subscribe messages travel as PostgreSQL notifications.

A notification's channel name has at most 63 bytes and its payload less than 8000, while a
domain event with its state can be larger. Longer channel names are therefore replaced by a
hash, and a large message is split into parts that are sent in one transaction. PostgreSQL
queues all notifications of a transaction together, in the order they were sent, so a
listener receives the parts of one message one after the other and can join them without
waiting for anything else.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from wolkenkit.messages import new_id
from wolkenkit.stores.publish_subscribe import Message

#: Longest channel name PostgreSQL keeps (NAMEDATALEN - 1).
MAX_CHANNEL_BYTES = 63
#: Payload characters per notification; the server's limit is 8000 bytes, headers included.
PART_SIZE = 7_800
#: Marks a payload that is one part of a split message: ``~<id>:<index>:<count>:<text>``.
PART_MARKER = "~"


def channel_name(namespace: str | None, channel: str) -> str:
    """The notification channel for a publish/subscribe channel within ``namespace``."""
    name = channel if namespace is None else f"{namespace}.{channel}"
    if len(name.encode()) <= MAX_CHANNEL_BYTES:
        return name
    return f"wolkenkit {hashlib.sha256(name.encode()).hexdigest()[:48]}"


def encode(message: Message) -> list[str]:
    """The payloads that carry ``message``: one, or the parts of a large one in order."""
    # ASCII only, so that characters and bytes count alike when the text is cut.
    text = json.dumps(message, separators=(",", ":"), ensure_ascii=True)
    if len(text) <= PART_SIZE:
        return [text]
    message_id = new_id()
    parts = [text[start : start + PART_SIZE] for start in range(0, len(text), PART_SIZE)]
    return [
        f"{PART_MARKER}{message_id}:{index}:{len(parts)}:{part}" for index, part in enumerate(parts)
    ]


class Assembler:
    """Turns payloads back into messages, joining the parts of split ones per channel."""

    def __init__(self) -> None:
        # channel → (message id, parts so far); parts of one message arrive back to back.
        self._partial: dict[str, tuple[str, list[str]]] = {}

    def feed(self, channel: str, payload: str) -> Message | None:
        """The message ``payload`` completes, or ``None`` while parts are missing."""
        if not payload.startswith(PART_MARKER):
            return _decode(payload)
        message_id, index_text, count_text, part = payload[1:].split(":", 3)
        index, count = int(index_text), int(count_text)
        if index == 0:
            self._partial[channel] = (message_id, [])
        current = self._partial.get(channel)
        if current is None or current[0] != message_id or len(current[1]) != index:
            # A part went missing (a reconnect in between): the message cannot be completed.
            self._partial.pop(channel, None)
            return None
        current[1].append(part)
        if index + 1 < count:
            return None
        del self._partial[channel]
        return _decode("".join(current[1]))


def _decode(text: str) -> Message:
    message: dict[str, Any] = json.loads(text)
    return message
