"""Keeps the messages view up to date, and tells the view each time it changed."""

from __future__ import annotations

from wolkenkit import DomainEvent, Flow, Infrastructure, NotificationService

from server.domain.communication.message import Liked, Sent
from server.infrastructure import Message, ViewStore
from server.notifications import FlowMessagesUpdated

flow = Flow(replay_policy="always")  # What it finds it missed, it replays first.
Store = Infrastructure[ViewStore, ViewStore]


@flow.on(Sent)
async def add_message(
    event: DomainEvent[Sent], infrastructure: Store, notification: NotificationService
) -> None:
    """Adds a sent message to the view, with no likes yet."""
    message_id, timestamp = event.aggregate_identifier.aggregate.id, event.metadata.timestamp
    await infrastructure.tell.add_message(
        Message(id=message_id, timestamp=timestamp, text=event.data.text, likes=0)
    )
    await notification.publish(FlowMessagesUpdated())


@flow.on(Liked)
async def set_likes(
    event: DomainEvent[Liked], infrastructure: Store, notification: NotificationService
) -> None:
    """Updates the likes of a message in the view."""
    message_id = event.aggregate_identifier.aggregate.id
    await infrastructure.tell.set_likes(message_id, event.data.likes)
    await notification.publish(FlowMessagesUpdated())
