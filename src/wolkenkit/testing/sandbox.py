"""The test sandbox for application authors (reference §10.1): given / when / then.

    sandbox = Sandbox(load_application("."))

    result = (
        sandbox.for_aggregate("communication", "message")
        .given(Sent(text="Hello"))  # or .given("sent", {"text": "Hello"})
        .when(Like())  # or .when("like")
        .then()
    )
    assert result.published(Liked) == [Liked(likes=1)]
    assert result.state.likes == 1

A model stands for the event or command whose handler takes it; a flow's ``.when(Sent(...))``
finds the one aggregate whose event it is.

Everything runs through the real engine over in-memory stores (or the ones you pass).
``then()`` runs its own event loop for plain test functions; inside ``async`` tests use
``await ... .run()``. Unlike the reference, the result holds the events of *every* command
of the when-phase, in order.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

from wolkenkit import errors
from wolkenkit.application.application import Application
from wolkenkit.application.definitions import Aggregate, name_of, version_of
from wolkenkit.application.services import Infrastructure, InfrastructureServices
from wolkenkit.application.tables import Tables
from wolkenkit.domain.domain import DEFAULT_NOTIFICATION_CHANNEL, Domain
from wolkenkit.domain.flows import FlowResult
from wolkenkit.domain.snapshot_strategy import (
    DEFAULT_SNAPSHOT_STRATEGY,
    NeverStrategy,
    SnapshotStrategy,
)
from wolkenkit.messages import (
    AggregateIdentifier,
    ClientMetadata,
    CommandWithMetadata,
    DomainEvent,
    Notification,
    new_id,
)
from wolkenkit.stores.consumer_progress_store import ConsumerProgressStore
from wolkenkit.stores.domain_event_store import DomainEventStore
from wolkenkit.stores.lock_store import LockStore
from wolkenkit.stores.memory.consumer_progress_store import InMemoryConsumerProgressStore
from wolkenkit.stores.memory.domain_event_store import InMemoryDomainEventStore
from wolkenkit.stores.memory.lock_store import InMemoryLockStore
from wolkenkit.stores.memory.view_store import InMemoryViewStore
from wolkenkit.stores.publish_subscribe import Message, Publisher
from wolkenkit.testing.builders import build_client, build_command, build_domain_event

ResultT = TypeVar("ResultT")
ModelT = TypeVar("ModelT", bound=BaseModel)
Data = BaseModel | Mapping[str, Any] | None


def _run(start: Callable[[], Awaitable[ResultT]]) -> ResultT:
    """Run ``start()`` on a fresh event loop; refuse politely inside a running one."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:

        async def main() -> ResultT:
            return await start()

        return asyncio.run(main())
    raise RuntimeError(
        "then() runs its own event loop; inside an async test use 'await ....run()' instead."
    )


class RecordingPublisher(Publisher):
    """Keeps what is published, so tests can look at notifications."""

    def __init__(self) -> None:
        self.messages: list[tuple[str, Message]] = []

    async def publish(self, channel: str, message: Message) -> None:
        self.messages.append((channel, message))

    async def destroy(self) -> None:
        self.messages.clear()

    def notifications(
        self, since: int = 0, channel: str = DEFAULT_NOTIFICATION_CHANNEL
    ) -> list[Notification]:
        """The notifications published on ``channel``, from message number ``since`` on."""
        return [
            Notification.model_validate(message)
            for published_channel, message in self.messages[since:]
            if published_channel == channel
        ]


def build_domain(
    application: Application,
    *,
    domain_event_store: DomainEventStore | None = None,
    publisher: Publisher | None = None,
    infrastructure: Infrastructure[Any, Any] | None = None,
    snapshot_strategy: SnapshotStrategy = DEFAULT_SNAPSHOT_STRATEGY,
) -> Domain:
    """The engine for ``application`` over in-memory stores (or the given event store),
    publishing into a ``RecordingPublisher`` unless a publisher is given: for tests and
    measurements of the engine itself. ``Sandbox`` is the way to test an app's behaviour."""
    return Domain(
        application,
        domain_event_store=domain_event_store or InMemoryDomainEventStore(),
        lock_store=InMemoryLockStore(),
        consumer_progress_store=InMemoryConsumerProgressStore(),
        publisher=publisher or RecordingPublisher(),
        tables=in_memory_tables(application),
        infrastructure=infrastructure,
        snapshot_strategy=snapshot_strategy,
    )


