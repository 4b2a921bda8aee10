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
                from wolkenkit.application.definitions import Aggregate, CommandHandler


                class Send(CommandHandler):
                    def is_authorized(self, state, command, services):
                        return True

                    def handle(self, state, command, services):
                        pass


                aggregate = Aggregate(
                    initial_state=dict, command_handlers={"send": Send()}, domain_event_handlers={}
                )
            """,
            "server/notifications.py": """
                from wolkenkit.application.definitions import NotificationHandler


                class Updated(NotificationHandler):
                    def is_authorized(self, data, metadata, services):
                        return True


                notifications = {"updated": Updated()}
            """,
            "server/views/messages.py": """
                from wolkenkit.application.definitions import ValueQueryHandler, View


                class Count(ValueQueryHandler):
                    def handle(self, options, services):
                        return {"count": 0}

                    def is_authorized(self, item, services):
                        return True


                view = View({"count": Count()})
            """,
        },
    )

    description = describe_application(load_application(tmp_path))

    assert description["commands"] == {"communication": {"message": {"send": {}}}}
    assert description["notifications"] == {"updated": {}}
    assert description["views"] == {"messages": {"count": {}}}


def test_notification_schemas_and_multi_line_documentation(tmp_path: Path) -> None:
    write_app(
        tmp_path,
        {
            "server/domain/": "",
            "server/notifications.py": '''
                from pydantic import BaseModel

                from wolkenkit.application.definitions import NotificationHandler


                class UpdatedData(BaseModel):
                    count: int


                class UpdatedMetadata(BaseModel):
                    audience: str


                class Updated(NotificationHandler[UpdatedData, UpdatedMetadata]):
                    """
                    The list changed.

                    Clients fetch it again.
                    """

                    def is_authorized(self, data, metadata, services):
                        return True


                notifications = {"updated": Updated()}
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
