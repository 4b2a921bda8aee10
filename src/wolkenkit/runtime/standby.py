"""A runtime process that imports the framework first and learns what to serve afterwards.

``wk dev`` runs the application in a child process and starts a new one on every change.
About a second of a child's start goes to importing the framework (pydantic, Starlette,
uvicorn, GraphQL), which does not depend on the application or its settings. So ``wk dev``
starts its children ahead of time: ``python -m wolkenkit.runtime.standby FD`` imports all of
that, then waits for one line on stdin, a JSON object with the environment to run with, and
from there on is ``python -m wolkenkit.runtime.server`` (the application itself is loaded
only then, so it is always the current one). Stdin closing without a line ends it quietly:
its parent no longer needs it.

Once its ports are open the child writes one byte to the pipe ``FD``. That byte, not an answer
on the health port, tells ``wk dev`` that its own child serves: another process may hold the
port. :class:`Standby` is ``wk dev``'s side of this; it is kept free of heavy imports, as the
``wk`` script starts the first child before importing anything else.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping

#: How often a serving child is checked for having ended on its own.
EXIT_POLL_SECONDS = 0.1


class Standby:
    """A runtime child started now, told what to serve later."""

    def __init__(self) -> None:
        read_end, write_end = os.pipe()
        try:
            with _ctrl_c_held():
                self.process = subprocess.Popen(
                    [sys.executable, "-m", "wolkenkit.runtime.standby", str(write_end)],
                    stdin=subprocess.PIPE,
                    pass_fds=(write_end,),
                )
        except BaseException:
            os.close(read_end)
            raise
        finally:
            # Only the child holds the write end, so the pipe ends when the child does.
            os.close(write_end)
        self._serving_pipe: int | None = read_end

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def serve(self, environment: Mapping[str, str]) -> None:
        """Tell the child what to run; it loads the application now."""
        stdin = self.process.stdin
        assert stdin is not None
        with contextlib.suppress(BrokenPipeError):
            stdin.write(json.dumps(dict(environment)).encode() + b"\n")
            stdin.close()

    async def wait_until_serving(self) -> bool:
        """Whether the child opened its ports (``False``: it ended before)."""
        pipe = self._serving_pipe
        if pipe is None:
            return False
        loop = asyncio.get_running_loop()
        readable: asyncio.Future[None] = loop.create_future()

        def on_readable() -> None:
            # Called again until the reader is removed, which happens after the await.
            if not readable.done():
                readable.set_result(None)

        loop.add_reader(pipe, on_readable)
        try:
            await readable
        finally:
            loop.remove_reader(pipe)
        # Nothing to read means the pipe ended: the child did before it served.
        return os.read(pipe, 1) != b""

    async def exit_code(self) -> int:
        """Wait until the child ends on its own and return its exit code."""
        # A Popen has nothing to await; polling it is a cheap waitpid(WNOHANG).
        while (code := self.process.poll()) is None:  # noqa: ASYNC110
            await asyncio.sleep(EXIT_POLL_SECONDS)
        return code

    async def stop(self, grace_seconds: float) -> None:
        """Stop the child gracefully (SIGTERM), or kill it after ``grace_seconds``."""
        if self.alive:
            self.process.terminate()
            try:
                await asyncio.to_thread(self.process.wait, grace_seconds)
            except subprocess.TimeoutExpired:
                self.process.kill()
                await asyncio.to_thread(self.process.wait)
        self._close_pipe()

    def discard(self) -> None:
        """Stop a child that serves nothing yet, right away."""
        # Closing its stdin would do, but only once its imports are done: stop it now.
        self.process.kill()
        self.process.wait()
        self._close_pipe()

    def _close_pipe(self) -> None:
        pipe, self._serving_pipe = self._serving_pipe, None
        if pipe is not None:
            os.close(pipe)


@contextlib.contextmanager
def _ctrl_c_held() -> Iterator[None]:
    """Hold SIGINT back from this thread while it starts a child, which inherits that: a
    Ctrl+C cannot interrupt the child's interpreter while it starts (see ``main``). A Ctrl+C
    meant for ``wk dev`` meanwhile is delivered once it is let through again."""
    held = signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGINT})
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, held)


#: The first child, when ``wk`` started it before parsing its command line.
_early: Standby | None = None


def start_early() -> None:
    """Start ``wk dev``'s first child now, so that its imports overlap the command's own."""
    global _early
    # Ctrl+C is held back until the child is recorded, so that ``discard_early`` finds it.
    with _ctrl_c_held():
        _early = Standby()


def take_early() -> Standby | None:
    global _early
    standby, _early = _early, None
    return standby


def discard_early() -> None:
    """Stop the first child if no ``wk dev`` took it (the command was interrupted)."""
    standby = take_early()
    if standby is not None:
        standby.discard()


def _import_framework() -> None:
    # What the runtime of ``wk dev`` imports in any case: the server with the HTTP API, the
    # GraphQL API and the SQLite stores of its default settings.
    import wolkenkit.runtime.graphql
    import wolkenkit.runtime.server
    import wolkenkit.stores.sqlite.domain_event_store
    import wolkenkit.stores.sqlite.priority_queue_store  # noqa: F401


def _announcer(pipe: int | None) -> Callable[[], None]:
    def announce() -> None:
        if pipe is None:
            return
        # The parent may be gone already; the server serves on regardless.
        with contextlib.suppress(OSError):
            os.write(pipe, b"1")
        with contextlib.suppress(OSError):
            os.close(pipe)

    return announce


def main() -> None:
    # Ctrl+C in ``wk dev``'s terminal reaches the whole process group, but ``wk dev`` stops
    # its children itself (SIGTERM). So a child ignores SIGINT, which drops one that came
    # while it started with SIGINT held back; the server handles SIGINT again once it serves.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT})
    serving_pipe = int(sys.argv[1]) if len(sys.argv) > 1 else None
    _import_framework()
    line = sys.stdin.readline()
    if not line.strip():
        return
    environment = json.loads(line)
    os.environ.clear()
    os.environ.update(environment)
    from wolkenkit.runtime.server import main as serve

    serve([], on_serving=_announcer(serving_pipe))


if __name__ == "__main__":
    main()
