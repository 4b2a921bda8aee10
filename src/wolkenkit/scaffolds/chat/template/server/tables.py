"""The view tables: the flow writes them, the views read them, the view store keeps them."""

from __future__ import annotations

from pydantic import BaseModel
from wolkenkit import BigInt, Table


class Message(BaseModel):
    """A message as the messages view lists it."""

    id: str
    # Milliseconds since 1970 need more than GraphQL's 32-bit Int.
    timestamp: BigInt
    text: str
    likes: int


messages = Table(Message, key="id", indexes=("timestamp",))
