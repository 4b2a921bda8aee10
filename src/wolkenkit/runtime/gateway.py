"""The gateway: the runtime as the client APIs (HTTP and GraphQL) see it.

The transports turn requests into calls of this interface and its answers into responses;
they never see the stores, the domain or the composition root that implements it (the
runtime of :mod:`wolkenkit.runtime.composition`, ruff refuses the import). What is offered
is exactly what they use: receiving and cancelling commands, the application and its
description, authentication, the settings they read, the live streams, view queries, files,
replays and the observability the HTTP app reports to.

The members are read-only: a transport reads them, never sets them. The runtime implements
the hot ones (``authenticator``, ``settings``, the queries) as plain attributes, so a request
pays no extra call for going through the interface.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any, Literal, Protocol

from opentelemetry.trace import Tracer

from wolkenkit.application.application import Application
from wolkenkit.application.description import ApplicationDescription
from wolkenkit.application.table_owners import RebuildGroup
from wolkenkit.domain.delivery import DomainEventForClients
from wolkenkit.messages import AggregateIdentifier, ClientMetadata, ItemIdentifier, Notification
from wolkenkit.observability.metrics import RuntimeMetrics
from wolkenkit.records import frozen_record
from wolkenkit.runtime.auth import Authenticator
from wolkenkit.runtime.broadcast import Broadcast
from wolkenkit.runtime.services import Service
from wolkenkit.runtime.settings import GraphqlApi
from wolkenkit.stores.file_store import FileStore


@frozen_record
class ReplayRequest:
    """Events ``from_revision`` to ``to_revision`` (both included) of one aggregate."""

    aggregate_identifier: AggregateIdentifier
    from_revision: int
    to_revision: int


class TransportSettings(Protocol):
    """The settings the transports read (``RuntimeSettings`` has them all)."""

    @property
    def http_api(self) -> bool: ...
    @property
    def graphql_api(self) -> Literal[False] | GraphqlApi: ...
    @property
    def enable_open_api_documentation(self) -> bool: ...
    @property
    def cors_origin(self) -> str | list[str]: ...
    @property
    def request_body_limit(self) -> int:
        """The most bytes a JSON body may have."""

    @property
    def file_size_limit(self) -> int:
        """The most bytes an uploaded file may have."""

    @property
    def heartbeat_interval(self) -> int:
        """Milliseconds between the heartbeats of a live stream."""


class Gateway(Protocol):
    """What the HTTP and GraphQL APIs may ask of the runtime."""

    # --- what runs here -----------------------------------------------------------------------

    @property
    def application(self) -> Application: ...
    @property
    def description(self) -> ApplicationDescription:
        """The application's commands, domain events, views and notifications, as described
        on ``…/description``."""

    @property
    def services(self) -> frozenset[Service]:
        """The services this process runs; a transport serves only their routes."""

    @property
    def settings(self) -> TransportSettings: ...

    # --- who asks -----------------------------------------------------------------------------

    @property
    def authenticator(self) -> Authenticator: ...

    # --- commands -----------------------------------------------------------------------------

    async def receive_command(
        self,
        identifier: AggregateIdentifier,
        command_id: str,
        command_name: str,
        data: Any,
        client: ClientMetadata,
    ) -> None:
        """Check the command against the app (the not-found errors, ``CommandMalformed``),
        give it metadata as the reference does, and queue it. ``command_id`` and the aggregate
        id come from ``new_command_ids``."""

    async def cancel_command(self, identifier: ItemIdentifier, user_id: str) -> None:
        """Remove a queued command of the user's: the not-found errors for a command the app
        lacks, ``ItemNotFound`` unless it waits in the queue and is the user's."""

    # --- live streams, views ------------------------------------------------------------------

    @property
    def domain_events(self) -> Broadcast[DomainEventForClients]: ...
    @property
    def notifications(self) -> Broadcast[Notification]: ...

    async def prepare_notification_for_client(
        self, notification: Notification, client: ClientMetadata
    ) -> dict[str, Any] | None:
        """The notification as ``client`` may see it, or ``None`` where it may not."""

    def is_stream_query(self, view_name: str, query_name: str) -> bool:
        """Whether the query streams items (or gives one value); the not-found errors."""

    async def query_stream(
        self, view_name: str, query_name: str, options: Mapping[str, Any], client: ClientMetadata
    ) -> AsyncIterator[dict[str, Any]]: ...

    async def query_value(
        self, view_name: str, query_name: str, options: Mapping[str, Any], client: ClientMetadata
    ) -> dict[str, Any]: ...

    # --- files --------------------------------------------------------------------------------

    @property
    def file_store(self) -> FileStore: ...
    @property
    def infrastructure(self) -> Any:
        """The app's infrastructure, which its file hooks get."""

    # --- replays ------------------------------------------------------------------------------

    def flows_to_replay(self, flow_names: Sequence[str] | None) -> list[str]:
        """The named flows, or every flow for ``None``; ``FlowNotFound`` for one the app
        lacks."""

    def check_aggregate(self, identifier: AggregateIdentifier) -> None:
        """The not-found errors for an aggregate the app lacks."""

    async def perform_replay(
        self, flow_names: Sequence[str], requests: Sequence[ReplayRequest]
    ) -> None:
        """Re-feed stored events to the named flows (reference §9.3), and to no other flow."""

    async def start_rebuilds(self, groups: Sequence[RebuildGroup]) -> None:
        """Take the groups' locks (``RebuildFailed`` if one is held), then rebuild their
        tables in the runtime's background."""

    # --- observability ------------------------------------------------------------------------

    @property
    def metrics(self) -> RuntimeMetrics: ...
    @property
    def tracer(self) -> Tracer | None: ...