def in_memory_tables(application: Application) -> Tables:
    """The app's view tables in a fresh in-memory store, ready without ``setup``."""
    definitions = [table.definition(name) for name, table in application.tables.items()]
    return Tables(InMemoryViewStore(definitions), application.tables)


@dataclass
class Sandbox:
    """A domain over in-memory stores, shared by the scenarios built from it."""

    application: Application
    domain_event_store: DomainEventStore = field(default_factory=InMemoryDomainEventStore)
    lock_store: LockStore = field(default_factory=InMemoryLockStore)
    consumer_progress_store: ConsumerProgressStore = field(
        default_factory=InMemoryConsumerProgressStore
    )
    snapshot_strategy: SnapshotStrategy = field(default_factory=lambda: NeverStrategy(name="never"))
    infrastructure: Infrastructure[Any, Any] | None = None
    publisher: RecordingPublisher = field(default_factory=RecordingPublisher)
    issued_commands: list[CommandWithMetadata] = field(default_factory=list)
    _domain: Domain | None = field(default=None, init=False, repr=False)

    def with_domain_event_store(self, store: DomainEventStore) -> Sandbox:
        return dataclasses.replace(self, domain_event_store=store)

    def with_lock_store(self, store: LockStore) -> Sandbox:
        return dataclasses.replace(self, lock_store=store)

    def with_consumer_progress_store(self, store: ConsumerProgressStore) -> Sandbox:
        return dataclasses.replace(self, consumer_progress_store=store)

    def with_snapshot_strategy(self, strategy: SnapshotStrategy) -> Sandbox:
        return dataclasses.replace(self, snapshot_strategy=strategy)

    def with_infrastructure(self, infrastructure: Infrastructure[Any, Any]) -> Sandbox:
        return dataclasses.replace(self, infrastructure=infrastructure)

    async def domain(self) -> Domain:
        """The engine, built on first use with the app's own infrastructure unless one was
        given."""
        if self._domain is None:
            infrastructure = self.infrastructure
            if infrastructure is None:
                infrastructure = await self.application.infrastructure.get_infrastructure(
                    InfrastructureServices(logger=logging.getLogger("wolkenkit.app.infrastructure"))
                )
                self.infrastructure = infrastructure
            self._domain = Domain(
                self.application,
                domain_event_store=self.domain_event_store,
                lock_store=self.lock_store,
                consumer_progress_store=self.consumer_progress_store,
                publisher=self.publisher,
                tables=in_memory_tables(self.application),
                infrastructure=infrastructure,
                snapshot_strategy=self.snapshot_strategy,
                issue_command=self._record_command,
            )
        return self._domain

    async def _record_command(self, command: CommandWithMetadata[Any]) -> None:
        self.issued_commands.append(command)

    def for_aggregate(
        self, context_name: str, aggregate_name: str, aggregate_id: str | None = None
    ) -> AggregateScenario:
        identifier = AggregateIdentifier.of(context_name, aggregate_name, aggregate_id or new_id())
        return AggregateScenario(self, identifier)

    def for_flow(self, flow_name: str) -> FlowScenario:
        return FlowScenario(self, flow_name)

    def for_view(self, view_name: str) -> ViewScenario:
        return ViewScenario(self, view_name)


@dataclass(frozen=True)
class AggregateResult(Generic[ResultT]):
    """What the when-phase produced.

    ``domain_events`` holds the events of every command in order, including
    ``<command>Rejected`` and ``<command>Failed``; ``events_by_command`` has them per command.
    """

    domain_events: list[DomainEvent]
    events_by_command: list[list[DomainEvent]]
    state: ResultT
    notifications: list[Notification]
    aggregate: Aggregate[Any] | None = None

    def published(self, model: type[ModelT]) -> list[ModelT]:
        """The data of the published events whose handler takes ``model``, as models."""
        if self.aggregate is None:
            raise ValueError("This result does not know its aggregate.")
        name = _event_name(self.aggregate, model)
        return [
            model.model_validate(event.data) for event in self.domain_events if event.name == name
        ]


@dataclass(frozen=True)
class _Given:
    name: str
    data: Data
    id: str | None
    version: int | None


@dataclass(frozen=True)
class _When:
    name: str
    data: Data
    client: ClientMetadata | None
    id: str | None


