"""The chat sample of reference §8.1, built in code, for tests of the engine.

``build_application()`` returns a fresh ``Application``; options change single parts so a
test can add a crashing handler or pick a flow's replay policy.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict

from wolkenkit.application.application import Application, InfrastructureDefinition
from wolkenkit.application.definitions import (
    Aggregate,
    CommandHandler,
    DomainEventHandler,
    Flow,
    FlowHandler,
    NotificationHandler,
    NotificationSubscriber,
    StreamQueryHandler,
    ValueQueryHandler,
    View,
)
from wolkenkit.application.services import (
    CommandAuthorizationServices,
    CommandServices,
    DomainEventAuthorizationServices,
    DomainEventServices,
    FlowServices,
    Infrastructure,
    InfrastructureServices,
    NotificationAuthorizationServices,
    NotificationSubscriberServices,
    QueryAuthorizationServices,
    QueryServices,
)
from wolkenkit.application.system_events import with_system_domain_events
from wolkenkit.errors import CommandRejected, NotFound
from wolkenkit.messages import (
    CommandWithMetadata,
    DomainEvent,
    DomainEventWithState,
    ItemIdentifier,
    ReplayPolicy,
)


class MessageState(BaseModel):
    text: str = ""
    likes: int = 0


class SendData(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str


class Empty(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SentData(BaseModel):
    text: str


class LikedData(BaseModel):
    likes: int


class Send(CommandHandler[MessageState, SendData]):
    """Sends a new message."""

    def is_authorized(
        self,
        state: MessageState,
        command: CommandWithMetadata[SendData],
        services: CommandAuthorizationServices,
    ) -> bool:
        return True

    def handle(
        self,
        state: MessageState,
        command: CommandWithMetadata[SendData],
        services: CommandServices[MessageState],
    ) -> None:
        if not command.data.text:
            raise CommandRejected("Text is missing.")
        if not services.aggregate.is_pristine():
            raise CommandRejected("Message was already sent.")
        services.aggregate.publish_domain_event("sent", SentData(text=command.data.text))


class Like(CommandHandler[MessageState, Empty]):
    """Likes a message."""

    async def is_authorized(
        self,
        state: MessageState,
        command: CommandWithMetadata[Empty],
        services: CommandAuthorizationServices,
    ) -> bool:
        return True

    async def handle(
        self,
        state: MessageState,
        command: CommandWithMetadata[Empty],
        services: CommandServices[MessageState],
    ) -> None:
        if services.aggregate.is_pristine():
            raise CommandRejected("Message was not yet sent.")
        services.aggregate.publish_domain_event("liked", LikedData(likes=state.likes + 1))


class Sent(DomainEventHandler[MessageState, SentData]):
    def handle(
        self,
        state: MessageState,
        domain_event: DomainEvent[SentData],
        services: DomainEventServices,
    ) -> dict[str, Any]:
        return {"text": domain_event.data.text}

    def is_authorized(
        self,
        state: MessageState,
        domain_event: DomainEventWithState[SentData],
        services: DomainEventAuthorizationServices,
    ) -> bool:
        return True


class Liked(DomainEventHandler[MessageState, LikedData]):
    def handle(
        self,
        state: MessageState,
        domain_event: DomainEvent[LikedData],
        services: DomainEventServices,
    ) -> MessageState:
        return state.model_copy(update={"likes": domain_event.data.likes})

    def is_authorized(
        self,
        state: MessageState,
        domain_event: DomainEventWithState[LikedData],
        services: DomainEventAuthorizationServices,
    ) -> bool:
        return True


class MessageItem(BaseModel):
    id: str
    timestamp: int
    text: str
    likes: int


ViewStore = dict[str, list[dict[str, Any]]]


def _messages(infrastructure: Infrastructure[Any, Any]) -> list[dict[str, Any]]:
    store: ViewStore = infrastructure.tell
    return store["messages"]


class HandleMessageSent(FlowHandler):
    def is_relevant(self, fully_qualified_name: str, item_identifier: ItemIdentifier) -> bool:
        return fully_qualified_name == "communication.message.sent"

    async def handle(self, domain_event: DomainEvent, services: FlowServices) -> None:
        _messages(services.infrastructure).append(
            {
                "id": domain_event.aggregate_identifier.aggregate.id,
                "timestamp": domain_event.metadata.timestamp,
                "text": domain_event.data["text"],
                "likes": 0,
            }
        )
        await services.notification.publish("flowMessagesUpdated", {})


class HandleMessageLiked(FlowHandler):
    def is_relevant(self, fully_qualified_name: str, item_identifier: ItemIdentifier) -> bool:
        return fully_qualified_name == "communication.message.liked"

    async def handle(self, domain_event: DomainEvent, services: FlowServices) -> None:
        for message in _messages(services.infrastructure):
            if message["id"] == domain_event.aggregate_identifier.aggregate.id:
                message["likes"] = domain_event.data["likes"]
        await services.notification.publish("flowMessagesUpdated", {})


class All(StreamQueryHandler[Empty, MessageItem]):
    """All messages, newest first."""

    def handle(self, options: Empty, services: QueryServices) -> Iterable[dict[str, Any]]:
        return list(reversed(services.infrastructure.ask["messages"]))

    def is_authorized(self, item: MessageItem, services: QueryAuthorizationServices) -> bool:
        return True


class ByIdOptions(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str


class ById(ValueQueryHandler[ByIdOptions, MessageItem]):
    """One message by id."""

    async def handle(self, options: ByIdOptions, services: QueryServices) -> dict[str, Any]:
        for message in services.infrastructure.ask["messages"]:
            if message["id"] == options.id:
                return dict(message)
        raise NotFound()

    async def is_authorized(self, item: MessageItem, services: QueryAuthorizationServices) -> bool:
        return item.text != "secret"


class FlowMessagesUpdatedSubscriber(NotificationSubscriber):
    def is_relevant(self, name: str) -> bool:
        return name == "flowMessagesUpdated"

    async def handle(self, data: dict[str, Any], services: NotificationSubscriberServices) -> None:
        await services.notification.publish("viewMessagesUpdated", {})


class Everyone(NotificationHandler):
    def is_authorized(
        self,
        data: dict[str, Any],
        metadata: dict[str, Any] | None,
        services: NotificationAuthorizationServices,
    ) -> bool:
        return True


async def get_infrastructure(services: InfrastructureServices) -> Infrastructure[Any, Any]:
    store: ViewStore = {"messages": []}
    return Infrastructure(ask=store, tell=store)


def build_application(
    *,
    replay_policy: ReplayPolicy = "always",
    extra_commands: dict[str, CommandHandler[MessageState, Any]] | None = None,
) -> Application:
    message = Aggregate(
        initial_state=MessageState,
        command_handlers={"send": Send(), "like": Like(), **(extra_commands or {})},
        domain_event_handlers={"sent": Sent(), "liked": Liked()},
    )
    return Application(
        root_directory=Path("chat"),
        domain={"communication": {"message": with_system_domain_events(message)}},
        flows={
            "messages": Flow(
                replay_policy=replay_policy,
                domain_event_handlers={
                    "handleMessageSent": HandleMessageSent(),
                    "handleMessageLiked": HandleMessageLiked(),
                },
            )
        },
        views={
            "messages": View(
                query_handlers={"all": All(), "byId": ById()},
                notification_subscribers={
                    "flowMessagesUpdatedNotificationSubscriber": FlowMessagesUpdatedSubscriber()
                },
            )
        },
        notifications={"flowMessagesUpdated": Everyone(), "viewMessagesUpdated": Everyone()},
        infrastructure=InfrastructureDefinition(get_infrastructure=get_infrastructure),
    )
