"""The chat sample of reference §8.1 for tests of the engine and the runtime.

The domain, flow, view and notifications are the ones of the loader's fixture app
(``tests/fixtures/chat``), imported as plain modules; this module adds what only these tests
need: a value query with an options schema, extra commands, and a choice of replay policy.

A test declares extra commands on an aggregate of its own from :func:`chat_commands`, which
knows the chat's state and events, and passes its handlers on::

    commands = chat_commands()

    @commands.command
    def crash(command: Empty) -> None: ...

    build_application(extra_commands=commands.command_handlers)
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from pathlib import Path
from typing import Any

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
from wolkenkit.application.definitions import Aggregate, CommandHandler, Schema, View
from wolkenkit.application.policies import Everyone
from wolkenkit.application.services import Infrastructure
from wolkenkit.application.system_events import with_system_domain_events
from wolkenkit.errors import NotFound
from wolkenkit.messages import ReplayPolicy

__all__ = ["Empty", "MessageState", "SentData", "build_application", "chat_commands"]

#: Commands without data (``like``) use this schema: an object with no properties.
Empty = LikeData


class ByIdOptions(Schema):
    id: str


def _not_secret(item: MessageItem) -> bool:
    return item.text != "secret"


_extras = View()


@_extras.value(name="byId", authorize=_not_secret)
async def by_id(options: ByIdOptions, infrastructure: Infrastructure[Any, Any]) -> MessageItem:
    """One message by id; a message whose text is "secret" is nobody's business."""
    for item in messages_of(infrastructure):
        if item["id"] == options.id:
            # A dict: the engine validates it against MessageItem (a broken one is an error).
            return dict(item)  # type: ignore[return-value]
    raise NotFound()


def chat_commands() -> Aggregate[MessageState]:
    """An aggregate with the chat's state and events (everyone may send its commands), to
    declare a test's own commands on; the commands it returns or publishes are the chat's."""
    return Aggregate(
        MessageState,
        domain_event_handlers=dict(message.aggregate.domain_event_handlers),
        authorize=Everyone,
    )


def build_application(
    *,
    replay_policy: ReplayPolicy = "always",
    extra_commands: Mapping[str, CommandHandler[MessageState, Any]] | None = None,
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
                view, query_handlers={**view.query_handlers, **_extras.query_handlers}
            )
        },
        notifications=chat_notifications.notifications,
        infrastructure=InfrastructureDefinition(get_infrastructure=get_infrastructure),
    )
