"""A chat message: sent once, then liked any number of times.

The docstrings of the handlers below are the documentation that ``wk describe``, the API
descriptions and GraphQL show.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from wolkenkit import (
    Aggregate,
    CommandAuthorizationServices,
    CommandHandler,
    CommandRejected,
    CommandServices,
    CommandWithMetadata,
    DomainEvent,
    DomainEventAuthorizationServices,
    DomainEventHandler,
    DomainEventServices,
    DomainEventWithState,
)


class MessageState(BaseModel):
    text: str = ""
    likes: int = 0


# Commands and events accept exactly the fields declared here; anything else is refused.


class SendData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str


class LikeData(BaseModel):
    model_config = ConfigDict(extra="forbid")


class SentData(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str


class LikedData(BaseModel):
    model_config = ConfigDict(extra="forbid")

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
        services.aggregate.publish_domain_event(
            "sent", SentData(text=command.data.text)
        )


class Like(CommandHandler[MessageState, LikeData]):
    """Likes a message."""

    def is_authorized(
        self,
        state: MessageState,
        command: CommandWithMetadata[LikeData],
        services: CommandAuthorizationServices,
    ) -> bool:
        return True

    def handle(
        self,
        state: MessageState,
        command: CommandWithMetadata[LikeData],
        services: CommandServices[MessageState],
    ) -> None:
        if services.aggregate.is_pristine():
            raise CommandRejected("Message was not yet sent.")
        services.aggregate.publish_domain_event(
            "liked", LikedData(likes=state.likes + 1)
        )


class Sent(DomainEventHandler[MessageState, SentData]):
    """A message was sent."""

    def handle(
        self,
        state: MessageState,
        domain_event: DomainEvent[SentData],
        services: DomainEventServices,
    ) -> MessageState:
        return state.model_copy(update={"text": domain_event.data.text})

    def is_authorized(
        self,
        state: MessageState,
        domain_event: DomainEventWithState[SentData],
        services: DomainEventAuthorizationServices,
    ) -> bool:
        return True


class Liked(DomainEventHandler[MessageState, LikedData]):
    """A message was liked; the data holds its new number of likes."""

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


aggregate: Aggregate[MessageState] = Aggregate(
    initial_state=MessageState,
    command_handlers={"send": Send(), "like": Like()},
    domain_event_handlers={"sent": Sent(), "liked": Liked()},
)