@dataclass(frozen=True)
class AggregateScenario:
    sandbox: Sandbox
    aggregate_identifier: AggregateIdentifier
    givens: tuple[_Given, ...] = ()
    whens: tuple[_When, ...] = ()

    def given(
        self,
        event: str | BaseModel,
        data: Data = None,
        *,
        id: str | None = None,
        version: int | None = None,
    ) -> AggregateScenario:
        """A domain event that happened before: its data model (``Sent(text="Hi")``), or its
        name and data. Revisions continue after the stored ones. ``version`` stores it as an
        older version of the app wrote it (its data in that version's shape), so the
        upcasters lift it when it is read; by default it is at its model's version."""
        if isinstance(event, BaseModel):
            data, event = event, _event_name(self.definition, type(event))
        given = _Given(event, data, id, version)
        return dataclasses.replace(self, givens=(*self.givens, given))

    def when(
        self,
        command: str | BaseModel,
        data: Data = None,
        *,
        client: ClientMetadata | None = None,
        id: str | None = None,
    ) -> AggregateScenario:
        """A command to handle, by default sent by Jane Doe: its data model (``Like()``), or
        its name and data."""
        if isinstance(command, BaseModel):
            data, command = command, _command_name(self.definition, type(command))
        return dataclasses.replace(self, whens=(*self.whens, _When(command, data, client, id)))

    @property
    def definition(self) -> Aggregate[Any]:
        identifier = self.aggregate_identifier
        context = self.sandbox.application.domain.get(identifier.context.name, {})
        aggregate = context.get(identifier.aggregate.name)
        if aggregate is None:
            raise errors.AggregateNotFound(
                f"Aggregate '{identifier.context.name}.{identifier.aggregate.name}' not found."
            )
        return aggregate

    def then(self) -> AggregateResult[Any]:
        return _run(self.run)

    async def run(self) -> AggregateResult[Any]:
        domain = await self.sandbox.domain()
        store = self.sandbox.domain_event_store
        last = await store.get_last_domain_event(self.aggregate_identifier)
        revision = last.metadata.revision if last else 0
        for given in self.givens:
            revision += 1
            entry = domain.catalog.domain_event(self.aggregate_identifier, given.name)
            await store.store_domain_events(
                [
                    build_domain_event(
                        self.aggregate_identifier,
                        given.name,
                        given.data,
                        revision=revision,
                        id=given.id,
                        version=given.version or entry.version,
                    )
                ]
            )
        published_before = len(self.sandbox.publisher.messages)
        events_by_command: list[list[DomainEvent]] = []
        for when in self.whens:
            command = build_command(
                self.aggregate_identifier,
                when.name,
                when.data,
                id=when.id,
                client=when.client or build_client(),
            )
            outcome = await domain.handle_command(command)
            events_by_command.append([event.without_state() for event in outcome.domain_events])
        instance = await domain.repository.load(self.aggregate_identifier)
        notifications = self.sandbox.publisher.notifications(since=published_before)
        return AggregateResult(
            domain_events=[event for events in events_by_command for event in events],
            events_by_command=events_by_command,
            state=instance.state,
            notifications=notifications,
            aggregate=self.definition,
        )


def _event_name(aggregate: Aggregate[Any], model: type[BaseModel]) -> str:
    name = aggregate.event_name_of(model)
    if name is None:
        raise errors.DomainEventNotFound(f"No event handler takes {model.__name__}.")
    return name


def _command_name(aggregate: Aggregate[Any], model: type[BaseModel]) -> str:
    name = aggregate.command_name_of(model)
    if name is None:
        raise errors.CommandNotFound(f"No command handler takes {model.__name__}.")
    return name


@dataclass(frozen=True)
class FlowResultSummary:
    """What the flow did: the queue verdict per event, commands issued, notifications."""

    results: list[FlowResult]
    commands: list[CommandWithMetadata]
    notifications: list[Notification]
    infrastructure: Infrastructure[Any, Any]


