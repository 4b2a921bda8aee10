"""The Prometheus metrics of one runtime process (``GET /metrics`` on the health port).

Counters and the histogram are kept as work happens; gauges (queue depths, flow lag, stream
clients) are set just before each scrape from what the runtime reads then. Each runtime has
its own registry, so several runtimes in one process (tests) never share a series. Every
metric is documented in ``docs/running-an-application.md``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST

#: How a command ended: its events stored (or nothing to store), rejected by the handler or
#: its authorization, or failed (an error, or a write conflict that outlasted the retries).
CommandResult = Literal["handled", "rejected", "failed"]

#: Receipt to stored takes milliseconds in one process and more across processes; the
#: receipt time has millisecond resolution, so finer buckets would tell nothing.
DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

CONTENT_TYPE = CONTENT_TYPE_LATEST


class RuntimeMetrics:
    """The metrics and the calls that keep them; the hot ones cost a dict lookup and a
    locked add, as each series' child is looked up once and kept."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        self._commands = Counter(
            "wolkenkit_commands",
            "Commands handled, by how they ended (handled, rejected, failed).",
            ["context", "aggregate", "command", "outcome"],
            registry=registry,
        )
        self._durations = Histogram(
            "wolkenkit_command_duration_seconds",
            "Seconds from a command's receipt until its events were stored (or it was "
            "rejected or failed).",
            ["context", "aggregate", "command"],
            buckets=DURATION_BUCKETS,
            registry=registry,
        )
        self._stored = Counter(
            "wolkenkit_domain_events_stored",
            "Domain events stored.",
            registry=registry,
        )
        self._queue_depth = Gauge(
            "wolkenkit_queue_depth",
            "Items waiting in a queue (commands, or domain events for the flows), those "
            "being processed included.",
            ["queue"],
            registry=registry,
        )
        self._queue_age = Gauge(
            "wolkenkit_queue_oldest_item_age_seconds",
            "Seconds since the oldest item at the head of a queue was created (0 when empty).",
            ["queue"],
            registry=registry,
        )
        self._flow_lag = Gauge(
            "wolkenkit_flow_lag_events",
            "Domain events stored but not yet handled by the flow.",
            ["flow"],
            registry=registry,
        )
        self._http_requests = Counter(
            "wolkenkit_http_requests",
            "HTTP requests answered by the API, by route and status code.",
            ["route", "status"],
            registry=registry,
        )
        self._stream_clients = Gauge(
            "wolkenkit_stream_clients",
            "Clients connected to a live stream (HTTP and GraphQL subscriptions).",
            ["stream"],
            registry=registry,
        )
        self._command_series: dict[tuple[str, str, str, str], tuple[Counter, Histogram]] = {}
        self._http_series: dict[tuple[str, int], Counter] = {}

    def command_finished(
        self,
        context: str,
        aggregate: str,
        command: str,
        outcome: CommandResult,
        seconds: float,
    ) -> None:
        key = (context, aggregate, command, outcome)
        series = self._command_series.get(key)
        if series is None:
            series = self._command_series[key] = (
                self._commands.labels(context, aggregate, command, outcome),
                self._durations.labels(context, aggregate, command),
            )
        counter, histogram = series
        counter.inc()
        histogram.observe(seconds if seconds > 0 else 0.0)

    def domain_events_stored(self, count: int) -> None:
        self._stored.inc(count)

    def http_request_answered(self, route: str, status: int) -> None:
        key = (route, status)
        counter = self._http_series.get(key)
        if counter is None:
            counter = self._http_series[key] = self._http_requests.labels(route, str(status))
        counter.inc()

    def set_queue(self, queue: str, depth: int, oldest_age_seconds: float) -> None:
        self._queue_depth.labels(queue).set(depth)
        self._queue_age.labels(queue).set(max(oldest_age_seconds, 0.0))

    def set_flow_lags(self, lags: Mapping[str, int]) -> None:
        for flow, lag in lags.items():
            self._flow_lag.labels(flow).set(lag)

    def set_stream_clients(self, stream: str, count: int) -> None:
        self._stream_clients.labels(stream).set(count)

    def exposition(self) -> bytes:
        """Every metric in the Prometheus text format."""
        return generate_latest(self.registry)
