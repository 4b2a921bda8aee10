"""Keeps the messages view up to date, and tells the view each time it changed."""

from __future__ import annotations

from wolkenkit import DomainEvent, Flow, FlowHandler, FlowServices, ItemIdentifier

from server.domain.communication.message import LikedData, SentData
from server.infrastructure import Message, ViewStore


class HandleMessageSent(FlowHandler):
    """Adds a sent message to the view, with no likes yet."""

    def is_relevant(
        self, fully_qualified_name: str, item_identifier: ItemIdentifier
    ) -> bool:
        return fully_qualified_name == "communication.message.sent"

    async def handle(self, domain_event: DomainEvent, services: FlowServices) -> None:
        data = SentData.model_validate(domain_event.data)
        store: ViewStore = services.infrastructure.tell
        await store.add_message(
            Message(
                id=domain_event.aggregate_identifier.aggregate.id,
                timestamp=domain_event.metadata.timestamp,
                text=data.text,
                likes=0,
            )
        )
        await services.notification.publish("flowMessagesUpdated", {})


class HandleMessageLiked(FlowHandler):
    """Updates the likes of a message in the view."""

    def is_relevant(
        self, fully_qualified_name: str, item_identifier: ItemIdentifier
    ) -> bool:
        return fully_qualified_name == "communication.message.liked"

    async def handle(self, domain_event: DomainEvent, services: FlowServices) -> None:
        data = LikedData.model_validate(domain_event.data)
        store: ViewStore = services.infrastructure.tell
        await store.set_likes(
            domain_event.aggregate_identifier.aggregate.id, data.likes
        )
        await services.notification.publish("flowMessagesUpdated", {})


# "always": when the flow notices it missed events of a message, it replays them first, so
# the view never lacks a message that was sent.
flow = Flow(
    replay_policy="always",
    domain_event_handlers={
        "handleMessageSent": HandleMessageSent(),
        "handleMessageLiked": HandleMessageLiked(),
    },
)
