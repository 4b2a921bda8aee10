"""A sample flow: it reacts to domain events, for example by issuing further commands or
by updating a view's store."""

from __future__ import annotations

from wolkenkit import DomainEvent, Flow, FlowHandler, FlowServices, ItemIdentifier


class SampleHandler(FlowHandler):
    """Sees every domain event of the application."""

    def is_relevant(
        self, fully_qualified_name: str, item_identifier: ItemIdentifier
    ) -> bool:
        return True

    async def handle(self, domain_event: DomainEvent, services: FlowServices) -> None:
        services.logger.info(
            "Received %s.", domain_event.fully_qualified_name
        )


# "never": a flow that missed events goes on without them; see the chat template for "always".
flow = Flow(
    replay_policy="never",
    domain_event_handlers={"sampleHandler": SampleHandler()},
)
