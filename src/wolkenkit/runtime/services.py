"""The services a runtime process can run, and what each needs.

The single-process runtime runs all of them in one process. The microservice runtime runs
each (or any group) in its own processes, as ``wk run <service>``; they then share state only
through the stores (PostgreSQL or MariaDB for events, queues, locks and progress) and wake each
other through publish/subscribe (Redis), with a timed poll as fallback.
The reference's dispatchers, event store service and publisher are not needed: the queues and
publish/subscribe are real infrastructure that every service reaches directly.
"""

from __future__ import annotations

from enum import StrEnum


class Service(StrEnum):
    COMMAND = "command"
    """The public command API: validates commands and queues them."""
    DOMAIN = "domain"
    """Command workers: handle queued commands, store events, queue them for flows."""
    DOMAIN_EVENT = "domain-event"
    """The public live stream of domain events."""
    FLOW = "flow"
    """Flow workers: run flows for queued events, issue commands, trigger replays."""
    REPLAY = "replay"
    """The replay API: re-feeds stored events to flows, rebuilds the tables of flows."""
    VIEW = "view"
    """The public view API and the views' notification subscribers."""
    NOTIFICATION = "notification"
    """The public live stream of notifications."""
    FILE = "file"
    """The public file API."""
    GRAPHQL = "graphql"
    """The public GraphQL API."""


ALL_SERVICES = frozenset(Service)

#: Services that answer HTTP requests on the API port (the others only have the health port).
HTTP_SERVICES = frozenset(ALL_SERVICES - {Service.DOMAIN, Service.FLOW})

#: Which stores each service reads or writes; a process opens only those of its services.
STORES_NEEDED: dict[Service, frozenset[str]] = {
    Service.COMMAND: frozenset({"command_queue"}),
    Service.DOMAIN: frozenset({"domain_events", "locks", "command_queue", "event_queue"}),
    Service.DOMAIN_EVENT: frozenset({"domain_events"}),
    Service.FLOW: frozenset(
        {"domain_events", "locks", "consumer_progress", "command_queue", "event_queue", "views"}
    ),
    # Replaying all events to flows with tables rebuilds the tables, running the flows.
    Service.REPLAY: frozenset(
        {"domain_events", "locks", "consumer_progress", "command_queue", "event_queue", "views"}
    ),
    # Queries and the views' notification subscribers read and write tables.
    Service.VIEW: frozenset({"views"}),
    Service.NOTIFICATION: frozenset(),
    Service.FILE: frozenset({"files"}),
    Service.GRAPHQL: frozenset({"domain_events", "command_queue", "views"}),
}


def parse_services(names: list[str] | tuple[str, ...]) -> frozenset[Service]:
    """Service names as given on the command line; raises ``ValueError`` naming an unknown
    one."""
    services = set()
    for name in names:
        try:
            services.add(Service(name))
        except ValueError:
            known = ", ".join(service.value for service in Service)
            raise ValueError(f"Unknown service '{name}'; use one of {known}.") from None
    return frozenset(services)


def stores_needed(services: frozenset[Service]) -> frozenset[str]:
    return frozenset().union(*(STORES_NEEDED[service] for service in services))
