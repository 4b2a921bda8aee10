"""The chat sample of reference §8.1 for tests of the engine and the runtime.

The domain, flow, view and notifications are the ones of the loader's fixture app
(``tests/fixtures/chat``), imported as plain modules; this module adds what only these tests
need: a value query with an options schema, extra commands, and a choice of replay policy.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from tests.fixtures.chat.server import notifications as chat_notifications
from tests.fixtures.chat.server.domain.communication import message
from tests.fixtures.chat.server.domain.communication.message.commands import LikeData
from tests.fixtures.chat.server.domain.communication.message.domain_events import SentData
from tests.fixtures.chat.server.domain.communication.message.state import MessageState
from tests.fixtures.chat.server.flows import messages as messages_flow
from tests.fixtures.chat.server.infrastructure import get_infrastructure, messages_of
from tests.fixtures.chat.server.views import messages as messages_view
from tests.fixtures.chat.server.views.messages import MessageItem
from wolkenkit.application.application import Application, InfrastructureDefinition
from wolkenkit.application.definitions import CommandHandler, ValueQueryHandler
from wolkenkit.application.services import QueryAuthorizationServices, QueryServices
from wolkenkit.application.system_events import with_system_domain_events
from wolkenkit.errors import NotFound
from wolkenkit.messages import ReplayPolicy

__all__ = ["Empty", "MessageState", "SentData", "build_application"]

#: Commands without data (``like``) use this schema: an object with no properties.
Empty = LikeData


class ByIdOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str


class ById(ValueQueryHandler[ByIdOptions, MessageItem]):
    """One message by id; a message whose text is "secret" is nobody's business."""

    async def handle(self, options: ByIdOptions, services: QueryServices) -> dict[str, Any]:
        for item in messages_of(services.infrastructure):
            if item["id"] == options.id:
                return dict(item)
        raise NotFound()

    async def is_authorized(self, item: MessageItem, services: QueryAuthorizationServices) -> bool:
        return item.text != "secret"


def build_application(
    *,
    replay_policy: ReplayPolicy = "always",
    extra_commands: dict[str, CommandHandler[MessageState, Any]] | None = None,
) -> Application:
    aggregate = dataclasses.replace(
        message.aggregate,
        command_handlers={**message.aggregate.command_handlers, **(extra_commands or {})},
    )
    view = messages_view.view
    return Application(
        root_directory=Path("chat"),
        domain={"communication": {"message": with_system_domain_events(aggregate)}},
        flows={"messages": dataclasses.replace(messages_flow.flow, replay_policy=replay_policy)},
        views={
            "messages": dataclasses.replace(
                view, query_handlers={**view.query_handlers, "byId": ById()}
            )
        },
        notifications=dict(chat_notifications.notifications),
        infrastructure=InfrastructureDefinition(get_infrastructure=get_infrastructure),
    )
