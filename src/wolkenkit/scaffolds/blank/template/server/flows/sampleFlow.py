"""A sample flow: it reacts to domain events, for example by issuing further commands or
by updating a view's store."""

from __future__ import annotations

import logging

from wolkenkit import DomainEvent, Flow

from server.domain.sampleContext.sampleAggregate import SampleDomainEvent

# "never": a flow that missed events goes on without them; see the chat template for "always".
flow = Flow(replay_policy="never")


@flow.on(SampleDomainEvent)
def log_sample_domain_event(
    event: DomainEvent[SampleDomainEvent], logger: logging.Logger
) -> None:
    """Logs each sample domain event."""
    logger.info("Received %s.", event.fully_qualified_name)
