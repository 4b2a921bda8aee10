"""The sample flow: it logs the sample domain event and does nothing visible yet."""

from __future__ import annotations

from wolkenkit.testing import Sandbox


def test_sample_flow_handles_the_sample_domain_event(sandbox: Sandbox) -> None:
    result = (
        sandbox.for_flow("sampleFlow")
        .when("sampleContext.sampleAggregate.sampleDomainEvent", {})
        .then()
    )

    assert result.results == ["acknowledge"]
    assert result.commands == []
    assert result.notifications == []
