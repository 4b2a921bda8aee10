"""The single-process runtime's flows after a crash: the event store is their journal.

Under the single-process runtime (``wk dev``), the flow queue is scheduled in memory where
the store allows (SQLite's ``JournaledPriorityQueueStore``), and the events a command stored
go into it without a journal entry of their own (``enqueue_recoverable``): the event store
holds them already, so writing each one again, and deleting it once handled, would only cost
disk and time. What a crash loses is found again at the next start: every event stored after
the flows' checkpoint that a flow's progress does not count as handled is queued again for
that flow, in the order of the store. (The flows would skip the others anyway.)

The checkpoint is a position up to which every flow has handled every stored event. It is
set when the runtime is quiet: no command is being handled (so no event is between being
stored and being queued), and the flow queue is settled (nothing queued, in hand, or
acknowledged in a unit of work that has not committed). One write sets it to the last
position as that write finds it, and writes run in the order they are called, so an event
stored by a command that began later lies after it. A checkpoint is so never ahead of the
flows. It may lag behind them (a busy runtime is rarely quiet): that only makes the next
start read more events, which the flows' progress then tells apart.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator, Sequence
from typing import Any

from wolkenkit.messages import DomainEvent
from wolkenkit.stores.consumer_progress_store import ConsumerProgressStore
from wolkenkit.stores.domain_event_store import DomainEventStore, KeepsCheckpoints
from wolkenkit.stores.journaled_queue import JournaledPriorityQueueStore

logger = logging.getLogger(__name__)

#: The checkpoint's name in the event store.
FLOWS_CHECKPOINT = "flows"
#: How often the runtime looks whether it is quiet enough to move the checkpoint.
CHECKPOINT_INTERVAL_SECONDS = 1.0


class FlowRecovery:
    """Queues the events commands stored for the flows, in memory, and finds them again in
    the event store after a crash (see the module's description)."""

    def __init__(
        self,
        events: DomainEventStore,
        checkpoints: KeepsCheckpoints,
        progress: ConsumerProgressStore,
        queue: JournaledPriorityQueueStore[DomainEvent[Any], Any],
        flow_names: Sequence[str],
    ) -> None:
        self._events = events
        self._checkpoints = checkpoints
        self._progress = progress
        self._queue = queue
        self._flow_names = list(flow_names)
        #: Commands being handled: their events may be stored and not queued yet.
        self._commands = 0
        #: Whether events were queued since the checkpoint was last set.
        self._moved = True

    @classmethod
    def where_possible(
        cls,
        events: DomainEventStore,
        progress: ConsumerProgressStore,
        queue: object,
        flow_names: Sequence[str],
    ) -> FlowRecovery | None:
        """One, if the stores allow it: a journaled flow queue (which only a process that is
        its sole user has), an event store that keeps checkpoints."""
        if isinstance(queue, JournaledPriorityQueueStore) and isinstance(events, KeepsCheckpoints):
            return cls(events, events, progress, queue, flow_names)
        return None

    async def recover(self) -> int:
        """Queue again what the flows have not handled of the events stored after the
        checkpoint; how many items that made."""
        if not self._flow_names:
            return 0
        after = await self._checkpoints.checkpoint(FLOWS_CHECKPOINT)
        queued = 0
        async for positioned in self._events.get_replay_by_position(after):
            event = positioned.domain_event
            for flow_name in self._flow_names:
                progress = await self._progress.get_progress(flow_name, event.aggregate_identifier)
                if progress.revision < event.metadata.revision:
                    self._queue.enqueue_recoverable(event, flow_name, event.metadata.timestamp)
                    queued += 1
        if queued:
            logger.info(
                "Queued again %d events the flows had not handled when the runtime stopped.",
                queued,
            )
        return queued

    @contextlib.contextmanager
    def handling_command(self) -> Iterator[None]:
        """Around the handling of a command, from before its events are stored until they
        are queued."""
        self._commands += 1
        try:
            yield
        finally:
            self._commands -= 1
            self._moved = True

    def enqueue(self, event: DomainEvent[Any], flow_names: Sequence[str]) -> None:
        """Queue a freshly stored event for the flows."""
        for flow_name in flow_names:
            self._queue.enqueue_recoverable(event, flow_name, event.metadata.timestamp)

    async def keep_checkpoint(self) -> None:
        """Move the checkpoint whenever the runtime is quiet, until cancelled."""
        while True:
            await asyncio.sleep(CHECKPOINT_INTERVAL_SECONDS)
            try:
                await self.checkpoint_if_quiet()
            except Exception:
                logger.exception("Setting the flows' checkpoint failed; it is tried again.")

    async def checkpoint_if_quiet(self) -> None:
        """Set the checkpoint, if anything moved since and the runtime is quiet now."""
        if self._moved and self._commands == 0 and self._queue.is_settled():
            self._moved = False
            try:
                await self._checkpoints.set_checkpoint(FLOWS_CHECKPOINT)
            except BaseException:
                self._moved = True
                raise
