"""Testing helpers for application authors: the sandbox, message builders, store contracts."""

from wolkenkit.testing.builders import JANE_DOE, build_client, build_command, build_domain_event
from wolkenkit.testing.sandbox import (
    AggregateResult,
    AggregateScenario,
    FlowResultSummary,
    FlowScenario,
    RecordingPublisher,
    Sandbox,
    ViewScenario,
    build_domain,
)

__all__ = [
    "JANE_DOE",
    "AggregateResult",
    "AggregateScenario",
    "FlowResultSummary",
    "FlowScenario",
    "RecordingPublisher",
    "Sandbox",
    "ViewScenario",
    "build_client",
    "build_command",
    "build_domain",
    "build_domain_event",
]
