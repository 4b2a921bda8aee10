"""The messages view: every message, newest first."""

from __future__ import annotations

from typing import Any

from wolkenkit import (
    NotificationSubscriber,
    NotificationSubscriberServices,
    QueryAuthorizationServices,
    QueryServices,
    StreamQueryHandler,
    View,
)

from server.infrastructure import Message, ViewStore


class All(StreamQueryHandler[dict[str, Any], Message]):
    """All messages, newest first."""

    async def handle(
        self, options: dict[str, Any], services: QueryServices
    ) -> list[Message]:
        store: ViewStore = services.infrastructure.ask
        return await store.messages_newest_first()

    def is_authorized(
        self, item: Message, services: QueryAuthorizationServices
    ) -> bool:
        return True


class FlowMessagesUpdatedNotificationSubscriber(NotificationSubscriber):
    """Passes the flow's news on to clients, who then query the view again."""

    def is_relevant(self, name: str) -> bool:
        return name == "flowMessagesUpdated"

    async def handle(
        self, data: dict[str, Any], services: NotificationSubscriberServices
    ) -> None:
        await services.notification.publish("viewMessagesUpdated", {})


view = View(
    query_handlers={"all": All()},
    notification_subscribers={
        "flowMessagesUpdatedNotificationSubscriber": FlowMessagesUpdatedNotificationSubscriber()
    },
)
