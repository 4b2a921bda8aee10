"""Executing a flow for one domain event (reference §9.2).

Progress is kept per (flow, aggregate). An event at or below the progress was seen and is
acknowledged. An event beyond the next expected revision reveals a gap, handled by the flow's
replay policy. ``<command>Rejected`` / ``<command>Failed`` events never reach handlers and never
move progress, so they cannot hide the next real event.

The handlers and the progress run as one unit of work (``wolkenkit.stores.transactions``)
when the view store and the progress store share a database: the handlers' table writes
commit with the progress, or not at all. There the event is claimed first: one conditional
write moves the progress from the revision before it to its own (``claim_next``), and the
handlers run only if it did; a handler that raises undoes the claim with its writes. So an
event handled twice at the same time, or again after a crash before its acknowledgement,
changes the tables once, and the next event of an aggregate, the common case, costs one
write of progress and no read. An event the claim does not fit (seen already, or beyond a
gap) is looked at closer, as without a shared database. There, writes commit one by one,
before the progress, which moves only after the handlers: at least once. What else a
handler does (notifications, commands, infrastructure) happens as it is called, at least once
either way.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any, Literal

from wolkenkit import errors
from wolkenkit.application.definitions import Flow
from wolkenkit.application.services import (
    AggregatesService,
    FlowServices,
    Infrastructure,
    LockService,
    NotificationService,
)
from wolkenkit.application.tables import Tables
from wolkenkit.awaiting import settled
from wolkenkit.domain.catalog import Catalog
from wolkenkit.domain.services import FlowCommandService, IssueCommand
from wolkenkit.messages import AggregateIdentifier, DomainEvent
from wolkenkit.records import frozen_record
from wolkenkit.stores.consumer_progress_store import ConsumerProgressStore, Progress, ReplayRange

FlowResult = Literal["acknowledge", "defer"]

#: Re-feeds the events ``from_revision``..``to_revision`` of one aggregate to one flow.
PerformReplay = Callable[[str, AggregateIdentifier, int, int], Awaitable[None]]

#: Runs a block as one transaction of the stores it uses (``SharedDatabase.transaction``).
UnitOfWork = Callable[[], AbstractAsyncContextManager[None]]


@asynccontextmanager
async def each_write_on_its_own() -> AsyncIterator[None]:
    """The unit of work of stores that share no database: none."""
    yield


class _SeenMeanwhile(Exception):
    """Another delivery of the event moved the progress past it while this one ran."""


@frozen_record
class FlowSharedServices:
    aggregates: AggregatesService
    infrastructure: Infrastructure[Any, Any]
    lock: LockService
    notification: NotificationService
    tables: Tables
    issue_command: IssueCommand
    perform_replay: PerformReplay


class FlowExecution:
    def __init__(
        self,
        catalog: Catalog,
        consumer_progress_store: ConsumerProgressStore,
        shared: FlowSharedServices,
        unit_of_work: UnitOfWork = each_write_on_its_own,
    ) -> None:
        self._catalog = catalog
        self._progress = consumer_progress_store
        self._shared = shared
        self._unit_of_work = unit_of_work
        #: In a unit of work the event is claimed first (``ConsumerProgressStore.claim_next``)
        #: and the claim is undone with the handlers' writes if one of them raises; without
        #: one the progress moves only after the handlers (at least once).
        self._claims_first = unit_of_work is not each_write_on_its_own
        self._loggers = {
            flow_name: logging.getLogger(f"wolkenkit.app.flows.{flow_name}")
            for flow_name in catalog.application.flows
        }

    def flow(self, flow_name: str) -> Flow:
        flow = self._catalog.application.flows.get(flow_name)
        if flow is None:
            raise errors.FlowNotFound(f"Flow '{flow_name}' not found.")
        return flow

    async def execute(self, flow_name: str, domain_event: DomainEvent[Any]) -> FlowResult:
        """Run the flow's relevant handlers for the event; say what to do with the queue item.

        A handler's exception propagates; the event then stays unseen for this flow.
        """
        flow = self.flow(flow_name)
        identifier = domain_event.aggregate_identifier
        aggregate = self._catalog.aggregate_of(identifier)
        if domain_event.name in aggregate.system_event_names:
            return "acknowledge"
        revision = domain_event.metadata.revision
        if self._claims_first and await self._handled_as_next(
            flow, flow_name, domain_event, identifier, revision
        ):
            return "acknowledge"
        progress = await self._progress.get_progress(flow_name, identifier)
        if progress.revision >= revision:
            return "acknowledge"
        if progress.revision < revision - 1:
            gap = await self._on_gap(flow, flow_name, identifier, progress, revision)
            if gap is not None:
                return gap
        try:
            async with self._unit_of_work():
                await self._run_handlers(flow, flow_name, domain_event)
                await self._advance(flow_name, identifier, progress, revision)
        except _SeenMeanwhile:
            # Handled meanwhile by another delivery (a lock that expired, a replay): what
            # the handlers wrote here is undone where the unit of work holds it.
            self._loggers[flow_name].debug(
                "Event '%s' was handled meanwhile by another delivery.", domain_event.id
            )
        return "acknowledge"

    async def _handled_as_next(
        self,
        flow: Flow,
        flow_name: str,
        domain_event: DomainEvent[Any],
        identifier: AggregateIdentifier,
        revision: int,
    ) -> bool:
        """The common case in one write less: the event is the next one of its aggregate,
        claimed and handled in one unit of work. ``False`` (nothing done) if the progress
        stands elsewhere: seen already, or a gap; the caller looks closer."""
        async with self._unit_of_work():
            if not await self._progress.claim_next(flow_name, identifier, revision):
                return False
            await self._run_handlers(flow, flow_name, domain_event)
        return True

    async def _advance(
        self, flow_name: str, identifier: AggregateIdentifier, progress: Progress, revision: int
    ) -> None:
        """Move the progress to ``revision`` (and end a replay that reached it)."""
        try:
            await self._progress.set_progress(flow_name, identifier, revision)
        except errors.RevisionTooLow:
            raise _SeenMeanwhile from None
        replaying = progress.is_replaying
        if replaying is not False and replaying.to_revision <= revision:
            await self._progress.set_is_replaying(flow_name, identifier, False)

    async def _on_gap(
        self,
        flow: Flow,
        flow_name: str,
        identifier: AggregateIdentifier,
        progress: Progress,
        revision: int,
    ) -> FlowResult | None:
        policy = flow.replay_policy
        if policy == "never":
            return None
        if policy == "on-demand":
            return "defer"
        if policy == "always":
            if progress.is_replaying is False:
                from_revision, to_revision = progress.revision + 1, revision - 1
                await self._progress.set_is_replaying(
                    flow_name, identifier, ReplayRange(from_revision, to_revision)
                )
                await self._shared.perform_replay(flow_name, identifier, from_revision, to_revision)
            return "defer"
        raise errors.InvalidOperation(f"Unknown replay policy '{policy}' in flow '{flow_name}'.")

    async def _run_handlers(
        self, flow: Flow, flow_name: str, domain_event: DomainEvent[Any]
    ) -> None:
        shared = self._shared
        fully_qualified_name = domain_event.fully_qualified_name
        item_identifier = domain_event.get_item_identifier()
        services: FlowServices | None = None
        for handler in flow.domain_event_handlers.values():
            if not handler.is_relevant(fully_qualified_name, item_identifier):
                continue
            if services is None:
                services = FlowServices(
                    aggregates=shared.aggregates,
                    command=FlowCommandService(domain_event, shared.issue_command),
                    infrastructure=shared.infrastructure,
                    lock=shared.lock,
                    logger=self._loggers[flow_name],
                    notification=shared.notification,
                    tables=shared.tables,
                )
            await settled(handler.handle(domain_event, services))
