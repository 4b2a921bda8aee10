"""``wk health``: exit code 0 while the runtime is healthy, 1 once it is gone."""

from __future__ import annotations

import subprocess
from pathlib import Path

from tests.cli.helpers import WK, runtime_process
from wolkenkit.testing.cluster import free_port


def test_health_exits_zero_when_healthy_and_one_otherwise(chat: Path) -> None:
    port, health_port = free_port(), free_port()
    with runtime_process(chat, port, health_port) as server:
        up = subprocess.run([WK, "health", "--health-port", str(health_port)], capture_output=True)
    down = subprocess.run([WK, "health", "--health-port", str(health_port)], capture_output=True)

    assert up.returncode == 0
    assert server.returncode == 0
    assert down.returncode == 1
