"""View tables under ``wk dev`` (SQLite in ``.wolkenkit/``): they survive hot reloads, and
``wk replay``, run beside it, rebuilds them while the runtime's queries answer from the old
tables, until the new ones are swapped in; a rebuild that fails leaves the old ones serving.

The app's handlers hold ``slow`` at a file gate in the ``wk replay`` process (see
``tests.runtime.rebuild_app``), which keeps the rebuild half-way for as long as a test
needs; the runtime itself never waits there.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sqlite3
import subprocess
import threading
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cli.helpers import WK, wait_until
from tests.cli.test_dev_persistence import dev, post
from tests.runtime.rebuild_app import write_rebuild_app
from wolkenkit.testing.cluster import PATIENCE_SECONDS, free_port, healthy

SEND = "/command/v2/communication/message/send"


@pytest.fixture
def app(tmp_path: Path) -> Path:
    return write_rebuild_app(tmp_path / "app")


def texts(port: int) -> list[str]:
    with urllib.request.urlopen(
        f"http://127.0.0.1:{port}/views/v2/messages/stream/all", timeout=5
    ) as answer:
        return [json.loads(line)["text"] for line in answer.read().splitlines() if line]


def views(app: Path) -> sqlite3.Connection:
    """The file wk dev keeps its stores in, the view tables too."""
    return sqlite3.connect(app / ".wolkenkit" / "wolkenkit.db")


def total(app: Path) -> int | None:
    with contextlib.closing(views(app)) as connection:
        found = connection.execute(
            "SELECT json_extract(_row, '$.count') FROM view_totals WHERE name = 'all'"
        ).fetchone()
    return None if found is None else int(found[0])


def tables(app: Path) -> set[str]:
    """The view tables in the file, shadows too."""
    with contextlib.closing(views(app)) as connection:
        return {
            name
            for (name,) in connection.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE 'view%'"
            )
        }


def forget(app: Path, *gone: str) -> None:
    """Delete the rows of these messages behind the runtime's back."""
    with contextlib.closing(views(app)) as connection:
        connection.executemany(
            "DELETE FROM view_messages WHERE json_extract(_row, '$.text') = ?",
            [(text,) for text in gone],
        )
        connection.commit()


def send_all(port: int, app: Path, *messages: str) -> None:
    """Send the messages, and wait until both flows have handled them."""
    before = total(app) or 0
    for text in messages:
        post(port, SEND, {"text": text})
    wait_until(lambda: total(app) == before + len(messages))


@contextlib.contextmanager
def replaying(app: Path, gate: Path, **environment: str) -> Iterator[subprocess.Popen[str]]:
    """``wk replay`` for the app, started with its file gate at ``gate``."""
    process = subprocess.Popen(
        [WK, "replay", str(app)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "REBUILD_GATE": str(gate), **environment},
    )
    try:
        yield process
    finally:
        gate.touch()
        if process.poll() is None:
            process.wait(timeout=PATIENCE_SECONDS)


def test_rows_survive_a_hot_reload(app: Path) -> None:
    port, health_port = free_port(), free_port()
    process = subprocess.Popen(
        [WK, "dev", str(app), "--port", str(port), "--health-port", str(health_port)],
        bufsize=1,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "BIND_HOST": "127.0.0.1"},
    )
    output: list[str] = []
    stdout = process.stdout
    assert stdout is not None
    reader = threading.Thread(target=lambda: output.extend(iter(stdout.readline, "")))
    reader.start()
    try:
        wait_until(lambda: healthy(health_port))
        send_all(port, app, "kept")
        view = app / "server" / "views" / "messages.py"
        view.write_text(view.read_text() + "\n# Changed.\n")
        wait_until(lambda: "".join(output).count("Ready in") == 2)
        after_reload = texts(port)
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=PATIENCE_SECONDS)
        reader.join(timeout=PATIENCE_SECONDS)
        stdout.close()

    assert "Changed: messages.py; restarting." in "".join(output)
    assert after_reload == ["kept"]


