"""A stand-in for the Docker Engine API on a Unix socket, for ``wk build`` tests.

No Docker engine can run where these tests run, so the tests meet ``wk build`` at the Engine
API boundary instead: this server answers the few requests the Docker SDK makes for a build
(``/version`` for version negotiation, ``/_ping``, ``POST /build``), records each build
request with its body (the build context), and answers with a build log recorded from a real
engine (the classic builder's JSON lines), or with the error it is told to give.
"""

from __future__ import annotations

import json
import socketserver
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

API_VERSION = "1.45"

#: The log of a two-step build as an engine streams it (one JSON document per line).
BUILD_LOG: list[dict[str, Any]] = [
    {"stream": "Step 1/2 : FROM python:3.11-slim"},
    {"stream": "\n"},
    {"status": "Pulling from library/python", "id": "3.11-slim"},
    {"status": "Pulling fs layer", "progressDetail": {}, "id": "a2318d6c47ec"},
    {
        "status": "Downloading",
        "progressDetail": {"current": 1048576, "total": 29126484},
        "id": "a2318d6c47ec",
    },
    {"status": "Pull complete", "progressDetail": {}, "id": "a2318d6c47ec"},
    {"stream": " ---> 1e1ae3d3b4a1\n"},
    {"stream": 'Step 2/2 : CMD ["python", "-m", "wolkenkit.runtime.server"]'},
    {"stream": "\n"},
    {"stream": " ---> Running in 5c3f0e6b7a29\n"},
    {"stream": " ---> 8f2e4b1c9d07\n"},
    {"aux": {"ID": "sha256:8f2e4b1c9d07aa5f3b6c1e2d4a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a1b"}},
    {"stream": "Successfully built 8f2e4b1c9d07\n"},
    {"stream": "Successfully tagged shop:latest\n"},
]


@dataclass
class Engine:
    """What the stand-in received, and how it answers builds."""

    socket_path: Path
    builds: list[tuple[dict[str, list[str]], bytes]] = field(default_factory=list)
    build_log: list[dict[str, Any]] = field(default_factory=lambda: list(BUILD_LOG))

    @property
    def docker_host(self) -> str:
        return f"unix://{self.socket_path}"


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        if path.endswith("/_ping"):
            self._send(200, b"OK", "text/plain")
        elif path.endswith("/version"):
            version = {"ApiVersion": API_VERSION, "Version": "27.0.0", "MinAPIVersion": "1.24"}
            self._send(200, json.dumps(version).encode(), "application/json")
        else:
            self._send(404, b'{"message":"page not found"}', "application/json")

    def do_POST(self) -> None:
        parts = urlsplit(self.path)
        if not parts.path.endswith("/build"):
            self._send(404, b'{"message":"page not found"}', "application/json")
            return
        body = self._read_body()
        engine = self.server.engine
        engine.builds.append((parse_qs(parts.query), body))
        # As an engine does: chunked, one JSON document per chunk.
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        for line in engine.build_log:
            chunk = json.dumps(line).encode() + b"\r\n"
            self.wfile.write(f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n")
        self.wfile.write(b"0\r\n\r\n")

    def _read_body(self) -> bytes:
        if self.headers.get("transfer-encoding", "").lower() == "chunked":
            chunks = []
            while size := int(self.rfile.readline().strip(), 16):
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
            self.rfile.readline()
            return b"".join(chunks)
        return self.rfile.read(int(self.headers.get("content-length", 0)))

    def _send(self, status: int, body: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True

    def __init__(self, path: str, engine: Engine) -> None:
        super().__init__(path, _Handler)
        self.engine = engine


@contextmanager
def engine_at(socket_path: Path) -> Iterator[Engine]:
    """Serve the stand-in on ``socket_path`` until the block ends."""
    engine = Engine(socket_path)
    server = _Server(str(socket_path), engine)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield engine
    finally:
        server.shutdown()
        server.server_close()
