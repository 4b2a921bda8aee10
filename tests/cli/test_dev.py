"""``wk dev`` as a user runs it: serves, reloads, survives a broken file, stops cleanly."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import urllib.request
from pathlib import Path

from tests.cli.helpers import WK, wait_until
from wolkenkit.testing.cluster import PATIENCE_SECONDS, free_port, healthy


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
