"""A runtime process that imports the framework first and learns what to serve afterwards.

``wk dev`` runs the application in a child process and starts a new one on every change.
About a second of a child's start goes to importing the framework (pydantic, Starlette,
uvicorn, GraphQL), which does not depend on the application or its settings. So ``wk dev``
starts its children ahead of time: ``python -m wolkenkit.runtime.standby`` imports all of
that, then waits for one line on stdin, a JSON object with the environment to run with, and
from there on is ``python -m wolkenkit.runtime.server`` (the application itself is loaded
only then, so it is always the current one). Stdin closing without a line ends it quietly:
its parent no longer needs it.
"""

from __future__ import annotations

import json
import os
import sys


def _import_framework() -> None:
    # What the runtime of ``wk dev`` imports in any case: the server with the HTTP API, the
    # GraphQL API and the SQLite stores of its default settings.
    import wolkenkit.runtime.graphql
    import wolkenkit.runtime.server
    import wolkenkit.stores.sqlite.domain_event_store
    import wolkenkit.stores.sqlite.priority_queue_store  # noqa: F401


def main() -> None:
    try:
        _import_framework()
        line = sys.stdin.readline()
    except KeyboardInterrupt:
        # Ctrl+C in ``wk dev``'s terminal reaches the whole process group; the parent
        # stops, and so does a child that was only waiting.
        return
    if not line.strip():
        return
    environment = json.loads(line)
    os.environ.clear()
    os.environ.update(environment)
    from wolkenkit.runtime.server import main as serve

    serve([])


if __name__ == "__main__":
    main()
