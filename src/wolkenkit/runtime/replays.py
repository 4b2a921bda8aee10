"""Replays on demand (``wk replay``, reference §9.3): re-feed stored events to flows.

Two steps. ``prepare_replays`` works on the stores: for each flow and selected aggregate it
finds the revisions the flow still has to see, moving its progress back first when asked to
re-evaluate (``--dangerously-reevaluate``), and marks that range as being replayed, so the
flow does not start replays of its own for it. Then the events are re-fed, either

- ``replay_in_process``: into the stores' flow queue, and processed right here with the
  application's flows, as the runtime's flow workers would. This needs no running runtime
  (with ``wk dev`` stopped it rebuilds views from the stored events), and it is safe beside a
  running one: both take items from the same queue under its locks. Or
- ``replay_through_api``: by ``POST /perform-replay/v2`` to a running runtime, whose flow
  workers then process them.

A replay only ever reaches the flows it names. Without re-evaluation a
flow skips what it has seen, so a replay fills gaps and nothing more.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import urllib.error
import urllib.request
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

from wolkenkit.errors import CliError
from wolkenkit.messages import AggregateIdentifier, DomainEvent
from wolkenkit.runtime.flow_pause import hold, is_barrier
from wolkenkit.runtime.gateway import ReplayRequest
from wolkenkit.runtime.queued_messages import event_and_carrier
from wolkenkit.runtime.replay_configuration import SelectedAggregate
from wolkenkit.stores.consumer_progress_store import ConsumerProgressStore, ReplayRange
from wolkenkit.stores.priority_queue_store import LockedItem, PriorityQueueStore

if TYPE_CHECKING:
    from wolkenkit.runtime.composition import Runtime

logger = logging.getLogger("wolkenkit.runtime.replays")

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class FlowReplay:
    """One flow is to see one aggregate's revisions ``from_revision`` to ``to_revision``."""

    flow_name: str
    aggregate_identifier: AggregateIdentifier
    from_revision: int
    to_revision: int

    @property
    def event_count(self) -> int:
        return self.to_revision - self.from_revision + 1


@dataclass(frozen=True, slots=True)
class InProcessOutcome:
    processed: int
    #: Events still queued that wait for earlier ones (a flow with replay policy on-demand),
    #: or that another process holds.
    left_in_queue: bool


async def prepare_replays(
    flow_names: Sequence[str],
    aggregates: Sequence[SelectedAggregate],
    progress_store: ConsumerProgressStore,
    *,
    reevaluate: bool,
) -> list[FlowReplay]:
    """Mark what each flow is to replay; a flow that has seen everything selected is left
    alone. With ``reevaluate``, progress moves back to ``from - 1`` first."""
    replays = []
    for flow_name in flow_names:
        for selected in aggregates:
            identifier = selected.aggregate_identifier
            progress = await progress_store.get_progress(flow_name, identifier)
            seen = progress.revision
            if reevaluate and seen > selected.from_revision - 1:
                seen = selected.from_revision - 1
                await progress_store.reset_progress_to_revision(flow_name, identifier, seen)
            elif progress.is_replaying is not False:
                # An earlier replay that never finished (its process died, say) would keep
                # the flag forever; this replay takes over its range.
                await progress_store.set_is_replaying(flow_name, identifier, False)
            if seen >= selected.to_revision:
                continue
            replay = FlowReplay(flow_name, identifier, seen + 1, selected.to_revision)
            await progress_store.set_is_replaying(
                flow_name, identifier, ReplayRange(replay.from_revision, replay.to_revision)
            )
            replays.append(replay)
    return replays


async def replay_in_process(
    runtime: Runtime,
    replays: Sequence[FlowReplay],
    on_processed: Callable[[int], None] = lambda count: None,
) -> InProcessOutcome:
    """Queue the events for their flows and process the flow queue until it is empty.

    ``on_processed`` hears of every processed event of a replayed flow. Processing stops early
    when every remaining event was deferred without anything else getting done in between.
    """
    for replay in replays:
        await runtime.perform_replay(
            [replay.flow_name],
            [ReplayRequest(replay.aggregate_identifier, replay.from_revision, replay.to_revision)],
        )
    flows = {replay.flow_name for replay in replays}
    queue = runtime.event_queue
    processed = 0
    if flows_run_elsewhere(runtime):
        processed, owner_gone = await _left_to_the_owner(runtime, sorted(flows), on_processed)
        if not owner_gone:
            return InProcessOutcome(processed, left_in_queue=False)
    deferred_since_progress: set[tuple[str, str]] = set()
    while (locked := await queue.lock_next()) is not None:
        flow_name, event = locked.metadata.discriminator, locked.item
        if await _settle(runtime, locked) == "defer":
            key = (flow_name, event.id)
            if key in deferred_since_progress:
                return InProcessOutcome(processed, left_in_queue=True)
            deferred_since_progress.add(key)
            continue
        deferred_since_progress.clear()
        if flow_name in flows and not is_barrier(event):
            processed += 1
            on_processed(1)
    return InProcessOutcome(processed, left_in_queue=False)


def flows_run_elsewhere(runtime: Runtime) -> bool:
    """Whether a single-process runtime beside this process (``wk dev``) owns the flow
    queue: it takes over what others put there and runs the flows; this process must not."""
    if runtime.is_single_process:
        return False
    from wolkenkit.stores import factory

    return factory.is_priority_queue_owned(
        runtime.settings.priority_queue_store_for_domain_events_options
    )


#: How often the queue is looked at while the runtime that owns it takes the items over.
_OWNER_POLL_SECONDS = 0.1


