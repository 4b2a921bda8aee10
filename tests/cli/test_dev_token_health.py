"""``wk dev``, ``wk token`` and ``wk health`` as a user runs them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import jwt
import pytest

from tests.runtime.conftest import Keys
from wolkenkit.scaffolds import create_project
from wolkenkit.testing.cluster import PATIENCE_SECONDS, free_port, healthy

WK = str(Path(sys.executable).parent / "wk")


def wait_until(predicate: object, seconds: float = PATIENCE_SECONDS) -> float:
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if predicate():  # type: ignore[operator]
            return time.monotonic() - started
        time.sleep(0.02)
    raise AssertionError("timed out")


@pytest.fixture
def chat(tmp_path: Path) -> Path:
    return create_project("chat", template="chat", directory=tmp_path / "chat")


def test_dev_serves_reloads_survives_a_broken_file_and_stops_cleanly(chat: Path) -> None:
    port, health_port = free_port(), free_port()
    process = subprocess.Popen(
        [WK, "dev", str(chat), "--port", str(port), "--health-port", str(health_port)],
        bufsize=1,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "BIND_HOST": "127.0.0.1"},
        # A process group of its own: its children are found there, and only they.
        start_new_session=True,
    )
    output: list[str] = []
    stdout = process.stdout
    assert stdout is not None
    reader = threading.Thread(target=lambda: output.extend(iter(stdout.readline, "")))
    reader.start()
    try:
        wait_until(lambda: healthy(health_port))
        request = urllib.request.Request(
            f"http://127.0.0.1:{port}/command/v2/communication/message/send",
            data=json.dumps({"text": "Hello"}).encode(),
            headers={"content-type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as answer:
            assert answer.status == 200

        notifications = chat / "server" / "notifications.py"
        original = notifications.read_text()
        notifications.write_text(original + "\ndef broken(:\n")
        wait_until(lambda: "waiting for the next change" in "".join(output))
        assert not healthy(health_port)
        assert process.poll() is None, "wk dev must wait for the next change"
        notifications.write_text(original)
        wait_until(lambda: healthy(health_port))
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=PATIENCE_SECONDS)
        reader.join(timeout=PATIENCE_SECONDS)
        stdout.close()

    log = "".join(output)
    assert process.returncode == 0, log
    assert "Traceback" not in log
    assert "Syntax error in 'server/notifications.py'" in log
    # The child started ahead of time for the next restart went with it.
    assert not live_processes_in_group(process.pid)


def live_processes_in_group(group: int) -> list[int]:
    """The processes of process group ``group`` that still run (zombies have ended)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # "pid (command) state ppid pgrp ...": the command may hold spaces and parentheses.
            fields = stat.read_text().rpartition(")")[2].split()
        except OSError:  # it ended while we looked
            continue
        if fields[0] != "Z" and int(fields[2]) == group:
            found.append(int(stat.parent.name))
    return found


def test_a_standby_child_ends_quietly_when_it_is_not_needed() -> None:
    # wk dev closes the stdin of a child it no longer needs (or dies): no output, exit 0.
    standby = subprocess.run(
        [sys.executable, "-m", "wolkenkit.runtime.standby"],
        input="",
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert (standby.returncode, standby.stdout, standby.stderr) == (0, "", "")


def test_token_issues_a_token_the_runtime_accepts(tmp_path: Path) -> None:
    keys = Keys(tmp_path / "keys", issuer="https://auth.example.com/")
    claims = tmp_path / "claims.json"
    claims.write_text(json.dumps({"sub": "jane.doe", "role": "admin"}))

    result = subprocess.run(
        [
            WK,
            "token",
            "--issuer",
            keys.issuer,
            "--private-key",
            str(keys.directory / "private.pem"),
            "--claims",
            str(claims),
            "--expiration",
            "5",
            "--raw",
        ],
        capture_output=True,
        text=True,
        check=True,
    )
    token = result.stdout.strip()

    public_key = keys.private_key.public_key()
    decoded = jwt.decode(token, public_key, algorithms=["RS256"], issuer=keys.issuer)
    assert decoded["sub"] == "jane.doe"
    assert decoded["role"] == "admin"
    assert decoded["exp"] - decoded["iat"] == 300


def test_token_reports_a_missing_subject_in_one_line(tmp_path: Path) -> None:
    keys = Keys(tmp_path / "keys")
    claims = tmp_path / "claims.json"
    claims.write_text("{}")

    result = subprocess.run(
        [
            WK,
            "token",
            "-i",
            keys.issuer,
            "-k",
            str(keys.directory / "private.pem"),
            "-c",
            str(claims),
        ],
        capture_output=True,
        text=True,
    )

    assert result.returncode == 1
    assert result.stderr.strip().count("\n") == 0
    assert "sub" in result.stderr


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


def test_health_exits_zero_when_healthy_and_one_otherwise(chat: Path) -> None:
    port, health_port = free_port(), free_port()
    with runtime_process(chat, port, health_port) as server:
        up = subprocess.run([WK, "health", "--health-port", str(health_port)], capture_output=True)
    down = subprocess.run([WK, "health", "--health-port", str(health_port)], capture_output=True)

    assert up.returncode == 0
    assert server.returncode == 0
    assert down.returncode == 1