def test_wk_replay_rebuilds_a_table_while_queries_answer_from_the_old_one(
    app: Path, tmp_path: Path
) -> None:
    gate = tmp_path / "gate"
    with dev(app) as port:
        send_all(port, app, "first", "slow", "third")
        forget(app, "first", "third")
        with replaying(app, gate) as replay:
            wait_until(lambda: Path(f"{gate}.reached").exists())
            # Half-way: the new table holds "first" so far, the old one only "slow".
            while_rebuilding = texts(port)
            # The runtime's flows go on meanwhile, into the old tables.
            send_all(port, app, "during")
            during = texts(port)
            gate.touch()
            stdout, stderr = replay.communicate(timeout=PATIENCE_SECONDS)
        rebuilt = texts(port)
        # Handled once: the flows' progress carried on across the swap.
        send_all(port, app, "later")
        later = texts(port)

    assert replay.returncode == 0, stderr
    assert while_rebuilding == ["slow"]
    assert during == ["slow", "during"]
    assert rebuilt == ["first", "slow", "third", "during"]
    assert later == ["first", "slow", "third", "during", "later"]
    assert total(app) == 5
    assert (
        "Rebuilt tables messages, totals: messages 4 rows, totals 1 row from 4 events of "
        "flows messages, tally in "
    ) in " ".join(stdout.split())
    assert tables(app) == {"view_messages", "view_totals"}


def test_a_failing_rebuild_leaves_the_old_table_serving(app: Path, tmp_path: Path) -> None:
    gate = tmp_path / "gate"
    gate.touch()
    with dev(app) as port:
        send_all(port, app, "first", "slow")
        forget(app, "first")
        with replaying(app, gate, REBUILD_FAILS="1") as replay:
            _, stderr = replay.communicate(timeout=PATIENCE_SECONDS)
        after = texts(port)
        # The flows were left running.
        send_all(port, app, "after")
        later = texts(port)

    assert replay.returncode == 1
    [line] = stderr.splitlines()
    assert line.startswith(
        "Error: Rebuilding tables messages, totals failed: Flow 'messages' failed on "
        "communication.message.sent of aggregate "
    )
    assert line.endswith("RuntimeError('the gate fails') The old tables keep serving.")
    assert after == ["slow"]
    assert later == ["slow", "after"]
    assert tables(app) == {"view_messages", "view_totals"}


def test_a_replay_beside_wk_dev_leaves_the_flows_to_it(app: Path, tmp_path: Path) -> None:
    # The runtime owns the flow queue: it takes over what the replay queues and runs the flow.
    # Were the replay to run the flow itself, it would stop at its closed gate on "slow".
    gate = tmp_path / "gate"
    with dev(app) as port:
        sent = post(port, SEND, {"text": "slow"})
        wait_until(lambda: texts(port) == ["slow"])
        forget(app, "slow")
        configuration = {
            "flows": ["messages"],
            "contexts": [
                {
                    "contextName": "communication",
                    "aggregates": [
                        {
                            "aggregateName": "message",
                            "instances": [
                                {"aggregateId": sent["aggregateIdentifier"]["aggregate"]["id"]}
                            ],
                        }
                    ],
                }
            ],
        }
        replay = subprocess.run(
            [
                WK,
                "replay",
                str(app),
                "--replay-configuration",
                json.dumps(configuration),
                "--dangerously-reevaluate",
            ],
            capture_output=True,
            text=True,
            timeout=PATIENCE_SECONDS,
            env={**os.environ, "REBUILD_GATE": str(gate)},
        )
        wait_until(lambda: texts(port) == ["slow"])

    assert replay.returncode == 0, replay.stderr
    assert "Replayed 1 events of 1 aggregates to flow messages" in " ".join(replay.stdout.split())
    assert not Path(f"{gate}.reached").exists()
