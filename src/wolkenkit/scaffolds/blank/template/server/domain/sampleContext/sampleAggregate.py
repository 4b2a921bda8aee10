"""A sample aggregate: replace it with one of your domain.

An aggregate decides on commands and records its decisions as domain events. A handler's
name is its function's, in camelCase on the wire (``sampleCommand``); its docstring is the
documentation that ``wk describe`` and the APIs show.
"""

from __future__ import annotations

from pydantic import BaseModel
from wolkenkit import Aggregate, Everyone, Schema


class SampleState(BaseModel):
    """What the aggregate remembers between commands."""


# The data of the command and of the event: no fields yet, and a Schema accepts no others.
class SampleCommand(Schema):
    pass


class SampleDomainEvent(Schema):
    pass


# Who may send its commands and receive its events, unless a handler says otherwise.
aggregate = Aggregate(SampleState, authorize=Everyone)


@aggregate.command
def sample_command(command: SampleCommand) -> SampleDomainEvent:
    """A sample command."""
    return SampleDomainEvent()


@aggregate.event
def sample_domain_event(state: SampleState, event: SampleDomainEvent) -> SampleState:
    """A sample domain event."""
    return state
