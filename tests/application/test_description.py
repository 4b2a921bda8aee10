"""The application description: the JSON of reference §2.3, from docstrings and pydantic models."""

from __future__ import annotations

import json
from pathlib import Path

from tests.application.app_files import CHAT, write_app
from wolkenkit.application.description import describe_application
from wolkenkit.application.loader import load_application

REASON = {
    "type": "object",
    "properties": {"reason": {"type": "string"}},
    "required": ["reason"],
    "additionalProperties": False,
}


def test_the_chat_app_is_described() -> None:
    description = describe_application(load_application(CHAT))

    assert description["commands"] == {
        "communication": {
            "message": {
                "send": {
                    "documentation": "Sends a new message.",
                    "schema": {
                        "type": "object",
                        "properties": {"text": {"type": "string"}},
                        "required": ["text"],
                        "additionalProperties": False,
                    },
                },
                "like": {
                    "documentation": "Likes a message.",
                    "schema": {"type": "object", "properties": {}, "additionalProperties": False},
                },
            }
        }
    }
    events = description["domainEvents"]["communication"]["message"]
    assert list(events) == [
        "sent",
        "liked",
        "sendRejected",
        "sendFailed",
        "likeRejected",
        "likeFailed",
    ]
    assert events["sent"] == {
        "documentation": "A message was sent.",
        "schema": {
            "type": "object",
            "properties": {"text": {"type": "string"}},
            "required": ["text"],
        },
    }
    for name in ["sendRejected", "sendFailed", "likeRejected", "likeFailed"]:
        assert events[name]["schema"] == REASON
    assert description["notifications"] == {
        "flowMessagesUpdated": {"documentation": "The list of messages changed."},
        "viewMessagesUpdated": {"documentation": "The list of messages changed."},
    }
    assert description["views"] == {
        "messages": {
            "all": {
                "documentation": "All messages, newest first.",
                "optionsSchema": {
                    "type": "object",
                    "properties": {},
                    "additionalProperties": False,
                },
                "itemSchema": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "string"},
                        "timestamp": {"type": "integer"},
                        "text": {"type": "string"},
                        "likes": {"type": "integer"},
                    },
                    "required": ["id", "timestamp", "text", "likes"],
                },
            }
        }
    }


def test_the_description_is_json() -> None:
    description = describe_application(load_application(CHAT))

    assert json.loads(json.dumps(description)) == description


def test_what_is_not_given_is_left_out(tmp_path: Path) -> None:
    # No docstring, no pydantic models: the descriptions are empty objects, not nulls.
    write_app(
        tmp_path,
        {
            "server/domain/communication/message.py": """
                from typing import Any

                from wolkenkit import Aggregate, Everyone

                aggregate = Aggregate(dict, authorize=Everyone)


                @aggregate.command
                def send(command: dict[str, Any]) -> None:
                    pass
            """,
            "server/notifications.py": """
                from pydantic import BaseModel

                from wolkenkit import Everyone, Notifications


                class Updated(BaseModel):
                    pass


                notifications = Notifications(Updated, authorize=Everyone)
            """,
            "server/views/messages.py": """
                from wolkenkit import Everyone, View

                view = View(authorize=Everyone)


                @view.value
                def count() -> dict[str, int]:
                    return {"count": 0}
            """,
        },
    )

    description = describe_application(load_application(tmp_path))

    assert description["commands"] == {"communication": {"message": {"send": {}}}}
    assert description["notifications"] == {"updated": {}}
    assert description["views"] == {"messages": {"count": {}}}


def test_notification_documentation_of_several_lines(tmp_path: Path) -> None:
    write_app(
        tmp_path,
        {
            "server/domain/": "",
            "server/notifications.py": '''
                from wolkenkit import Everyone, Notifications, Schema


                class Updated(Schema):
                    """
                    The list changed.

                    Clients fetch it again.
                    """


                notifications = Notifications(Updated, authorize=Everyone)
            ''',
        },
    )

    description = describe_application(load_application(tmp_path))

    assert description["notifications"]["updated"] == {
        "documentation": "The list changed.\n\nClients fetch it again."
    }


def test_notification_schemas_and_multi_line_documentation(tmp_path: Path) -> None:
    # The model's docstring documents the notification, and is not repeated in its schema.
    write_app(
        tmp_path,
        {
            "server/domain/": "",
            "server/notifications.py": '''
                from pydantic import BaseModel

                from wolkenkit import Everyone, Notifications


                class UpdatedMetadata(BaseModel):
                    audience: str


                class Updated(BaseModel):
                    """
                    The list changed.

                    Clients fetch it again.
                    """

                    count: int


                notifications = Notifications(authorize=Everyone)
                notifications.define(Updated, metadata=UpdatedMetadata)
            ''',
        },
    )

    description = describe_application(load_application(tmp_path))

    assert description["notifications"]["updated"] == {
        "documentation": "The list changed.\n\nClients fetch it again.",
        "dataSchema": {
            "type": "object",
            "properties": {"count": {"type": "integer"}},
            "required": ["count"],
        },
        "metadataSchema": {
            "type": "object",
            "properties": {"audience": {"type": "string"}},
            "required": ["audience"],
        },
    }
