"""What a client's connection may cost before its request is in: the size of its head and the
time it takes to send it.

uvicorn's httptools protocol buffers a request head of any size (httptools has no limit) and
waits for a head or a body without end, so one client could hold megabytes per header or
thousands of stalled connections (slowloris). ``LimitedHttpToolsProtocol`` refuses a head
(request line and headers) over ``head_limit`` bytes with 431, as Node does over 16 KiB, and
closes a connection whose head is not complete ``read_timeout`` seconds after it began, or whose
body makes no progress for as long, with 408. Responses are not limited: a stream of
domain events may stay open for hours once its request is in.
"""

from __future__ import annotations

import asyncio
import json
from http import HTTPStatus
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

#: Node's default limit of a request head.
DEFAULT_HEAD_LIMIT = 16 * 1024
_HEAD_END = b"\r\n\r\n"


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's HTTP/1.1 protocol (the one it picks when httptools is installed, as
    ``uvicorn[standard]`` installs it) with the limits above; ``limited_http_protocol`` sets
    them."""

    head_limit: ClassVar[int] = DEFAULT_HEAD_LIMIT
    read_timeout: ClassVar[float] = 15.0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Bytes of the head read so far; None while a body is read. The last bytes seen are
        # kept to find a head's end that spans two reads.
        self._head_bytes: int | None = 0
        self._head_tail = b""
        self._deadline: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        super().connection_made(transport)  # type: ignore[arg-type]
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self._head_bytes is not None and not self._count_head(data):
            self._refuse(
                HTTPStatus.REQUEST_HEADER_FIELDS_TOO_LARGE,
                f"Request headers are larger than {self.head_limit} bytes.",
            )
            return
        super().data_received(data)

    def _count_head(self, data: bytes) -> bool:
        """Counts the head's bytes in ``data``; whether the head is still within the limit."""
        seen = self._head_tail + data
        end = seen.find(_HEAD_END)
        in_head = len(data) if end < 0 else end + len(_HEAD_END) - len(self._head_tail)
        self._head_bytes = (self._head_bytes or 0) + in_head
        self._head_tail = seen[-(len(_HEAD_END) - 1) :]
        return self._head_bytes <= self.head_limit

    # The parser's callbacks, in the order of a request.

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._deadline is None:  # A later request on a kept-alive connection.
            self._arm()

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        self._head_bytes = None
        self._arm()  # For the body, if any.

    def on_body(self, body: bytes) -> None:
        super().on_body(body)
        self._arm()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._disarm()
        # Bytes after this message in the same read are not counted: a pipelined head may
        # pass the limit by less than one read.
        self._head_bytes = 0
        self._head_tail = b""

    def handle_websocket_upgrade(self) -> None:
        self._disarm()  # The WebSocket protocol takes the connection over.
        super().handle_websocket_upgrade()

    # Timing out.

    def _arm(self) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(self.read_timeout, self._on_deadline)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _on_deadline(self) -> None:
        self._deadline = None
        cycle = self.cycle
        reading_body = self._head_bytes is None and cycle is not None
        if reading_body and (self.flow.read_paused or cycle.body or cycle.waiting_for_100_continue):
            # The application has not taken what came: the wait is its own, not the client's.
            self._arm()
            return
        if not reading_body and not self._head_bytes:
            self.transport.close()  # Nothing was asked: nothing to answer.
            return
        what = "body" if reading_body else "headers"
        self._refuse(
            HTTPStatus.REQUEST_TIMEOUT,
            f"Request {what} did not arrive within {self.read_timeout:g} seconds.",
        )

    def _refuse(self, status: HTTPStatus, message: str) -> None:
        """Answers ``status`` with an error body where no response is under way, and closes."""
        self._disarm()
        cycle = self.cycle
        under_way = cycle is not None and cycle.response_started and not cycle.response_complete
        after_response = cycle is not None and cycle.response_complete and self._head_bytes is None
        if not (under_way or after_response):
            self.transport.write(_error_response(status, message))
        if cycle is not None and not cycle.response_complete:
            # The application's next ``receive`` is a disconnect; it writes nothing more.
            cycle.disconnected = True
            cycle.message_event.set()
        self.transport.close()


def _error_response(status: HTTPStatus, message: str) -> bytes:
    body = json.dumps({"code": "RequestMalformed", "message": message}).encode()
    return b"".join(
        [
            f"HTTP/1.1 {status.value} {status.phrase}\r\n".encode(),
            b"content-type: application/json; charset=utf-8\r\n",
            f"content-length: {len(body)}\r\n".encode(),
            b"connection: close\r\n\r\n",
            body,
        ]
    )


def limited_http_protocol(head_limit: int, read_timeout: float) -> type[LimitedHttpToolsProtocol]:
    """The protocol class for uvicorn's ``Config(http=...)`` with these limits (bytes, seconds)."""

    class Limited(LimitedHttpToolsProtocol):
        pass

    Limited.head_limit = head_limit
    Limited.read_timeout = read_timeout
    return Limited