async def _left_to_the_owner(
    runtime: Runtime, flows: Sequence[str], on_processed: Callable[[int], None]
) -> tuple[int, bool]:
    """Wait until the runtime that owns the flow queue has taken over what the replay queued
    (it runs the flows for it in its own process); how many items it took, and whether it
    stopped before taking all (then this process works the rest)."""
    queue = runtime.event_queue
    total = sum((await queue.statistics(flows)).sizes.values())
    taken = 0
    while taken < total:
        await asyncio.sleep(_OWNER_POLL_SECONDS)
        left = sum((await queue.statistics(flows)).sizes.values())
        if total - left > taken:
            on_processed(total - left - taken)
            taken = total - left
        elif not flows_run_elsewhere(runtime):
            return taken, True
    return taken, False


class FlowQueueHand:
    """Works the flow queue as a flow worker would, for a process that has none (``wk
    replay``), while it waits for something that needs the queue to move: a rebuild waiting
    for its flows to pause, whose barriers only come up once the items before them are
    done. Barriers it locks, its own or another rebuild's, it holds in tasks of their own,
    which end when their rebuilds are done; ``finish`` waits for them."""

    #: How long to wait before looking again when the queue has nothing for it.
    IDLE_SECONDS = 0.02

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._holds: list[asyncio.Task[str]] = []

    async def work_while(self, awaitable: Awaitable[T]) -> T:
        """Await ``awaitable``, working the queue until it is done (unless the runtime that
        owns the queue works it: then its flow workers hold the barriers)."""
        if flows_run_elsewhere(self._runtime):
            return await awaitable
        waited = asyncio.ensure_future(awaitable)
        queue = self._runtime.event_queue
        try:
            while not waited.done():
                locked = await queue.lock_next()
                if locked is None:
                    await asyncio.wait({waited}, timeout=self.IDLE_SECONDS)
                elif is_barrier(locked.item):
                    self._holds.append(asyncio.create_task(_settle(self._runtime, locked)))
                else:
                    await _settle(self._runtime, locked)
        finally:
            if not waited.done():
                waited.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await waited
        return waited.result()

    async def finish(self) -> None:
        """Wait until every barrier held is let through."""
        holds, self._holds = self._holds, []
        await asyncio.gather(*holds, return_exceptions=True)


async def _settle(runtime: Runtime, locked: LockedItem[DomainEvent[Any]]) -> str:
    """Process the item and acknowledge or defer it, as the runtime's workers do; what
    became of it."""
    flow_name, event = locked.metadata.discriminator, locked.item
    result = await _execute(runtime, locked)
    if result == "defer":
        await runtime.event_queue.defer(flow_name, locked.metadata.token, event.metadata.timestamp)
    else:
        await runtime.event_queue.acknowledge(flow_name, locked.metadata.token)
    return result


async def _execute(runtime: Runtime, locked: LockedItem[DomainEvent[Any]]) -> str:
    """Run the flow for the item (or hold a rebuild's barrier), keeping it locked meanwhile;
    a failing flow drops the event (logged), as the runtime's workers do."""
    renewal = asyncio.create_task(_keep_locked(runtime.event_queue, locked, runtime))
    # Flows get the event as it was stored, without the trace context it was queued with.
    event, _ = event_and_carrier(locked.item)
    try:
        if is_barrier(event):
            await hold(event, runtime.lock_store)
            return "acknowledge"
        return await runtime.domain.execute_flow(locked.metadata.discriminator, event)
    except Exception:
        logger.exception(
            "Flow '%s' failed on an event; it is dropped.", locked.metadata.discriminator
        )
        return "acknowledge"
    finally:
        renewal.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await renewal


async def _keep_locked(
    queue: PriorityQueueStore[DomainEvent[Any], Any],
    locked: LockedItem[DomainEvent[Any]],
    runtime: Runtime,
) -> None:
    interval = runtime.settings.command_queue_renew_interval / 1000
    while True:
        await asyncio.sleep(interval)
        await queue.renew_lock(locked.metadata.discriminator, locked.metadata.token)


def replay_through_api(url: str, token: str | None, replays: Sequence[FlowReplay]) -> None:
    """POST the replays to a running runtime's ``/perform-replay/v2``, one request per flow."""
    by_flow: dict[str, list[dict[str, Any]]] = {}
    for replay in replays:
        by_flow.setdefault(replay.flow_name, []).append(
            {
                "aggregateIdentifier": replay.aggregate_identifier.to_json(),
                "from": replay.from_revision,
                "to": replay.to_revision,
            }
        )
    for flow_name, aggregates in by_flow.items():
        _post(url, token, {"flowNames": [flow_name], "aggregates": aggregates})


def rebuild_through_api(url: str, token: str | None, flow_names: Sequence[str]) -> None:
    """Ask a running runtime to rebuild the tables of the flows: ``/perform-replay/v2``
    without aggregates replays all events, which for flows with tables is a rebuild."""
    _post(url, token, {"flowNames": list(flow_names)})


def _post(url: str, token: str | None, body: dict[str, Any]) -> None:
    headers = {"content-type": "application/json"}
    if token:
        headers["authorization"] = f"Bearer {token}"
    request = urllib.request.Request(
        url, data=json.dumps(body).encode(), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=30):
            pass
    except urllib.error.HTTPError as error:
        raise CliError(f"The runtime at {url} refused the replay: {_reason(error)}") from None
    except OSError as error:
        raise CliError(f"The runtime at {url} cannot be reached: {error}.") from None


def _reason(error: urllib.error.HTTPError) -> str:
    try:
        body = json.loads(error.read())
        return f"{body['code']}: {body['message']}"
    except (ValueError, KeyError, TypeError):
        return f"HTTP {error.code}."
