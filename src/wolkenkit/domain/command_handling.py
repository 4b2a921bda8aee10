"""Handling one command (reference §9.1).

1. Look up and validate the command (errors are raised: the caller drops the command).
2. Under a per-aggregate lock, rehydrate the aggregate and, in the same read of the store,
   check idempotency: if events caused by this command id are stored, do nothing. A command
   that creates its aggregate (``creates_aggregate``) is first tried without the read: if the
   aggregate has history after all, storing conflicts and the command goes the usual way; an
   outcome that stores nothing stands only once the read confirms the aggregate is new.
3. ``is_authorized`` (awaited, must be ``True``), then ``handle``.
4. Store the published events atomically. A write conflict retries from step 2 against fresh
   state a few times before it becomes ``<command>Failed``.
5. A rejection or failure yields only ``<command>Rejected`` / ``<command>Failed``, which is
   never stored and never goes to flows.

With a tracer, storing the events is a span ``store domain events``, a child of the span
current when ``handle`` is called (the runtime's span for processing the command), and an
aggregate read from the store marks that span with an event ``aggregate loaded``: so the
span tells how long loading, deciding (from the load, or the span's start, to the storing)
and storing took, at the price of one span per command, not three. Without a tracer, none
of this costs a call.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from opentelemetry import trace
from opentelemetry.trace import SpanKind, Tracer

from wolkenkit import errors
from wolkenkit.application.services import (
    AggregatesService,
    CommandAuthorizationServices,
    CommandServices,
    ErrorService,
    Infrastructure,
    LockService,
    NotificationService,
)
from wolkenkit.awaiting import settled
from wolkenkit.domain.aggregate_instance import AggregateInstance
from wolkenkit.domain.catalog import AggregateEntry, Catalog, CommandEntry
from wolkenkit.domain.repository import Repository
from wolkenkit.domain.services import InstanceAggregateService
from wolkenkit.messages import CommandWithMetadata, DomainEvent, DomainEventWithState
from wolkenkit.stores.domain_event_store import DomainEventStore

DEFAULT_MAX_ATTEMPTS = 4

logger = logging.getLogger("wolkenkit.domain.commands")

#: How handling a command ended; a command that was handled before is ``handled``.
CommandResult = Literal["handled", "rejected", "failed"]

StoreDomainEvents = Callable[[Sequence[DomainEvent[Any]]], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class CommandOutcome:
    """What handling a command produced.

    ``domain_events`` go to the live streams. Only when ``stored`` are they real, stored
    events that flows must see; otherwise they are the single ``<command>Rejected`` or
    ``<command>Failed`` event, or empty for a command that was already handled.
    """

    domain_events: list[DomainEventWithState[Any]]
    stored: bool
    result: CommandResult = "handled"


@dataclass(frozen=True, slots=True)
class SharedServices:
    """The services every command handler of one domain shares."""

    aggregates: AggregatesService
    infrastructure: Infrastructure[Any, Any]
    lock: LockService
    notification: NotificationService


class _KeyedLocks:
    """A lock per key, kept only while somebody holds or waits for it.

    A key nobody holds costs one dict entry: only a second caller for the same key gets a
    future to wait on. Commands for different aggregates, the usual case, never wait.
    """

    def __init__(self) -> None:
        #: Held keys, each with the futures of the callers waiting for it, first come first.
        self._held: dict[str, deque[asyncio.Future[None]]] = {}

    async def acquire(self, key: str) -> None:
        waiting = self._held.get(key)
        if waiting is None:
            self._held[key] = deque()
            return
        turn = asyncio.get_running_loop().create_future()
        waiting.append(turn)
        try:
            await turn
        except BaseException:
            if turn.done() and not turn.cancelled():
                # Handed the lock just as this caller was cancelled: pass it on. (A cancelled
                # turn stays queued; ``release`` skips it.)
                self.release(key)
            raise

    def release(self, key: str) -> None:
        waiting = self._held[key]
        while waiting:
            turn = waiting.popleft()
            if not turn.done():
                turn.set_result(None)
                return
        del self._held[key]


class CommandHandling:
    def __init__(
        self,
        catalog: Catalog,
        repository: Repository,
        domain_event_store: DomainEventStore,
        shared: SharedServices,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        tracer: Tracer | None = None,
    ) -> None:
        self._catalog = catalog
        self._tracing = tracer is not None
        self._repository = repository
        self._store_domain_events: StoreDomainEvents = (
            domain_event_store.store_domain_events
            if tracer is None
            else _traced_storing(tracer, domain_event_store)
        )
        self._shared = shared
        self._max_attempts = max_attempts
        self._locks = _KeyedLocks()
        self._ask_only_infrastructure = shared.infrastructure.ask_only()

    async def handle(self, command: CommandWithMetadata[Any]) -> CommandOutcome:
        identifier = command.aggregate_identifier
        aggregate = self._catalog.aggregate_of(identifier)
        entry = aggregate.command(command.name)
        typed_data = entry.typed_data(command.data)
        # A copy with typed data: handlers can neither see raw JSON nor change the original.
        typed_command = command.replaced(data=typed_data)
        key = identifier.aggregate.id
        await self._locks.acquire(key)
        try:
            return await self._handle_locked(aggregate, entry, typed_command)
        finally:
            self._locks.release(key)

    async def _handle_locked(
        self, aggregate: AggregateEntry, entry: CommandEntry, command: CommandWithMetadata[Any]
    ) -> CommandOutcome:
        identifier = command.aggregate_identifier
        # Not stored yet, it stands only once a read shows the aggregate pristine.
        provisional: CommandOutcome | None = None
        if command.creates_aggregate():
            # The aggregate has no history (unless this command was delivered before, which
            # the store's revision check catches as a conflict), so there is nothing to read.
            instance = self._repository.new(identifier, aggregate)
            if instance is not None:
                outcome = await self._attempt(instance, entry, command, last=False)
                if outcome is not None and outcome.stored:
                    return outcome
                provisional = outcome
        for attempt in range(1, self._max_attempts + 1):
            # One read: a conflict's retry asks again, so a command that another process
            # handled meanwhile is recognised then.
            instance, handled = await self._repository.load_for_command(identifier, command.id)
            if self._tracing:
                trace.get_current_span().add_event("aggregate loaded")
            if handled:
                return CommandOutcome([], stored=False)
            if provisional is not None and instance.is_pristine():
                return provisional
            provisional = None
            outcome = await self._attempt(
                instance, entry, command, last=attempt == self._max_attempts
            )
            if outcome is not None:
                return outcome
        raise AssertionError("unreachable: the last attempt always returns")

    async def _attempt(
        self,
        instance: AggregateInstance,
        entry: CommandEntry,
        command: CommandWithMetadata[Any],
        last: bool,
    ) -> CommandOutcome | None:
        """Decide and store; ``None`` for a write conflict that is to be retried."""
        try:
            await self._decide(instance, entry, command)
            if instance.pending:
                await self._store_domain_events(
                    [event.without_state() for event in instance.pending]
                )
        except errors.RevisionAlreadyExists as error:
            self._discard(instance)
            if not last:
                return None
            return self._system_outcome(instance, command, "Failed", error.message)
        except (errors.CommandRejected, errors.CommandNotAuthorized) as error:
            self._discard(instance)
            return self._system_outcome(instance, command, "Rejected", error.message)
        except Exception as error:
            logger.warning("Command '%s' (%s) failed.", command.name, command.id, exc_info=True)
            self._discard(instance)
            return self._system_outcome(instance, command, "Failed", str(error) or repr(error))
        events = instance.commit()
        await self._repository.committed(instance)
        return CommandOutcome(events, stored=bool(events))

    async def _decide(
        self, instance: AggregateInstance, entry: CommandEntry, command: CommandWithMetadata[Any]
    ) -> None:
        shared = self._shared
        client = command.metadata.client
        logger_ = instance.entry.logger
        # The handlers' own copy: what they change in place is no event and must not stay.
        state = instance.entry.codec.handed_out(instance.state)
        authorized = entry.handler.is_authorized(
            state,
            command,
            CommandAuthorizationServices(
                aggregates=shared.aggregates,
                client=client,
                infrastructure=self._ask_only_infrastructure,
                logger=logger_,
            ),
        )
        if await settled(authorized) is not True:
            raise errors.CommandNotAuthorized()
        result = entry.handler.handle(
            state,
            command,
            CommandServices(
                aggregate=InstanceAggregateService(instance, command),
                aggregates=shared.aggregates,
                client=client,
                error=ErrorService,
                infrastructure=shared.infrastructure,
                lock=shared.lock,
                logger=logger_,
                notification=shared.notification,
            ),
        )
        await settled(result)

    def _discard(self, instance: AggregateInstance) -> None:
        # An event handler may have changed the state object in place: never trust it again.
        instance.rollback()
        self._repository.forget(instance.identifier)

    @staticmethod
    def _system_outcome(
        instance: AggregateInstance,
        command: CommandWithMetadata[Any],
        suffix: str,
        reason: str,
    ) -> CommandOutcome:
        event = instance.system_event(command, f"{command.name}{suffix}", reason)
        return CommandOutcome(
            [event], stored=False, result="rejected" if suffix == "Rejected" else "failed"
        )


def _traced_storing(tracer: Tracer, store: DomainEventStore) -> StoreDomainEvents:
    """``store.store_domain_events`` in a ``CLIENT`` span ``store domain events``."""

    async def storing(domain_events: Sequence[DomainEvent[Any]]) -> None:
        # A write conflict is retried, not an error: recorded, the status left to whoever
        # sees the outcome.
        with tracer.start_as_current_span(
            "store domain events", kind=SpanKind.CLIENT, set_status_on_exception=False
        ):
            await store.store_domain_events(domain_events)

    return storing
