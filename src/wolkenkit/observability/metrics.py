"""The Prometheus metrics of one runtime process (``GET /metrics`` on the health port).

What happens per command and per request is tallied in plain dicts, which a collector turns
into metric families when ``/metrics`` is scraped: prometheus-client's own counters take a
lock on every increment, several times the cost, and the runtime updates and scrapes them on
one thread, its event loop's. Gauges (queue depths, flow lag, stream clients) are set just
before each scrape from what the runtime reads then. Each runtime has its own registry, so
several runtimes in one process (tests) never share a series. Every metric is documented in
``docs/running-an-application.md``.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterator, Mapping
from typing import Literal

from prometheus_client import (
    CollectorRegistry,
    Gauge,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.metrics_core import (
    CounterMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector

#: How a command ended: its events stored (or nothing to store), rejected by the handler or
#: its authorization, or failed (an error, or a write conflict that outlasted the retries).
CommandResult = Literal["handled", "rejected", "failed"]

#: Receipt to stored takes milliseconds in one process and more across processes; the
#: receipt time has millisecond resolution, so finer buckets would tell nothing.
DURATION_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

CONTENT_TYPE = CONTENT_TYPE_LATEST


class _CommandSeries:
    """What one kind of command (context, aggregate, command) did: how many ended in each
    outcome, and the histogram of their durations (a count per bucket, the last one past
    every bound, and the sum)."""

    __slots__ = ("buckets", "outcomes", "total")

    def __init__(self) -> None:
        self.outcomes: dict[str, int] = {"handled": 0, "rejected": 0, "failed": 0}
        self.buckets = [0] * (len(DURATION_BUCKETS) + 1)
        self.total = 0.0

    def cumulative(self) -> list[tuple[str, float]]:
        buckets, running = [], 0
        for bound, count in zip([*map(str, DURATION_BUCKETS), "+Inf"], self.buckets, strict=True):
            running += count
            buckets.append((bound, float(running)))
        return buckets


class _Tallies(Collector):
    """The counters and the histogram, kept as plain numbers until a scrape asks for them."""

    def __init__(self) -> None:
        self.commands: dict[tuple[str, str, str], _CommandSeries] = {}
        self.stored = 0
        self.http_requests: dict[tuple[str, str], int] = {}

    def collect(self) -> Iterator[Metric]:
        commands = CounterMetricFamily(
            "wolkenkit_commands",
            "Commands handled, by how they ended (handled, rejected, failed).",
            labels=["context", "aggregate", "command", "outcome"],
        )
        durations = HistogramMetricFamily(
            "wolkenkit_command_duration_seconds",
            "Seconds from a command's receipt until its events were stored (or it was "
            "rejected or failed).",
            labels=["context", "aggregate", "command"],
        )
        for labels, series in self.commands.items():
            for outcome, count in series.outcomes.items():
                # An outcome that never happened is no series (as a labelled counter's).
                if count:
                    commands.add_metric([*labels, outcome], count)
            durations.add_metric(labels, series.cumulative(), series.total)
        yield commands
        yield durations
        yield CounterMetricFamily(
            "wolkenkit_domain_events_stored", "Domain events stored.", value=self.stored
        )
        requests = CounterMetricFamily(
            "wolkenkit_http_requests",
            "HTTP requests answered by the API, by route and status code.",
            labels=["route", "status"],
        )
        for route_and_status, count in self.http_requests.items():
            requests.add_metric(route_and_status, count)
        yield requests


class RuntimeMetrics:
    """The metrics and the calls that keep them; call them on the event loop's thread."""

    def __init__(self) -> None:
        self.registry = registry = CollectorRegistry()
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        self._tallies = _Tallies()
        registry.register(self._tallies)
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
        self._stream_clients = Gauge(
            "wolkenkit_stream_clients",
            "Clients connected to a live stream (HTTP and GraphQL subscriptions).",
            ["stream"],
            registry=registry,
        )

    def command_finished(
        self,
        context: str,
        aggregate: str,
        command: str,
        outcome: CommandResult,
        seconds: float,
        events_stored: int = 0,
    ) -> None:
        """Count a command that ended, ``seconds`` after its receipt, having stored
        ``events_stored`` domain events. Runs for every command: one dict look-up and a few
        increments."""
        tallies = self._tallies
        series = tallies.commands.get((context, aggregate, command))
        if series is None:
            series = tallies.commands[context, aggregate, command] = _CommandSeries()
        series.outcomes[outcome] += 1
        if seconds < 0:
            # The receipt time came from another machine's clock.
            seconds = 0.0
        series.buckets[bisect.bisect_left(DURATION_BUCKETS, seconds)] += 1
        series.total += seconds
        tallies.stored += events_stored

    def http_request_answered(self, route: str, status: int) -> None:
        requests = self._tallies.http_requests
        key = (route, str(status))
        requests[key] = requests.get(key, 0) + 1

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
