"""Rebuilding view tables without downtime: a shadow copy fills while the old table serves.

A rebuild takes a ``RebuildGroup`` (flows and the tables they own, see
``wolkenkit.application.table_owners``) and

1. takes its flows' rebuild locks (one rebuild of a flow at a time), and makes an empty
   shadow of each table;
2. replays the stored events by position into the shadows, running the flows' handlers as
   ``ShadowFlows`` does. Meanwhile the flows run on as ever and keep writing the old tables,
   and queries read those. The shadow of a flow never gets ahead of the flow itself: an
   event that the flow has not handled yet (its progress for the aggregate says so) is left
   for later;
3. pauses the flows (``FlowPause``: a barrier in each flow's queue) once it has caught up;
4. with the flows standing still, replays what they handled meanwhile, so that for every
   flow and aggregate the shadow holds exactly the events the flow's progress counts;
5. swaps the shadows in, in one step, and lets the flows go on. Their progress was never
   touched and matches the new tables, so the events that arrived during the rebuild, and
   still wait in the queues, are handled once, into the new tables.

A failure anywhere (a handler raises, a store fails, the flows do not pause, the process is
stopped) drops the shadows, and the old tables keep serving. A process that dies leaves its
shadows behind: the next rebuild of the table drops them first, and its lock expires.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wolkenkit import errors
from wolkenkit.application.table_owners import RebuildGroup
from wolkenkit.domain.services import RepositoryAggregatesService, StoreLockService
from wolkenkit.messages import AggregateIdentifier, DomainEvent
from wolkenkit.runtime.flow_pause import FlowPause
from wolkenkit.runtime.replays import FlowQueueHand
from wolkenkit.runtime.shadow_flows import ShadowFlows

if TYPE_CHECKING:
    from wolkenkit.runtime.composition import Runtime

logger = logging.getLogger("wolkenkit.runtime.rebuilds")

#: How long the flows may take to pause (to finish the events queued before the barrier).
PAUSE_TIMEOUT_SECONDS = 120.0
#: How many flows' progress values a rebuild remembers before it starts over reading them.
_REMEMBERED_PROGRESS = 100_000


@dataclass(frozen=True)
class RebuildReport:
    group: RebuildGroup
    #: Events of the app's aggregates read and replayed (each once, whatever the number of
    #: flows; an event a flow has no handler for counts too).
    events: int
    #: Rows of each table once swapped in.
    rows: dict[str, int]
    seconds: float


def describe(report: RebuildReport) -> str:
    """``Rebuilt table messages: 4 rows from 4 events of flow messages in 0.12 s.``"""
    group = report.group
    if len(group.tables) == 1:
        rows = _rows(report.rows[group.tables[0]])
    else:
        rows = ", ".join(f"{table} {_rows(report.rows[table])}" for table in group.tables)
    return (
        f"Rebuilt {named('table', group.tables)}: {rows} from {report.events:,} events of "
        f"{named('flow', group.flows)} in {report.seconds:.2f} s."
    )


def named(what: str, names: Sequence[str]) -> str:
    """``table messages`` or ``tables messages, totals``."""
    return f"{what}{'' if len(names) == 1 else 's'} {', '.join(names)}"


def _rows(count: int) -> str:
    return f"{count:,} {'row' if count == 1 else 'rows'}"


def _ignore(value: Any) -> None:
    return None


async def rebuild(
    runtime: Runtime,
    group: RebuildGroup,
    *,
    on_events: Callable[[int], None] = _ignore,
    on_phase: Callable[[str], None] = _ignore,
    pause_timeout: float = PAUSE_TIMEOUT_SECONDS,
) -> RebuildReport:
    """Rebuild the group's tables from the stored events; see the module's description.
    ``on_events`` hears of every event replayed, ``on_phase`` of each step. Raises
    ``RebuildFailed`` (the old tables serving on) when a handler or a step fails, or when
    the tables are being rebuilt already."""
    started = Rebuild(runtime, group)
    await started.acquire()
    return await started.run(on_events=on_events, on_phase=on_phase, pause_timeout=pause_timeout)


async def start_in_background(runtime: Runtime, groups: Sequence[RebuildGroup]) -> None:
    """Take every group's locks now (``RebuildFailed`` if another rebuild holds one, and
    then none is taken), then rebuild the groups one after the other in the runtime's
    background, logging how each went."""
    started: list[Rebuild] = []
    try:
        for group in groups:
            prepared = Rebuild(runtime, group)
            await prepared.acquire()
            started.append(prepared)
    except BaseException:
        for prepared in started:
            await prepared.release()
        raise
    runtime.run_in_background(_rebuild_all(started), "rebuilding tables")


async def _rebuild_all(rebuilds: list[Rebuild]) -> None:
    for index, prepared in enumerate(rebuilds):
        tables = named("table", prepared.group.tables)

        def phase(name: str, tables: str = tables) -> None:
            logger.info("Rebuilding %s: %s.", tables, name.lower())

        try:
            report = await prepared.run(on_phase=phase)
        except errors.RebuildFailed as error:
            logger.error(
                "Rebuilding %s failed: %s The old ones keep serving.", tables, error.message
            )
        except Exception:
            logger.exception("Rebuilding %s failed; the old ones keep serving.", tables)
        except BaseException:
            # Stopped: the rebuilds not begun give their locks back.
            for waiting in rebuilds[index + 1 :]:
                await waiting.release()
            raise
        else:
            logger.info("%s", describe(report))


class Rebuild:
    """One rebuild, in two steps: ``acquire`` (fails at once if the group's flows are being
    rebuilt already), then ``run``."""

    def __init__(self, runtime: Runtime, group: RebuildGroup) -> None:
        self.group = group
        self._runtime = runtime
        self._pause = FlowPause(runtime.lock_store, group.flows)

    async def acquire(self) -> None:
        """Take the flows' rebuild locks; ``RebuildFailed`` if another rebuild holds one."""
        await self._pause.acquire()

    async def release(self) -> None:
        """Give the locks back without running (``run`` does so itself)."""
        await self._pause.release()

    async def run(
        self,
        *,
        on_events: Callable[[int], None] = _ignore,
        on_phase: Callable[[str], None] = _ignore,
        pause_timeout: float = PAUSE_TIMEOUT_SECONDS,
    ) -> RebuildReport:
        """Rebuild, and release the locks; see ``rebuild``."""
        started = time.monotonic()
        runtime, group, pause = self._runtime, self.group, self._pause
        store = runtime.domain.tables.store
        hand = FlowQueueHand(runtime)
        shadows: dict[str, str] = {}
        try:
            try:
                for table in group.tables:
                    shadows[table] = await store.create_shadow(table)
                replay = _ShadowReplay(runtime, group, shadows, on_events)
                on_phase("Replaying")
                await replay.follow()
                on_phase("Pausing the flows")
                try:
                    async with asyncio.timeout(pause_timeout):
                        # A process without flow workers (wk replay) moves the queues itself.
                        await hand.work_while(pause.pause(runtime.enqueue_for_flow))
                except TimeoutError:
                    raise errors.RebuildFailed(
                        f"The flows {', '.join(group.flows)} did not pause within "
                        f"{pause_timeout:g} s for the new tables to be swapped in."
                    ) from None
                on_phase("Catching up")
                await replay.finish()
                await pause.ensure_held()
                on_phase("Swapping in")
                await store.swap_shadows(group.tables)
            except BaseException:
                for table in shadows:
                    with contextlib.suppress(Exception):
                        await store.drop_shadow(table)
                raise
        finally:
            await pause.release()
            await hand.finish()
        rows = {table: await store.count(table) for table in group.tables}
        return RebuildReport(group, replay.events, rows, time.monotonic() - started)


