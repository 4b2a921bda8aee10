"""``wk dev`` as a careful development server behaves: its own ports, loopback, a watched child.

Each test runs ``wk dev`` as a real process on ports it picked and looks only at that process
and its children.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.cli.helpers import WK, runtime_process, wait_until
from wolkenkit.runtime.development import QUICK_CRASHES_TOLERATED
from wolkenkit.testing.cluster import free_port, healthy

#: Generous: the machine running the suite may be busy.
DEADLINE_SECONDS = 60


@dataclass
class Dev:
    process: subprocess.Popen[str]
    port: int
    health_port: int
    lines: list[str] = field(default_factory=list)

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def children(self) -> list[int]:
        """The process ids of ``wk dev``'s children, oldest first."""
        pid = self.process.pid
        listed = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        return sorted((int(child) for child in listed), key=_start_time)


def _start_time(pid: int) -> int:
    # Field 22 of /proc/PID/stat, counted after the parenthesised command name.
    return int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[19])


@contextmanager
def running_dev(
    app: Path, *flags: str, port: int | None = None, health_port: int | None = None
) -> Iterator[Dev]:
    port = port or free_port()
    health_port = health_port or free_port()
    # No BIND_HOST from outside: what the flags say (or their defaults) is what counts.
    environment = {name: value for name, value in os.environ.items() if name != "BIND_HOST"}
    process = subprocess.Popen(
        [WK, "dev", str(app), "--port", str(port), "--health-port", str(health_port), *flags],
        bufsize=1,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env=environment,
    )
    dev = Dev(process, port, health_port)
    stdout = process.stdout
    assert stdout is not None
    reader = threading.Thread(target=lambda: dev.lines.extend(iter(stdout.readline, "")))
    reader.start()
    try:
        yield dev
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=DEADLINE_SECONDS)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        reader.join(timeout=DEADLINE_SECONDS)
        stdout.close()


def accepts(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=5):
            return True
    except OSError:
        return False


def test_ports_of_another_wolkenkit_app_are_an_error_not_ready(chat: Path) -> None:
    # The other app answers on the health port too: wk dev must not take it for its own.
    port, health_port = free_port(), free_port()
    with (
        runtime_process(chat, port, health_port),
        running_dev(chat, port=port, health_port=health_port) as dev,
    ):
        wait_until(lambda: dev.process.poll() is not None, DEADLINE_SECONDS)

    assert dev.process.returncode != 0
    assert "Ready" not in dev.output
    assert dev.output.strip().count("\n") == 0, dev.output
    assert f"Port {port} is in use" in dev.output


@pytest.mark.parametrize("taken", ["port", "health_port"])
def test_a_port_held_by_another_process_is_named(chat: Path, taken: str) -> None:
    with socket.create_server(("127.0.0.1", 0)) as listener:
        port = listener.getsockname()[1]
        ports = {"port": free_port(), "health_port": free_port(), taken: port}
        with running_dev(chat, **ports) as dev:
            wait_until(lambda: dev.process.poll() is not None, DEADLINE_SECONDS)

    assert dev.process.returncode != 0
    assert dev.output.strip().count("\n") == 0, dev.output
    assert f"{port} is in use" in dev.output
    assert "Traceback" not in dev.output


def test_listens_on_loopback_unless_told_otherwise(chat: Path) -> None:
    # 127.0.0.2 is this machine too, but not the address 127.0.0.1 a loopback server binds:
    # it stands in for a second interface.
    with running_dev(chat) as dev:
        wait_until(lambda: healthy(dev.health_port), DEADLINE_SECONDS)
        assert accepts("127.0.0.1", dev.port)
        assert not accepts("127.0.0.2", dev.port)
        assert not accepts("127.0.0.2", dev.health_port)

    with running_dev(chat, "--host", "0.0.0.0") as dev:
        wait_until(lambda: healthy(dev.health_port), DEADLINE_SECONDS)
        assert accepts("127.0.0.2", dev.port)
        assert accepts("127.0.0.2", dev.health_port)


def test_a_child_that_dies_is_reported_and_restarted(chat: Path) -> None:
    with running_dev(chat, "--in-memory") as dev:
        wait_until(lambda: healthy(dev.health_port), DEADLINE_SECONDS)
        # The oldest child serves; the younger one waits for the next restart.
        serving = dev.children()[0]
        os.kill(serving, signal.SIGKILL)

        wait_until(lambda: "stopped unexpectedly" in dev.output, DEADLINE_SECONDS)
        wait_until(lambda: dev.output.count("Ready") == 2, DEADLINE_SECONDS)
        assert healthy(dev.health_port)
        assert serving not in dev.children()
        assert dev.process.poll() is None

    lines = [line for line in dev.lines if "stopped unexpectedly" in line]
    assert len(lines) == 1
    assert "SIGKILL" in lines[0]
    assert "restarting" in lines[0]


def test_a_child_that_keeps_dying_is_not_restarted_until_the_next_change(chat: Path) -> None:
    with running_dev(chat, "--in-memory") as dev:
        for ready in range(1, QUICK_CRASHES_TOLERATED + 1):
            wait_until(lambda ready=ready: dev.output.count("Ready") == ready, DEADLINE_SECONDS)
            wait_until(lambda: healthy(dev.health_port), DEADLINE_SECONDS)
            os.kill(dev.children()[0], signal.SIGKILL)
        wait_until(lambda: "waiting for the next change" in dev.output, DEADLINE_SECONDS)
        # No crash loop: nothing serves, and no child is started until something changes.
        time.sleep(1)
        assert dev.output.count("Ready") == QUICK_CRASHES_TOLERATED
        assert not accepts("127.0.0.1", dev.port)

        (chat / "server" / "touched.py").write_text("")

        wait_until(lambda: dev.output.count("Ready") == QUICK_CRASHES_TOLERATED + 1)
        assert healthy(dev.health_port)

    crashes = [line for line in dev.lines if "stopped unexpectedly" in line]
    assert len(crashes) == QUICK_CRASHES_TOLERATED
    assert [("restarting" in line) for line in crashes] == [True, True, False]


@pytest.mark.parametrize(
    "module",
    [
        "asyncio",  # while importing what starts the runtime's first child
        "rich",  # while importing the CLI framework, the first child started
    ],
)
def test_ctrl_c_while_importing_exits_quietly_with_130(tmp_path: Path, module: str) -> None:
    # Ctrl+C in the first moments lands while Python imports the command's modules. The run
    # below raises KeyboardInterrupt exactly there, as the signal would.
    script = (
        "import sys\n"
        "class Interrupt:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        f"        if name == {module!r}:\n"
        "            raise KeyboardInterrupt\n"
        "sys.meta_path.insert(0, Interrupt())\n"
        "from wolkenkit.cli.entry import run\n"
        f"sys.argv = ['wk', 'dev', {str(tmp_path)!r}]\n"
        "run()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=DEADLINE_SECONDS
    )

    assert (result.returncode, result.stdout, result.stderr) == (130, "", "")


def test_a_second_dev_of_the_app_on_other_ports_is_an_error_not_ready(chat: Path) -> None:
    # Both would take commands from one queue; the single-process runtime keeps its own.
    with running_dev(chat) as first:
        wait_until(lambda: "Ready" in first.output, DEADLINE_SECONDS)
        with running_dev(chat) as second:
            wait_until(lambda: second.process.poll() is not None, DEADLINE_SECONDS)
        assert healthy(first.health_port)

    assert second.process.returncode != 0
    assert "Ready" not in second.output
    assert second.output.strip().count("\n") == 0, second.output
    assert "Another runtime (a second wk dev of this app?) uses the stores" in second.output
