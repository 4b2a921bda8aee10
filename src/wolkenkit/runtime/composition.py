"""The runtime: the composition root that wires one application to its stores and services.

``Runtime`` composes what one process runs. In the single-process runtime that is everything
(reference §6.1): the command queue with its workers, the flow queue with its workers, live
domain events and notifications, the views' notification subscribers, the file store, and
the HTTP API served by uvicorn. The same class runs any subset of these as one service of the
microservice runtime (see :mod:`wolkenkit.runtime.services`): it then opens only the stores
its services need, and what it would hand over in memory goes through publish/subscribe
instead. The HTTP and GraphQL APIs see it only as a :class:`~wolkenkit.runtime.gateway.Gateway`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from typing import Any, TypeVar

from opentelemetry import context as otel_context
from opentelemetry.trace import Tracer

from wolkenkit import errors
from wolkenkit.application.application import Application
from wolkenkit.application.definitions import StreamQueryHandler
from wolkenkit.application.description import ApplicationDescription, describe_application
from wolkenkit.application.services import InfrastructureServices
from wolkenkit.application.table_owners import RebuildGroup
from wolkenkit.application.tables import Tables
from wolkenkit.domain.catalog import data_to_json
from wolkenkit.domain.command_handling import CommandOutcome
from wolkenkit.domain.delivery import DomainEventForClients
from wolkenkit.domain.domain import Domain
from wolkenkit.messages import (
    AggregateIdentifier,
    ClientMetadata,
    CommandMetadata,
    CommandWithMetadata,
    DomainEvent,
    DomainEventWithState,
    Initiator,
    ItemIdentifier,
    Notification,
    now_ms,
)
from wolkenkit.observability.logs import COMMAND_ID
from wolkenkit.observability.metrics import RuntimeMetrics
from wolkenkit.observability.tracing import carrier_of_current_span, context_from
from wolkenkit.records import frozen_record
from wolkenkit.runtime.auth import Authenticator
from wolkenkit.runtime.broadcast import Broadcast
from wolkenkit.runtime.flow_pause import hold, is_barrier
from wolkenkit.runtime.flow_recovery import FlowRecovery
from wolkenkit.runtime.gateway import ReplayRequest
from wolkenkit.runtime.gauges import Gauges
from wolkenkit.runtime.observing import Observing
from wolkenkit.runtime.pings import Pings, items_of
from wolkenkit.runtime.queued_messages import (
    QueuedCommand,
    QueuedDomainEvent,
    command_and_carrier,
    event_and_carrier,
    event_with_carrier,
    with_carrier,
)
from wolkenkit.runtime.rebuilds import start_in_background
from wolkenkit.runtime.services import ALL_SERVICES, Service, stores_needed
from wolkenkit.runtime.settings import RuntimeSettings
from wolkenkit.runtime.workers import Defer, QueueWorkers, UnitOfWork, Verdict, Wakeup
from wolkenkit.serialization import json_object
from wolkenkit.stores import factory
from wolkenkit.stores.consumer_progress_store import ConsumerProgressStore
from wolkenkit.stores.domain_event_store import DomainEventStore
from wolkenkit.stores.file_store import FileStore
from wolkenkit.stores.lock_store import LockStore
from wolkenkit.stores.options import StoreOptions
from wolkenkit.stores.priority_queue_store import LockedItem, PriorityQueueStore
from wolkenkit.stores.publish_subscribe import (
    Callback,
    CallbackQueue,
    Message,
    Publisher,
    Subscriber,
    Subscription,
)
from wolkenkit.stores.transactions import shared_database

logger = logging.getLogger("wolkenkit.runtime")

#: The key of the trace context in a notification published to other processes.
NOTIFICATION_CARRIER_KEY = "traceContext"

StoreT = TypeVar("StoreT")
PubSubT = TypeVar("PubSubT", bound="Publisher | Subscriber")


@frozen_record
class CancelRequest:
    """Names a queued command, and who wants it cancelled (matched by user id)."""

    item_identifier: ItemIdentifier
    user_id: str


def command_matches(command: CommandWithMetadata[Any], request: CancelRequest) -> bool:
    identifier = request.item_identifier
    return (
        command.id == identifier.id
        and command.name == identifier.name
        and command.aggregate_identifier == identifier.aggregate_identifier
        and command.metadata.client.user.id == request.user_id
    )


def event_matches(event: DomainEvent[Any], identifier: ItemIdentifier) -> bool:
    return event.id == identifier.id


class Runtime:
    """Everything one process runs; the HTTP and GraphQL APIs drive it as a ``Gateway``."""

    def __init__(
        self,
        settings: RuntimeSettings,
        application: Application,
        *,
        domain_event_store: DomainEventStore,
        lock_store: LockStore,
        consumer_progress_store: ConsumerProgressStore,
        file_store: FileStore,
        command_queue: PriorityQueueStore[CommandWithMetadata[Any], CancelRequest],
        event_queue: PriorityQueueStore[DomainEvent[Any], ItemIdentifier],
        publisher: Publisher,
        subscriber: Subscriber,
        infrastructure: Any,
        tables: Tables,
        services: frozenset[Service] = ALL_SERVICES,
        opened_stores: Sequence[Any] | None = None,
        tracer: Tracer | None = None,
    ) -> None:
        self.settings = settings
        self.services = services
        #: All services in one process: hand events and wake-ups over in memory.
        self.is_single_process = services == ALL_SERVICES
        self.application = application
        self.description: ApplicationDescription = describe_application(application)
        self.authenticator = Authenticator(settings.identity_providers)
        self.file_store = file_store
        self.consumer_progress_store = consumer_progress_store
        self.lock_store = lock_store
        self.command_queue = command_queue
        self.event_queue = event_queue
        self.publisher = publisher
        self.subscriber = subscriber
        self.domain_events: Broadcast[DomainEventForClients] = Broadcast()
        self.notifications: Broadcast[Notification] = Broadcast()
        self._stores: list[Any] = list(
            opened_stores
            if opened_stores is not None
            else [
                domain_event_store,
                lock_store,
                consumer_progress_store,
                file_store,
                command_queue,
                event_queue,
                tables,
            ]
        )
        #: Spans (with a tracer) and metrics (always): see ``observing``.
        self.observing = Observing(tracer, RuntimeMetrics())
        #: In one process, with a flow queue in memory: the events of commands reach the
        #: flows without a journal entry, and are found again after a crash.
        self._flow_recovery = (
            FlowRecovery.where_possible(
                domain_event_store, consumer_progress_store, event_queue, list(application.flows)
            )
            if self.is_single_process
            else None
        )
        self._gauges = Gauges.of_services(
            self.observing.metrics,
            services,
            command_queue=command_queue,
            event_queue=event_queue,
            flow_names=list(application.flows),
            streams={"domain-events": self.domain_events, "notifications": self.notifications},
        )
        self._command_wakeup = Wakeup()
        self._flow_wakeup = Wakeup()
        # Wake-up calls for the workers of other processes.
        self._command_pings = Pings(publisher, settings.pub_sub_options.channel_for_new_commands)
        self._flow_pings = Pings(publisher, settings.pub_sub_options.channel_for_new_flow_items)
        self.domain = Domain(
            application,
            domain_event_store=domain_event_store,
            lock_store=lock_store,
            consumer_progress_store=consumer_progress_store,
            publisher=publisher,
            infrastructure=infrastructure,
            tables=tables,
            snapshot_strategy=settings.snapshot_strategy,
            notification_channel=settings.pub_sub_options.channel_for_notifications,
            send_notification=(
                self._send_local_notification
                if self.is_single_process
                else self._publish_notification
            ),
            issue_command=self.submit_command,
            perform_replay=self._replay_for_flow,
            tracer=tracer,
        )
        self.infrastructure = self.domain.infrastructure
        # The gateway's queries are the domain's own methods, not ones that forward to them:
        # a request pays no extra call for going through the gateway.
        self.query_stream = self.domain.query_stream
        self.query_value = self.domain.query_value
        self.prepare_notification_for_client = self.domain.prepare_notification_for_client
        self._command_workers = QueueWorkers(
            "commands",
            command_queue,
            self.observing.traced_commands(self._handle_command),
            settings.concurrent_commands,
            settings.command_queue_renew_interval,
            self._command_wakeup,
        )
        self._flow_workers = QueueWorkers(
            "flows",
            event_queue,
            self.observing.traced_flow_items(self._handle_flow_item),
            settings.concurrent_flows,
            settings.command_queue_renew_interval,
            self._flow_wakeup,
            unit_of_work=_runs_of_items(event_queue, consumer_progress_store, tables.store),
            # A barrier waits for a rebuild, whose writes would wait for the run.
            alone=lambda locked: is_barrier(locked.item),
        )
        self._subscriptions: list[Subscription] = []
        #: Work a request started that outlives it (a rebuild); cancelled by ``stop``.
        self._background: set[asyncio.Task[None]] = set()
        #: In one process, notifications reach their consumers through this, not as JSON
        #: over publish/subscribe (made in ``start``, as it needs the event loop); each with
        #: the trace context it was sent in.
        self._local_notifications: (
            CallbackQueue[tuple[Notification, otel_context.Context | None]] | None
        ) = None

    @classmethod
    async def create(
        cls,
        settings: RuntimeSettings,
        application: Application,
        services: frozenset[Service] = ALL_SERVICES,
        tracer: Tracer | None = None,
    ) -> Runtime:
        """Open and set up the stores the services need, and build the infrastructure; fails
        at start-up, with one clear error, for bad options or unreachable servers. Stores a
        service does not need are left in memory and never touched."""
        needed = stores_needed(services)
        opened: list[Any] = []

        def options(name: str, configured: StoreOptions) -> StoreOptions:
            return configured if name in needed else {"type": "InMemory"}

        async def opening(store: StoreT) -> StoreT:
            opened.append(store)
            return store

        connected: list[Publisher | Subscriber] = []

        async def connecting(client: PubSubT) -> PubSubT:
            connected.append(client)
            return client

        pub_sub = settings.pub_sub_options
        infrastructure = await application.infrastructure.get_infrastructure(
            InfrastructureServices(logger=logging.getLogger("wolkenkit.app.infrastructure"))
        )
        try:
            runtime = cls(
                settings,
                application,
                domain_event_store=await opening(
                    await factory.create_domain_event_store(
                        options("domain_events", settings.domain_event_store_options)
                    )
                ),
                lock_store=await opening(
                    await factory.create_lock_store(options("locks", settings.lock_store_options))
                ),
                consumer_progress_store=await opening(
                    await factory.create_consumer_progress_store(
                        options("consumer_progress", settings.consumer_progress_store_options)
                    )
                ),
                file_store=await opening(
                    await factory.create_file_store(options("files", settings.file_store_options))
                ),
                command_queue=await opening(
                    await factory.create_priority_queue_store(
                        options(
                            "command_queue", settings.priority_queue_store_for_commands_options
                        ),
                        # Read with the trace context an item may carry.
                        QueuedCommand,
                        command_matches,
                        # Nobody else handles this process's commands: scheduled in memory
                        # where the store allows, with a journal of what was accepted.
                        sole_user=services == ALL_SERVICES,
                    )
                ),
                event_queue=await opening(
                    await factory.create_priority_queue_store(
                        options(
                            "event_queue", settings.priority_queue_store_for_domain_events_options
                        ),
                        QueuedDomainEvent,
                        event_matches,
                        # Likewise; the events commands store need no journal entry even
                        # (see ``flow_recovery``).
                        sole_user=services == ALL_SERVICES,
                    )
                ),
                publisher=await connecting(await factory.create_publisher(pub_sub.publisher)),
                subscriber=await connecting(await factory.create_subscriber(pub_sub.subscriber)),
                infrastructure=infrastructure,
                # Set up below with the other stores: its tables are created where missing.
                tables=await opening(
                    Tables(
                        await factory.create_view_store(
                            options("views", settings.view_store_options)
                        ),
                        application.tables,
                    )
                ),
                services=services,
                opened_stores=opened,
                tracer=tracer,
            )
            for store in opened:
                await store.setup()
        except BaseException:
            # Whatever was opened so far, the publisher and subscriber too, is closed again.
            for store in [*opened, *connected]:
                with contextlib.suppress(Exception):
                    await store.destroy()
            raise
        return runtime

    async def start(self) -> None:
        channels = self.settings.pub_sub_options
        services = self.services
        wanted: list[tuple[str, Callback]] = []
        if self.is_single_process:
            # Everything is handed over in memory; other processes publish nothing for us.
            self._local_notifications = CallbackQueue(
                self._receive_notification, "local notifications"
            )
        else:
            if services & {Service.VIEW, Service.NOTIFICATION, Service.GRAPHQL}:
                wanted.append((channels.channel_for_notifications, self._on_notification))
            if services & {Service.DOMAIN_EVENT, Service.GRAPHQL}:
                wanted.append((channels.channel_for_new_domain_events, self._on_new_domain_event))
            if Service.DOMAIN in services:
                wanted.append((channels.channel_for_new_commands, self._on_new_command))
            if Service.FLOW in services:
                wanted.append((channels.channel_for_new_flow_items, self._on_new_flow_item))
        self._subscriptions = [
            await self.subscriber.subscribe(channel, callback) for channel, callback in wanted
        ]
        if Service.DOMAIN in services:
            self._command_workers.start()
        if Service.FLOW in services:
            self._say_how_flows_write_tables()
            if self._flow_recovery is not None:
                await self._flow_recovery.recover()
                self.run_in_background(
                    self._flow_recovery.keep_checkpoint(), "the flows' checkpoint"
                )
            self._flow_workers.start()

    def _say_how_flows_write_tables(self) -> None:
        """Once, at the start: whether a flow's table writes are exactly once."""
        if not (self.application.tables and self.application.flows):
            return
        database = self.domain.flow_database
        if database is not None:
            logger.info(
                "Flows write view tables exactly once: a flow's table writes commit together "
                "with its progress, in %s.",
                database.description,
            )
        else:
            logger.warning(
                "The view store and the consumer progress store are different databases, so a "
                "flow's table writes commit apart from its progress: an event handled again "
                "after a crash applies its writes again (at least once). Keep both stores in "
                "one database for exactly once, or write the flows' handlers idempotent."
            )

    async def stop(self) -> None:
        """Finish the commands and flow events in hand, then close everything.

        Also undoes a ``start`` that failed half-way: each step is safe to take for what was
        never started, and one that fails does not keep the others from closing theirs."""
        steps: list[tuple[str, Callable[[], Awaitable[None]]]] = [
            ("Stopping the work in the background", self._stop_background),
            ("Stopping the command workers", self._command_workers.stop),
            ("Stopping the flow workers", self._flow_workers.stop),
            ("Setting the flows' checkpoint", self._checkpoint_flows),
            ("Sending the last wake-up calls", self._command_pings.flush),
            ("Sending the last wake-up calls", self._flow_pings.flush),
            ("Unsubscribing", self._unsubscribe),
            ("Closing the subscriber", self.subscriber.destroy),
            ("Closing the publisher", self.publisher.destroy),
            *(("Closing a store", store.destroy) for store in self._stores),
        ]
        for what, step in steps:
            try:
                await step()
            except Exception:
                logger.exception("%s failed.", what)

    async def _checkpoint_flows(self) -> None:
        if self._flow_recovery is not None:
            await self._flow_recovery.checkpoint_if_quiet()

    def run_in_background(self, work: Coroutine[Any, Any, None], name: str) -> None:
        """Run ``work`` beside everything else until it is done or the runtime stops."""
        task = asyncio.create_task(work, name=name)
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _stop_background(self) -> None:
        tasks, self._background = list(self._background), set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def _unsubscribe(self) -> None:
        subscriptions, self._subscriptions = self._subscriptions, []
        for subscription in subscriptions:
            await subscription.unsubscribe()
        if self._local_notifications is not None:
            await self._local_notifications.stop()
            self._local_notifications = None

    @property
    def metrics(self) -> RuntimeMetrics:
        return self.observing.metrics

    @property
    def tracer(self) -> Tracer | None:
        return self.observing.tracer

    # --- commands -----------------------------------------------------------------------------

    async def receive_command(
        self,
        identifier: AggregateIdentifier,
        command_id: str,
        command_name: str,
        data: Any,
        client: ClientMetadata,
    ) -> None:
        """A command from a client, whichever API it came through (see ``Gateway``)."""
        typed_data = self.domain.catalog.validate_command_data(identifier, command_name, data)
        await self.submit_command(
            CommandWithMetadata.trusted(
                aggregate_identifier=identifier,
                name=command_name,
                # What is queued is what the schema accepted (defaults filled in), as JSON.
                data=data_to_json(typed_data),
                id=command_id,
                metadata=CommandMetadata.trusted(
                    causation_id=command_id,
                    correlation_id=command_id,
                    timestamp=now_ms(),
                    client=client,
                    initiator=Initiator.trusted(user=client.user),
                ),
            )
        )

    async def submit_command(self, command: CommandWithMetadata[Any]) -> None:
        """Queue a command for its aggregate; it is handled in order of receipt."""
        if self.observing.tracing:
            command = with_carrier(command, carrier_of_current_span())
        # Command handling acknowledges a command once its events are stored, so a queue
        # in this process may let the workers have it before it is journaled.
        await self.command_queue.enqueue_and_wake(
            command,
            command.aggregate_identifier.aggregate.id,
            command.metadata.timestamp,
            self._command_wakeup.notify,
        )
        if not self.is_single_process:
            await self._command_pings.notify()

    async def cancel_command(self, identifier: ItemIdentifier, user_id: str) -> None:
        """The not-found errors for a command the app lacks; ``ItemNotFound`` unless the
        command waits in the queue and is the user's."""
        aggregate_identifier = identifier.aggregate_identifier
        self.domain.catalog.command(aggregate_identifier, identifier.name)
        await self.command_queue.remove(
            aggregate_identifier.aggregate.id, CancelRequest(identifier, user_id)
        )

    async def _handle_command(self, locked: LockedItem[CommandWithMetadata[Any]]) -> Verdict:
        # Traced, the command comes in its span, its carrier taken off (``traced_commands``);
        # untraced, it may still carry the context of a process that traces.
        command, _ = command_and_carrier(locked.item)
        # The command's work, down to the flows' queue, is logged with its id.
        command_id = COMMAND_ID.set(command.id)
        recovery = self._flow_recovery
        handling = recovery.handling_command() if recovery is not None else contextlib.nullcontext()
        try:
            with handling:
                await self._handle_and_publish(command)
        finally:
            COMMAND_ID.reset(command_id)
        return None

    async def _handle_and_publish(self, command: CommandWithMetadata[Any]) -> None:
        try:
            outcome = await self.domain.handle_command(command)
        except Exception:
            self.observing.command_finished(command, "failed", 0)
            raise
        self.observing.command_finished(
            command, outcome.result, len(outcome.domain_events) if outcome.stored else 0
        )
        await self._publish_outcome(outcome)

    async def _publish_outcome(self, outcome: CommandOutcome) -> None:
        if self.is_single_process:
            # Nobody outside this process consumes new domain events, so they go straight to
            # its streams, without a round trip through JSON and publish/subscribe.
            for event in outcome.domain_events:
                self._stream_domain_event(event)
        else:
            channel = self.settings.pub_sub_options.channel_for_new_domain_events
            for event in outcome.domain_events:
                # With its version, unlike to_json: a process of another version of the app
                # may receive it, and lifts it by that.
                await self.publisher.publish(channel, json_object(event))
        if not outcome.stored:
            return
        flow_names = self.domain.catalog.flow_names()
        for event in outcome.domain_events:
            await self._enqueue_for_flows(event.without_state(), flow_names, stored_now=True)

    # --- flows --------------------------------------------------------------------------------

    async def _enqueue_for_flows(
        self, event: DomainEvent[Any], flow_names: Sequence[str], *, stored_now: bool = False
    ) -> None:
        """Queue ``event`` for the flows; ``stored_now``: a command has just stored it."""
        if self.observing.tracing and flow_names:
            event = event_with_carrier(event, carrier_of_current_span())
        if stored_now and self._flow_recovery is not None:
            self._flow_recovery.enqueue(event, flow_names)
        else:
            for flow_name in flow_names:
                await self.event_queue.enqueue(event, flow_name, event.metadata.timestamp)
        if flow_names:
            self._flow_wakeup.notify()
            if not self.is_single_process:
                await self._flow_pings.notify()

    async def enqueue_for_flow(self, event: DomainEvent[Any], flow_name: str) -> None:
        """Queue ``event`` for one flow, and wake its workers."""
        await self._enqueue_for_flows(event, [flow_name])

    async def _handle_flow_item(self, locked: LockedItem[DomainEvent[Any]]) -> Verdict:
        # As for commands (see ``_handle_command``), and the queue's discriminator is the flow.
        event, _ = event_and_carrier(locked.item)
        if is_barrier(event):
            # A rebuild pauses the flow here while it swaps in its new tables.
            await hold(event, self.lock_store)
            return None
        # A flow's work is the work of the command that caused the event.
        command_id = COMMAND_ID.set(event.metadata.causation_id)
        try:
            result = await self.domain.execute_flow(locked.metadata.discriminator, event)
        finally:
            COMMAND_ID.reset(command_id)
        return Defer(event.metadata.timestamp) if result == "defer" else None

    async def _replay_for_flow(
        self, flow_name: str, identifier: AggregateIdentifier, from_revision: int, to_revision: int
    ) -> None:
        await self.perform_replay(
            [flow_name], [ReplayRequest(identifier, from_revision, to_revision)]
        )

    def flows_to_replay(self, flow_names: Sequence[str] | None) -> list[str]:
        """The named flows, or every flow for ``None``; ``FlowNotFound`` for one the app
        lacks."""
        chosen = list(flow_names) if flow_names else self.domain.catalog.flow_names()
        check_flow_names(self.application, chosen)
        return chosen

    def check_aggregate(self, identifier: AggregateIdentifier) -> None:
        self.domain.catalog.aggregate_of(identifier)

    async def start_rebuilds(self, groups: Sequence[RebuildGroup]) -> None:
        await start_in_background(self, groups)

    async def perform_replay(
        self, flow_names: Sequence[str], requests: Sequence[ReplayRequest]
    ) -> None:
        """Re-feed stored events to the named flows (reference §9.3), and to no other flow."""
        check_flow_names(self.application, flow_names)
        store = self.domain.domain_event_store
        for request in requests:
            async for event in store.get_replay_for_aggregate(
                request.aggregate_identifier.aggregate.id,
                request.from_revision,
                request.to_revision,
            ):
                await self._enqueue_for_flows(event, flow_names)

    # --- views --------------------------------------------------------------------------------

    def is_stream_query(self, view_name: str, query_name: str) -> bool:
        return isinstance(
            self.domain.catalog.query(view_name, query_name).handler, StreamQueryHandler
        )

    # --- publish/subscribe --------------------------------------------------------------------

    async def _send_local_notification(self, notification: Notification) -> None:
        if self._local_notifications is None:
            raise errors.InvalidOperation("The runtime has not been started.")
        self._local_notifications.push(
            (notification, otel_context.get_current() if self.observing.tracing else None)
        )

    async def _publish_notification(self, notification: Notification) -> None:
        message = notification.to_json()
        if self.observing.tracing:
            message[NOTIFICATION_CARRIER_KEY] = carrier_of_current_span()
        await self.publisher.publish(
            self.settings.pub_sub_options.channel_for_notifications, message
        )

    async def _on_notification(self, message: Message) -> None:
        carrier = message.pop(NOTIFICATION_CARRIER_KEY, None)
        await self._receive_notification(
            (
                Notification.model_validate(message),
                context_from(carrier) if self.observing.tracing else None,
            )
        )

    async def _receive_notification(
        self, item: tuple[Notification, otel_context.Context | None]
    ) -> None:
        """Hand a notification to the live streams and the views' subscribers; ``item`` has
        the trace context it was sent in (``None`` untraced)."""
        notification, parent = item
        self.notifications.publish(notification)
        if Service.VIEW not in self.services:
            return
        try:
            # A notification that no subscriber processes is no span.
            if self.observing.tracing and self.domain.has_view_subscribers(notification.name):
                channel = self.settings.pub_sub_options.channel_for_notifications
                with self.observing.processing_notification(channel, notification, parent):
                    await self.domain.run_view_subscribers(notification)
            else:
                await self.domain.run_view_subscribers(notification)
        except Exception:
            logger.exception("A notification subscriber failed on '%s'.", notification.name)

    async def metrics_exposition(self) -> bytes:
        """The metrics in the Prometheus text format, the gauges read afresh."""
        await self._gauges.refresh()
        return self.observing.metrics.exposition()

    async def _on_new_domain_event(self, message: Message) -> None:
        if self.domain_events.listener_count:
            self._stream_domain_event(DomainEventWithState.model_validate(message))

    def _stream_domain_event(self, event: DomainEventWithState[Any]) -> None:
        # Without a stream open, nothing is prepared; with any, the state is loaded once.
        if self.domain_events.listener_count:
            self.domain_events.publish(self.domain.domain_event_for_clients(event))

    async def _on_new_command(self, message: Message) -> None:
        self._command_wakeup.notify(items_of(message))

    async def _on_new_flow_item(self, message: Message) -> None:
        self._flow_wakeup.notify(items_of(message))


def _runs_of_items(*stores: object) -> UnitOfWork | None:
    """Where the flow queue, the progress and the tables share a database whose inner units
    are undone alone: its unit of work, in which flow workers handle runs of items."""
    database = shared_database(*stores)
    if database is None or not database.nested_units_undo_alone:
        return None
    return database.transaction


def check_flow_names(application: Application, flow_names: Sequence[str]) -> None:
    for flow_name in flow_names:
        if flow_name not in application.flows:
            raise errors.FlowNotFound(f"Flow '{flow_name}' not found.")
