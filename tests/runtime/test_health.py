"""The health port: its own server, and the reference's figures."""

from __future__ import annotations

import httpx

from wolkenkit.runtime.server import Serving


async def test_health_is_served_on_its_own_port(server: Serving) -> None:
    async with httpx.AsyncClient() as client:
        health = await client.get(f"http://127.0.0.1:{server.health_port}/health/v2")
        not_on_api = await client.get(f"http://127.0.0.1:{server.port}/health/v2")

    assert health.status_code == 200
    assert set(health.json()) >= {"host", "process", "cpuUsage", "memoryUsage", "diskUsage"}
    assert not_on_api.status_code == 404


async def test_health_reports_memory_under_the_references_names(server: Serving) -> None:
    # The reference's five figures, in bytes; ours split the resident size into the heaps'
    # part and the rest (see docs/running-an-application.md).
    async with httpx.AsyncClient() as client:
        health = await client.get(f"http://127.0.0.1:{server.health_port}/health/v2")
    memory = health.json()["memoryUsage"]

    assert set(memory) == {"rss", "maxRss", "heapTotal", "heapUsed", "external"}
    assert all(isinstance(value, int) and value > 0 for value in memory.values())
    assert memory["rss"] == memory["heapUsed"] + memory["external"]
    assert memory["heapUsed"] <= memory["heapTotal"]
