"""The sample aggregate: sampleCommand publishes sampleDomainEvent."""

from __future__ import annotations

import pytest
from wolkenkit.errors import CommandMalformed
from wolkenkit.testing import Sandbox


def test_sample_command_publishes_sample_domain_event(sandbox: Sandbox) -> None:
    result = (
        sandbox.for_aggregate("sampleContext", "sampleAggregate")
        .when("sampleCommand")
        .then()
    )

    assert [(event.name, event.data) for event in result.domain_events] == [
        ("sampleDomainEvent", {})
    ]


def test_sample_command_refuses_unknown_fields(sandbox: Sandbox) -> None:
    # The command's schema is an empty object: anything in it is a mistake.
    scenario = sandbox.for_aggregate("sampleContext", "sampleAggregate").when(
        "sampleCommand", {"unexpected": True}
    )

    with pytest.raises(CommandMalformed):
        scenario.then()
