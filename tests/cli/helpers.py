"""What the CLI's tests share: the ``wk`` of this environment, waiting, a runtime process."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from wolkenkit.testing.cluster import PATIENCE_SECONDS, healthy

WK = str(Path(sys.executable).parent / "wk")


def wait_until(predicate: object, seconds: float = PATIENCE_SECONDS) -> float:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if predicate():  # type: ignore[operator]
            return time.monotonic() - started
        time.sleep(0.02)
    raise AssertionError("timed out")


@contextmanager
def runtime_process(app: Path, port: int, health_port: int) -> Iterator[subprocess.Popen[bytes]]:
    """The app's runtime as a process of its own on the given ports, once it is healthy; it
    is stopped with SIGTERM afterwards."""
    environment = {
        **os.environ,
        "APPLICATION_DIRECTORY": str(app),
        "PORT_OR_SOCKET": str(port),
        "HEALTH_PORT_OR_SOCKET": str(health_port),
        "BIND_HOST": "127.0.0.1",
    }
    server = subprocess.Popen(
        [sys.executable, "-m", "wolkenkit.runtime.server"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until(lambda: healthy(health_port), PATIENCE_SECONDS)
        yield server
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=PATIENCE_SECONDS)
