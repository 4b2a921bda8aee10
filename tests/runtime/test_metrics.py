"""``GET /metrics`` on the health port: after a known workload, every metric holds what that
workload must have left, read with prometheus_client's own parser."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from tests.runtime.conftest import StartServer
from tests.runtime.observed_app import GATE, write_observed_app
from tests.runtime.streams import open_stream
from wolkenkit import load_application

COMMAND_ROUTE = "/command/v2/{context_name}/{aggregate_name}/{command_name}"
MESSAGE = "/command/v2/communication/message"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


async def scrape(client: httpx.AsyncClient, health_port: int) -> Samples:
    response = await client.get(f"http://127.0.0.1:{health_port}/metrics")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples[(name, frozenset(labels.items()))]


async def scrape_until(
    client: httpx.AsyncClient, health_port: int, name: str, expected: float, **labels: str
) -> Samples:
    samples: Samples = {}
    for _ in range(400):
        samples = await scrape(client, health_port)
        if samples.get((name, frozenset(labels.items()))) == expected:
            return samples
        await asyncio.sleep(0.025)
    raise AssertionError(f"{name}{labels} never became {expected}: {samples}")


async def test_the_metrics_tell_what_a_known_workload_did(
    tmp_path: Path, start_server: StartServer
) -> None:
    # Three messages sent, one rejected (no text), two commands that fail; the flow holds
    # every event until its gate opens.
    app = write_observed_app(tmp_path / "app", gate_open=False)
    async with (
        start_server(load_application(app)) as server,
        httpx.AsyncClient(base_url=f"http://127.0.0.1:{server.port}", timeout=10) as client,
    ):
        health = server.health_port
        async with open_stream(client, f"http://127.0.0.1:{server.port}/domain-events/v2"):
            for text in ["one", "two", "three", ""]:
                response = await client.post(f"{MESSAGE}/send", json={"text": text})
                assert response.status_code == 200
            for _ in range(2):
                response = await client.post(f"{MESSAGE}/fail", json={})
                assert response.status_code == 200
            assert (await client.get("/no/such/route")).status_code == 404

            held = await scrape_until(client, health, "wolkenkit_flow_lag_events", 3, flow="audit")
            assert value(held, "wolkenkit_stream_clients", stream="domain-events") == 1
            assert value(held, "wolkenkit_queue_depth", queue="domain-events") == 3
            assert value(held, "wolkenkit_queue_oldest_item_age_seconds", queue="domain-events") > 0

        (app / GATE).touch()
        samples = await scrape_until(client, health, "wolkenkit_flow_lag_events", 0, flow="audit")
        # The stream's end reaches the server a moment after the client closed it.
        samples = await scrape_until(
            client, health, "wolkenkit_stream_clients", 0, stream="domain-events"
        )

    send = {"context": "communication", "aggregate": "message", "command": "send"}
    fail = {**send, "command": "fail"}
    commands = "wolkenkit_commands_total"
    assert value(samples, commands, **send, outcome="handled") == 3
    assert value(samples, commands, **send, outcome="rejected") == 1
    assert value(samples, commands, **fail, outcome="failed") == 2
    assert (commands, frozenset({**send, "outcome": "failed"}.items())) not in samples
    durations = "wolkenkit_command_duration_seconds_count"
    assert (value(samples, durations, **send), value(samples, durations, **fail)) == (4, 2)
    assert value(samples, "wolkenkit_domain_events_stored_total") == 3
    for queue in ("commands", "domain-events"):
        assert value(samples, "wolkenkit_queue_depth", queue=queue) == 0
        assert value(samples, "wolkenkit_queue_oldest_item_age_seconds", queue=queue) == 0
    requests = "wolkenkit_http_requests_total"
    assert value(samples, requests, route=COMMAND_ROUTE, status="200") == 6
    assert value(samples, requests, route="unmatched", status="404") == 1
    assert value(samples, requests, route="/domain-events/v2", status="200") == 1
    assert value(samples, "wolkenkit_stream_clients", stream="notifications") == 0
