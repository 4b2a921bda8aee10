"""The runtime's logs as a process writes them: JSON lines by default, readable lines as
``wk dev`` asks for them, every record of a command's work with the command's id and the ids
of the span it was made in (the same spans the process exports)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.runtime.observed_app import write_observed_app
from wolkenkit.runtime.development import DevelopmentOptions, runtime_environment
from wolkenkit.testing.cluster import PATIENCE_SECONDS, free_port, healthy

MESSAGE = "/command/v2/communication/message"


@contextmanager
def runtime_process(app: Path, **environment: str) -> Iterator[tuple[int, int, list[str]]]:
    """The single-process runtime as production runs it; yields its ports and, once it has
    stopped, its stdout and stderr (in that order, in the list)."""
    port, health_port = free_port(), free_port()
    variables = {
        **os.environ,
        "APPLICATION_DIRECTORY": str(app),
        "PORT_OR_SOCKET": str(port),
        "HEALTH_PORT_OR_SOCKET": str(health_port),
        "BIND_HOST": "127.0.0.1",
        **environment,
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "wolkenkit.runtime.server"],
        env=variables,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    output: list[str] = []
    try:
        deadline = time.monotonic() + PATIENCE_SECONDS
        while not healthy(health_port):
            assert process.poll() is None, process.communicate()
            assert time.monotonic() < deadline, "the runtime did not become healthy"
            time.sleep(0.05)
        yield port, health_port, output
    finally:
        process.terminate()
        stdout, stderr = process.communicate(timeout=PATIENCE_SECONDS)
        output += [stdout, stderr]


def send_and_fail(port: int, health_port: int) -> tuple[str, str]:
    """Send a message and a command that fails; their ids, once both are handled and the
    flow has handled the message's event."""
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as client:
        sent = client.post(f"{MESSAGE}/send", json={"text": "Hello"}).json()["id"]
        failed = client.post(f"{MESSAGE}/fail", json={}).json()["id"]
        done = {
            'wolkenkit_commands_total{aggregate="message",command="fail",context="communication"'
            ',outcome="failed"} 1.0',
            'wolkenkit_flow_lag_events{flow="audit"} 0.0',
        }
        deadline = time.monotonic() + PATIENCE_SECONDS
        while not done <= set(
            client.get(f"http://127.0.0.1:{health_port}/metrics").text.splitlines()
        ):
            assert time.monotonic() < deadline, "the commands were never handled"
            time.sleep(0.05)
    return sent, failed


def console_spans(stdout: str) -> list[dict[str, Any]]:
    """The spans the console exporter printed: JSON objects, one after the other."""
    decoder = json.JSONDecoder()
    spans, position = [], 0
    while (start := stdout.find("{", position)) != -1:
        span, position = decoder.raw_decode(stdout, start)
        spans.append(span)
    return spans


def test_production_logs_are_json_lines_that_name_the_command_and_its_span(
    tmp_path: Path,
) -> None:
    app = write_observed_app(tmp_path / "app")
    with runtime_process(
        app, LOG_LEVEL="info", OTEL_TRACES_EXPORTER="console", OTEL_BSP_SCHEDULE_DELAY="50"
    ) as (port, health_port, output):
        sent, failed = send_and_fail(port, health_port)
    stdout, stderr = output

    records = [json.loads(line) for line in stderr.splitlines() if line.strip()]
    spans = {span["context"]["span_id"].removeprefix("0x"): span for span in console_spans(stdout)}
    by_message = {record["message"]: record for record in records}
    for message, command_id, span_name in [
        ("Sending 'Hello'.", sent, "process commands"),
        ("Audited 'Hello'.", sent, "process domain-events"),
        (f"Command 'fail' ({failed}) failed.", failed, "process commands"),
    ]:
        record = by_message[message]
        assert record["command_id"] == command_id
        assert {"time", "level", "logger"} <= record.keys()
        span = spans[record["span_id"]]
        assert span["name"] == span_name
        assert span["context"]["trace_id"].removeprefix("0x") == record["trace_id"]
    assert (
        "RuntimeError: Out of order."
        in by_message[f"Command 'fail' ({failed}) failed."]["exception"]
    )


def test_wk_dev_logs_readable_lines_with_the_command_id(tmp_path: Path) -> None:
    app = write_observed_app(tmp_path / "app")
    options = DevelopmentOptions(application_directory=app, in_memory=True)
    environment = runtime_environment(options)
    assert environment["LOG_FORMAT"] == "readable"
    with runtime_process(app, LOG_LEVEL="info", LOG_FORMAT=environment["LOG_FORMAT"]) as (
        port,
        health_port,
        output,
    ):
        sent, _ = send_and_fail(port, health_port)

    lines = output[1].splitlines()
    assert (
        f"INFO wolkenkit.app.domain.communication.message: Sending 'Hello'. [command {sent}]"
        in (lines)
    )
    with pytest.raises(json.JSONDecodeError):
        json.loads(lines[0])