@dataclass(frozen=True)
class FlowScenario:
    sandbox: Sandbox
    flow_name: str
    events: tuple[DomainEvent, ...] = ()

    def when(
        self,
        event: DomainEvent | BaseModel | str,
        data: Data = None,
        *,
        aggregate_id: str | None = None,
        revision: int = 1,
        version: int | None = None,
    ) -> FlowScenario:
        """An event for the flow: a ``DomainEvent``; its data model (``Sent(text="Hi")``), if
        one aggregate's event takes it; or its fully qualified name
        (``"communication.message.sent"``) with data. Give the aggregate id and revision, and
        the ``version`` its data has if an older version of the app wrote it (by default
        its model's). A ``DomainEvent`` carries its own version."""
        if isinstance(event, BaseModel) and not isinstance(event, DomainEvent):
            data, event = event, self._full_name_of(type(event))
        if isinstance(event, str):
            parts = event.split(".")
            if len(parts) != 3:
                raise errors.RequestMalformed(
                    f"'{event}' is not a fully qualified name like 'context.aggregate.event'."
                )
            identifier = AggregateIdentifier.of(parts[0], parts[1], aggregate_id or new_id())
            event = build_domain_event(
                identifier,
                parts[2],
                data,
                revision=revision,
                version=version or self._version_of(identifier, parts[2]),
            )
        return dataclasses.replace(self, events=(*self.events, event))

    def _version_of(self, identifier: AggregateIdentifier, event_name: str) -> int:
        aggregate = self.sandbox.application.domain.get(identifier.context.name, {}).get(
            identifier.aggregate.name
        )
        handler = None if aggregate is None else aggregate.domain_event_handlers.get(event_name)
        return 1 if handler is None else version_of(handler.data_schema())

    def _full_name_of(self, model: type[BaseModel]) -> str:
        found = [
            f"{context_name}.{aggregate_name}.{name}"
            for context_name, aggregates in self.sandbox.application.domain.items()
            for aggregate_name, aggregate in aggregates.items()
            if (name := aggregate.event_name_of(model)) is not None
        ]
        if len(found) != 1:
            raise errors.DomainEventNotFound(
                f"{len(found)} events take {model.__name__} ({', '.join(found) or 'none'}): "
                "give the event's fully qualified name."
            )
        return found[0]

    def then(self) -> FlowResultSummary:
        return _run(self.run)

    async def run(self) -> FlowResultSummary:
        domain = await self.sandbox.domain()
        commands_before = len(self.sandbox.issued_commands)
        published_before = len(self.sandbox.publisher.messages)
        results = [await domain.execute_flow(self.flow_name, event) for event in self.events]
        notifications = self.sandbox.publisher.notifications(since=published_before)
        return FlowResultSummary(
            results=results,
            commands=self.sandbox.issued_commands[commands_before:],
            notifications=notifications,
            infrastructure=domain.infrastructure,
        )


@dataclass(frozen=True)
class ViewScenario:
    sandbox: Sandbox
    view_name: str

    def query(
        self,
        query_name: str,
        options: Mapping[str, Any] | None = None,
        *,
        client: ClientMetadata | None = None,
    ) -> list[dict[str, Any]]:
        """All items of a stream query, as JSON objects."""
        return _run(lambda: self.query_async(query_name, options, client=client))

    async def query_async(
        self,
        query_name: str,
        options: Mapping[str, Any] | None = None,
        *,
        client: ClientMetadata | None = None,
    ) -> list[dict[str, Any]]:
        domain = await self.sandbox.domain()
        items = await domain.query_stream(
            self.view_name, query_name, options or {}, client or build_client()
        )
        return [item async for item in items]

    def query_value(
        self,
        query_name: str,
        options: Mapping[str, Any] | None = None,
        *,
        client: ClientMetadata | None = None,
    ) -> dict[str, Any]:
        async def query() -> dict[str, Any]:
            domain = await self.sandbox.domain()
            return await domain.query_value(
                self.view_name, query_name, options or {}, client or build_client()
            )

        return _run(query)

    def notify(self, notification: str | BaseModel, data: Data = None) -> list[Notification]:
        """Run every view's notification subscribers with a notification (its model, or its
        name and data); returns what they published."""
        return _run(lambda: self.notify_async(notification, data))

    async def notify_async(
        self, notification: str | BaseModel, data: Data = None
    ) -> list[Notification]:
        if isinstance(notification, BaseModel):
            data, notification = notification, self._name_of(type(notification))
        name = notification
        domain = await self.sandbox.domain()
        published_before = len(self.sandbox.publisher.messages)
        payload = data.model_dump(mode="json") if isinstance(data, BaseModel) else dict(data or {})
        await domain.run_view_subscribers(Notification(name=name, data=payload))
        return self.sandbox.publisher.notifications(since=published_before)

    def _name_of(self, model: type[BaseModel]) -> str:
        notifications = self.sandbox.application.notifications.items()
        name = name_of(
            model, {name: getattr(handler, "model", None) for name, handler in notifications}
        )
        if name is not None:
            return name
        raise errors.NotificationNotFound(f"No notification is defined by {model.__name__}.")
