"""The ``<command>Rejected`` and ``<command>Failed`` events every aggregate gets."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from pydantic import BaseModel, ValidationError

from wolkenkit.application.definitions import Aggregate
from wolkenkit.application.policies import Everyone
from wolkenkit.application.services import (
    AggregatesService,
    DomainEventAuthorizationServices,
    DomainEventServices,
    Infrastructure,
)
from wolkenkit.application.system_events import (
    ReasonData,
    failed_event_name,
    is_system_event_name,
    rejected_event_name,
    with_system_domain_events,
)
from wolkenkit.errors import DomainEventAlreadyExists
from wolkenkit.messages import (
    AggregateIdentifier,
    ClientMetadata,
    DomainEventMetadata,
    DomainEventState,
    DomainEventWithState,
    Initiator,
    User,
    new_id,
)


class State(BaseModel):
    text: str = ""


class NoAggregates(AggregatesService):
    async def read(self, aggregate_identifier: AggregateIdentifier) -> Any:
        raise NotImplementedError


def message_aggregate(*event_names: str) -> Aggregate[State]:
    """The commands ``send`` and ``like``, the event ``sent``, and events named ``event_names``."""
    aggregate = Aggregate(State, authorize=Everyone)

    def handle(command: dict[str, Any]) -> None:
        pass

    def apply(state: State, event: dict[str, Any]) -> State:
        return state

    for name in ("send", "like"):
        aggregate.command(name=name)(handle)
    for name in ("sent", *event_names):
        aggregate.event(name=name)(apply)
    return aggregate


def rejection_for(user_id: str) -> DomainEventWithState[ReasonData]:
    return DomainEventWithState[ReasonData](
        aggregate_identifier=AggregateIdentifier.of("communication", "message", new_id()),
        name="sendRejected",
        data=ReasonData(reason="Text is missing."),
        id=new_id(),
        metadata=DomainEventMetadata(
            causation_id=new_id(),
            correlation_id=new_id(),
            timestamp=0,
            revision=1,
            initiator=Initiator(user=User(id=user_id, claims={"sub": user_id})),
        ),
        state=DomainEventState(previous={}, next={}),
    )


def services_for(user_id: str) -> DomainEventAuthorizationServices:
    return DomainEventAuthorizationServices(
        aggregates=NoAggregates(),
        client=ClientMetadata(
            token="token", user=User(id=user_id, claims={"sub": user_id}), ip="127.0.0.1"
        ),
        infrastructure=Infrastructure(ask={}, tell=None),
        logger=logging.getLogger("test"),
    )


def test_every_command_gets_a_rejected_and_a_failed_event() -> None:
    aggregate = with_system_domain_events(message_aggregate())

    assert list(aggregate.domain_event_handlers) == [
        "sent",
        "sendRejected",
        "sendFailed",
        "likeRejected",
        "likeFailed",
    ]


def test_the_given_aggregate_is_left_unchanged() -> None:
    original = message_aggregate()

    with_system_domain_events(original)

    assert list(original.domain_event_handlers) == ["sent"]


def test_names_of_system_events() -> None:
    aggregate = message_aggregate()

    assert rejected_event_name("send") == "sendRejected"
    assert failed_event_name("send") == "sendFailed"
    assert is_system_event_name("likeFailed", aggregate)
    assert not is_system_event_name("sent", aggregate)
    # Only commands of this aggregate have system events.
    assert not is_system_event_name("deleteRejected", aggregate)


def test_the_reason_is_required_and_nothing_else_is_allowed() -> None:
    assert ReasonData(reason="Text is missing.").reason == "Text is missing."
    with pytest.raises(ValidationError):
        ReasonData.model_validate({})
    with pytest.raises(ValidationError):
        ReasonData.model_validate({"reason": "No.", "details": "none"})


def test_system_events_leave_the_state_as_it_is() -> None:
    handler = with_system_domain_events(message_aggregate()).domain_event_handlers["sendFailed"]
    state = State(text="hello")
    services = DomainEventServices(
        infrastructure=Infrastructure(ask={}, tell={}), logger=logging.getLogger("test")
    )

    assert handler.handle(state, rejection_for("jane"), services) is state


def test_only_the_initiator_may_receive_system_events() -> None:
    handler = with_system_domain_events(message_aggregate()).domain_event_handlers["sendRejected"]
    event = rejection_for("jane")

    assert handler.is_authorized(State(), event, services_for("jane")) is True
    assert handler.is_authorized(State(), event, services_for("john")) is False


def test_a_user_defined_reserved_event_is_refused() -> None:
    with pytest.raises(DomainEventAlreadyExists) as raised:
        with_system_domain_events(message_aggregate("likeFailed"), "message.py")

    assert raised.value.message == "Reserved domain event name 'likeFailed' used in 'message.py'."
