"""A chat message: sent once, then liked any number of times. Docstrings are the
documentation that ``wk describe``, the APIs and GraphQL show."""

from pydantic import BaseModel
from wolkenkit import Aggregate, AggregateService, CommandRejected, Everyone, Schema


class Message(BaseModel):
    text: str = ""
    likes: int = 0


class Send(Schema):
    text: str


class Like(Schema):
    pass


aggregate = Aggregate(Message, authorize=Everyone)


# Events whose data is what changes in the state are declared by their classes: applying one
# copies its fields into the message.
@aggregate.event
class Sent(Schema):
    """A message was sent."""

    text: str


@aggregate.event
class Liked(Schema):
    """A message was liked; the data holds its new number of likes."""

    likes: int


@aggregate.command
def send(command: Send, this: AggregateService[Message]) -> Sent:
    """Sends a new message."""
    if not command.text:
        raise CommandRejected("Text is missing.")
    if not this.is_pristine():
        raise CommandRejected("Message was already sent.")
    return Sent(text=command.text)


@aggregate.command
def like(message: Message, command: Like, this: AggregateService[Message]) -> Liked:
    """Likes a message."""
    if this.is_pristine():
        raise CommandRejected("Message was not yet sent.")
    return Liked(likes=message.likes + 1)

