"""Keeps the messages table up to date, and tells the view each time it changed."""

from __future__ import annotations

from wolkenkit import DomainEvent, Flow, NotificationService, Rows

from server.domain.communication.message import Liked, Sent
from server.notifications import FlowMessagesUpdated
from server.tables import Message

flow = Flow(replay_policy="always")  # What it finds it missed, it replays first.


@flow.on(Sent)
async def add_message(
    event: DomainEvent[Sent], messages: Rows[Message], notification: NotificationService
) -> None:
    """Adds a sent message to the table, with no likes yet."""
    message_id, timestamp = event.aggregate_identifier.aggregate.id, event.metadata.timestamp
    await messages.insert(
        Message(id=message_id, timestamp=timestamp, text=event.data.text, likes=0)
    )
    await notification.publish(FlowMessagesUpdated())


@flow.on(Liked)
async def set_likes(
    event: DomainEvent[Liked], messages: Rows[Message], notification: NotificationService
) -> None:
    """Updates the likes of a message in the table."""
    await messages.update(event.aggregate_identifier.aggregate.id, likes=event.data.likes)
    await notification.publish(FlowMessagesUpdated())
