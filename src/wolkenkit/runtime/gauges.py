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
from wolkenkit.runtime.observing import FLOW_QUEUE
from wolkenkit.stores.priority_queue_store import PriorityQueueStore

logger = logging.getLogger("wolkenkit.runtime.metrics")


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
