"""The domain engine: one application over a set of stores.

``Domain`` wires the parts (repository, command handling, flows, views, notifications,
delivery to clients) and is what the runtimes and the test sandbox drive. It knows store
interfaces only; which backends they are is decided by whoever builds it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import Any

from opentelemetry.trace import Tracer

from wolkenkit import errors
from wolkenkit.application.application import Application
from wolkenkit.application.services import DomainEventServices, Infrastructure
from wolkenkit.application.tables import Tables
from wolkenkit.domain.catalog import AggregateEntry, Catalog
from wolkenkit.domain.command_handling import CommandHandling, CommandOutcome, SharedServices
from wolkenkit.domain.delivery import DomainEventDelivery, DomainEventForClients
from wolkenkit.domain.flows import (
    FlowExecution,
    FlowResult,
    FlowSharedServices,
    PerformReplay,
    each_write_on_its_own,
)
from wolkenkit.domain.notifications import Notifications
from wolkenkit.domain.repository import DEFAULT_CACHE_SIZE, Repository
from wolkenkit.domain.services import (
    IssueCommand,
    PublishingNotificationService,
    RepositoryAggregatesService,
    SendNotification,
    StoreLockService,
    publishing_to,
)
from wolkenkit.domain.snapshot_strategy import DEFAULT_SNAPSHOT_STRATEGY, SnapshotStrategy
from wolkenkit.domain.upcasting import Upcasting
from wolkenkit.domain.upcasting_store import UpcastingDomainEventStore
from wolkenkit.domain.views import ViewQueries
from wolkenkit.messages import (
    AggregateIdentifier,
    ClientMetadata,
    CommandWithMetadata,
    DomainEvent,
    DomainEventWithState,
    Notification,
)
from wolkenkit.stores.consumer_progress_store import ConsumerProgressStore
from wolkenkit.stores.domain_event_store import DomainEventStore
from wolkenkit.stores.lock_store import LockStore
from wolkenkit.stores.publish_subscribe import Publisher
from wolkenkit.stores.transactions import SharedDatabase, shared_database

DEFAULT_NOTIFICATION_CHANNEL = "notification"


async def _no_command_queue(command: CommandWithMetadata[Any]) -> None:
    raise errors.InvalidOperation(
        "This domain has no command queue, so flows cannot issue commands."
    )


class Domain:
    def __init__(
        self,
        application: Application,
        *,
        domain_event_store: DomainEventStore,
        lock_store: LockStore,
        consumer_progress_store: ConsumerProgressStore,
        publisher: Publisher,
        tables: Tables,
        infrastructure: Infrastructure[Any, Any] | None = None,
        snapshot_strategy: SnapshotStrategy = DEFAULT_SNAPSHOT_STRATEGY,
        notification_channel: str = DEFAULT_NOTIFICATION_CHANNEL,
        send_notification: SendNotification | None = None,
        issue_command: IssueCommand = _no_command_queue,
        perform_replay: PerformReplay | None = None,
        cache_size: int = DEFAULT_CACHE_SIZE,
        tracer: Tracer | None = None,
    ) -> None:
        self.application = application
        self.catalog = catalog = Catalog(application)
        self.upcasting = upcasting = Upcasting(catalog)
        #: Reads come out at the current version of each event's model; writes pass through.
        self.domain_event_store = UpcastingDomainEventStore(domain_event_store, upcasting)
        self.infrastructure = infrastructure or Infrastructure(ask={}, tell={})
        #: The app's view tables; whoever passes them has set them up.
        self.tables = tables
        #: The database of both the flows' progress and the tables, if they share one: then a
        #: flow's table writes commit with its progress (exactly once); else at least once.
        self.flow_database: SharedDatabase | None = shared_database(
            consumer_progress_store, self.tables.store
        )
        self.repository = Repository(
            catalog, self.domain_event_store, snapshot_strategy, self._event_services, cache_size
        )
        aggregates = RepositoryAggregatesService(self.repository)
        lock = StoreLockService(lock_store)
        # Published notifications go out over publish/subscribe unless the caller takes them.
        send = send_notification or publishing_to(publisher, notification_channel)
        notification = PublishingNotificationService(application.notifications, send)
        self._commands = CommandHandling(
            catalog,
            self.repository,
            domain_event_store,
            SharedServices(aggregates, self.infrastructure, lock, notification),
            tracer=tracer,
        )
        self._flows = FlowExecution(
            catalog,
            consumer_progress_store,
            FlowSharedServices(
                aggregates=aggregates,
                infrastructure=self.infrastructure,
                lock=lock,
                notification=notification,
                tables=self.tables,
                issue_command=issue_command,
                perform_replay=perform_replay or self._replay_in_place,
            ),
            self.flow_database.transaction
            if self.flow_database is not None
            else each_write_on_its_own,
        )
        self._views = ViewQueries(catalog, self.infrastructure, self.tables)
        self._notifications = Notifications(catalog, self.infrastructure, self.tables, send)
        self._delivery = DomainEventDelivery(
            catalog, self.repository, aggregates, self.infrastructure, upcasting
        )
        self._event_services_cache: dict[int, DomainEventServices] = {}

    def _event_services(self, entry: AggregateEntry) -> DomainEventServices:
        services = self._event_services_cache.get(id(entry))
        if services is None:
            services = self._event_services_cache[id(entry)] = DomainEventServices(
                infrastructure=self.infrastructure,
                logger=entry.logger,
            )
        return services

    async def handle_command(self, command: CommandWithMetadata[Any]) -> CommandOutcome:
        """Handle one command; see :mod:`wolkenkit.domain.command_handling`."""
        return await self._commands.handle(command)

    async def execute_flow(self, flow_name: str, domain_event: DomainEvent[Any]) -> FlowResult:
        """Run one flow for one event; ``defer`` means: hand me this event again later.

        The event may come from a queue that a process of an older version of the app
        filled, so its data is lifted to the current version first."""
        return await self._flows.execute(flow_name, self.upcasting.current(domain_event))

    async def _replay_in_place(
        self, flow_name: str, identifier: AggregateIdentifier, from_revision: int, to_revision: int
    ) -> None:
        # Without a queue to re-feed, the replayed events run through the flow right away.
        async for domain_event in self.domain_event_store.get_replay_for_aggregate(
            identifier.aggregate.id, from_revision, to_revision
        ):
            await self._flows.execute(flow_name, domain_event)

    async def query_stream(
        self,
        view_name: str,
        query_name: str,
        options: Mapping[str, Any],
        client: ClientMetadata,
    ) -> AsyncIterator[dict[str, Any]]:
        return await self._views.query_stream(view_name, query_name, options, client)

    async def query_value(
        self,
        view_name: str,
        query_name: str,
        options: Mapping[str, Any],
        client: ClientMetadata,
    ) -> dict[str, Any]:
        return await self._views.query_value(view_name, query_name, options, client)

    def has_view_subscribers(self, notification_name: str) -> bool:
        return self._notifications.has_view_subscribers(notification_name)

    async def run_view_subscribers(self, notification: Notification) -> None:
        await self._notifications.run_view_subscribers(notification)

    async def prepare_notification_for_client(
        self, notification: Notification, client: ClientMetadata
    ) -> dict[str, Any] | None:
        return await self._notifications.prepare_for_client(notification, client)

    def domain_event_for_clients(
        self, domain_event: DomainEventWithState[Any]
    ) -> DomainEventForClients:
        """The event on its way to every client of the live streams, from one state load."""
        return self._delivery.for_clients(domain_event)

    async def prepare_domain_event_for_client(
        self, domain_event: DomainEventWithState[Any], client: ClientMetadata
    ) -> DomainEvent[Any] | None:
        return await self._delivery.prepare_for_client(domain_event, client)

    async def read_aggregate(self, identifier: AggregateIdentifier) -> Any:
        """The aggregate's current state; ``AggregateNotFound`` while it is pristine."""
        return await self.repository.read_state(identifier)
