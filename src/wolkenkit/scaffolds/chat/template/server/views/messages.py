"""The messages view: every message, newest first."""

from __future__ import annotations

from wolkenkit import Everyone, NotificationService, Rows, View

from server.notifications import FlowMessagesUpdated, ViewMessagesUpdated
from server.tables import Message

view = View(authorize=Everyone)


@view.stream
async def all(messages: Rows[Message]) -> list[Message]:
    """All messages, newest first."""
    # Messages sent in the same millisecond come in the order of their ids.
    return [message async for message in messages.find(order_by=("-timestamp",))]


@view.on(FlowMessagesUpdated)
async def pass_news_on(notification: NotificationService) -> None:
    """Passes the flow's news on to clients, who then query the view again."""
    await notification.publish(ViewMessagesUpdated())
