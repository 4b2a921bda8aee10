"""The messages view: every message, newest first."""

from __future__ import annotations

from wolkenkit import Everyone, Infrastructure, NotificationService, View

from server.infrastructure import Message, ViewStore
from server.notifications import FlowMessagesUpdated, ViewMessagesUpdated

view = View(authorize=Everyone)


@view.stream
async def all(infrastructure: Infrastructure[ViewStore, None]) -> list[Message]:
    """All messages, newest first."""
    return await infrastructure.ask.messages_newest_first()


@view.on(FlowMessagesUpdated)
async def pass_news_on(notification: NotificationService) -> None:
    """Passes the flow's news on to clients, who then query the view again."""
    await notification.publish(ViewMessagesUpdated())
