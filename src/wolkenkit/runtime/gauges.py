"""The metrics that are read, not counted: queue depths and ages, flow lag, stream clients.

They are read when ``/metrics`` is scraped, from the stores themselves, so a queue shared by
many processes reports the same depth in each of them, whichever process filled or emptied it.
A store that cannot be read at that moment leaves its gauges as they were, with a warning.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from wolkenkit.messages import now_ms
from wolkenkit.observability.metrics import RuntimeMetrics
from wolkenkit.runtime.broadcast import Broadcast
from wolkenkit.runtime.observing import COMMAND_QUEUE, FLOW_QUEUE
from wolkenkit.runtime.services import Service, stores_needed
from wolkenkit.stores.priority_queue_store import PriorityQueueStore

logger = logging.getLogger("wolkenkit.runtime.metrics")

#: The services that serve each live stream.
STREAMING_SERVICES = {
    "domain-events": frozenset({Service.DOMAIN_EVENT, Service.GRAPHQL}),
    "notifications": frozenset({Service.NOTIFICATION, Service.GRAPHQL}),
}


class Gauges:
    def __init__(
        self,
        metrics: RuntimeMetrics,
        *,
        queues: Mapping[str, PriorityQueueStore[Any, Any]],
        flow_names: Sequence[str],
        streams: Mapping[str, Broadcast[Any]],
    ) -> None:
        self._metrics = metrics
        self._queues = queues
        self._flow_names = flow_names
        self._streams = streams

    @classmethod
    def of_services(
        cls,
        metrics: RuntimeMetrics,
        services: frozenset[Service],
        *,
        command_queue: PriorityQueueStore[Any, Any],
        event_queue: PriorityQueueStore[Any, Any],
        flow_names: Sequence[str],
        streams: Mapping[str, Broadcast[Any]],
    ) -> Gauges:
        """The gauges of a process running ``services``: only the queues it opens (the
        others are empty stand-ins) and the streams it serves."""
        needed = stores_needed(services)
        queues = {
            name: queue
            for name, queue, store in (
                (COMMAND_QUEUE, command_queue, "command_queue"),
                (FLOW_QUEUE, event_queue, "event_queue"),
            )
            if store in needed
        }
        return cls(
            metrics,
            queues=queues,
            flow_names=flow_names if FLOW_QUEUE in queues else (),
            streams={
                name: broadcast
                for name, broadcast in streams.items()
                if services & STREAMING_SERVICES[name]
            },
        )

    async def refresh(self) -> None:
        for name, queue in self._queues.items():
            # A flow's queue is named for the flow: what waits there, the flow has not handled.
            flows = self._flow_names if name == FLOW_QUEUE else ()
            try:
                statistics = await queue.statistics(flows)
            except NotImplementedError:
                continue
            except Exception:
                logger.warning("Reading the %s queue for the metrics failed.", name, exc_info=True)
                continue
            lowest = statistics.lowest_head_priority
            age = 0.0 if lowest is None else (now_ms() - lowest) / 1000
            self._metrics.set_queue(name, statistics.size, age)
            if flows:
                self._metrics.set_flow_lags(statistics.sizes)
        for name, broadcast in self._streams.items():
            self._metrics.set_stream_clients(name, broadcast.listener_count)