class _ShadowReplay:
    """The group's flows replaying stored events into the shadows, in position order, each
    as far as the flow has got itself."""

    def __init__(
        self,
        runtime: Runtime,
        group: RebuildGroup,
        shadows: dict[str, str],
        on_events: Callable[[int], None],
    ) -> None:
        domain = runtime.domain
        self._events = domain.domain_event_store
        self._progress = runtime.consumer_progress_store
        self._catalog = domain.catalog
        self._flow_names = group.flows
        self._flows = ShadowFlows(
            runtime.application,
            group.flows,
            tables=domain.tables.in_shadows(shadows),
            aggregates=RepositoryAggregatesService(domain.repository),
            infrastructure=domain.infrastructure,
            lock=StoreLockService(runtime.lock_store),
        )
        self._on_events = on_events
        self._position = 0
        #: The flows' own progress, (flow, aggregate id) → revision, as last read.
        self._seen: dict[tuple[str, str], int] = {}
        #: (flow, aggregate id) → the aggregate, and the revision the shadow holds, for the
        #: aggregates whose latest events a flow had not handled when they were read. For any
        #: other aggregate the shadow holds every event read so far.
        self._behind: dict[tuple[str, str], tuple[AggregateIdentifier, int]] = {}
        self.events = 0

    async def follow(self) -> None:
        """Replay the events stored after the last one read."""
        async for positioned in self._events.get_replay_by_position(self._position):
            self._position = positioned.position
            event = positioned.domain_event
            if not self._is_known(event):
                continue
            for flow_name in self._flow_names:
                await self._feed(flow_name, event)
            self.events += 1
            self._on_events(1)

    async def finish(self) -> None:
        """With the flows paused, replay everything they have handled that the shadows
        still lack."""
        self._seen.clear()
        await self._events.wait_until_readable()
        await self.follow()
        for (flow_name, _), (identifier, applied) in list(self._behind.items()):
            seen = await self._seen_by(flow_name, identifier, applied + 1)
            if applied < seen:
                await self._fill(flow_name, identifier, applied + 1, seen)
        self._behind.clear()

    async def _feed(self, flow_name: str, event: DomainEvent[Any]) -> None:
        identifier = event.aggregate_identifier
        revision = event.metadata.revision
        key = (flow_name, identifier.aggregate.id)
        behind = self._behind.get(key)
        # Events come in revision order per aggregate, and none is skipped.
        applied = revision - 1 if behind is None else behind[1]
        if revision <= applied:
            return
        if revision > await self._seen_by(flow_name, identifier, revision):
            self._behind[key] = (identifier, applied)
            return
        if applied < revision - 1:
            await self._fill(flow_name, identifier, applied + 1, revision - 1)
        await self._apply(flow_name, event)
        self._behind.pop(key, None)

    async def _seen_by(self, flow_name: str, identifier: AggregateIdentifier, revision: int) -> int:
        """The flow's progress for the aggregate, read again unless it covers ``revision``
        already (progress only grows)."""
        key = (flow_name, identifier.aggregate.id)
        seen = self._seen.get(key, -1)
        if revision <= seen:
            return seen
        if len(self._seen) >= _REMEMBERED_PROGRESS:
            self._seen.clear()
        seen = self._seen[key] = (await self._progress.get_progress(flow_name, identifier)).revision
        return seen

    async def _fill(
        self, flow_name: str, identifier: AggregateIdentifier, from_revision: int, to_revision: int
    ) -> None:
        async for event in self._events.get_replay_for_aggregate(
            identifier.aggregate.id, from_revision, to_revision
        ):
            await self._apply(flow_name, event)

    async def _apply(self, flow_name: str, event: DomainEvent[Any]) -> None:
        try:
            await self._flows.apply(flow_name, event)
        except Exception as error:
            cause = error.message if isinstance(error, errors.WolkenkitError) else repr(error)
            raise errors.RebuildFailed(
                f"Flow '{flow_name}' failed on {event.fully_qualified_name} of aggregate "
                f"{event.aggregate_identifier.aggregate.id} (revision "
                f"{event.metadata.revision}): {cause}"
            ) from error

    def _is_known(self, event: DomainEvent[Any]) -> bool:
        """Whether the app still has the event's aggregate (stored events may outlive it)."""
        try:
            self._catalog.aggregate_of(event.aggregate_identifier)
        except (errors.ContextNotFound, errors.AggregateNotFound):
            return False
        return True
