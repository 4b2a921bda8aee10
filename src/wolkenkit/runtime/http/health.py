"""The health port: ``GET /health/v2`` (reference §3.7), is this process alive, and how; and
``GET /metrics``, the runtime's metrics in the Prometheus text format."""

from __future__ import annotations

import os
import platform
import resource
import sys
import time
from collections.abc import Awaitable, Callable

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from wolkenkit.observability.metrics import CONTENT_TYPE
from wolkenkit.runtime.http.no_cache import NoCacheMiddleware

_STARTED = time.monotonic()


def _read_bytes() -> tuple[int, int]:
    """Bytes this process read and wrote (Linux), else zeros."""
    try:
        with open(f"/proc/{os.getpid()}/io") as io:
            counters = dict(line.split(": ") for line in io.read().splitlines())
        return int(counters.get("read_bytes", 0)), int(counters.get("write_bytes", 0))
    except (OSError, ValueError):
        return 0, 0


def _memory_usage(max_rss: int) -> dict[str, int]:
    """The reference's figures, read from one ``/proc/self/statm`` (Linux): ``heapTotal`` is
    what the process reserved for data (heaps, Python's arenas, stacks), ``heapUsed`` the part
    of it that is resident (anonymous memory), ``external`` the resident rest (the code of the
    interpreter and its libraries, mapped files), so ``rss = heapUsed + external``. Elsewhere
    all but ``external`` fall back to the peak resident size."""
    try:
        with open(f"/proc/{os.getpid()}/statm") as statm:
            pages = [int(field) for field in statm.read().split()]
        page_size = os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError):
        return {
            "rss": max_rss,
            "maxRss": max_rss,
            "heapTotal": max_rss,
            "heapUsed": max_rss,
            "external": 0,
        }
    _size, resident, shared, _text, _library, data = pages[:6]
    return {
        "rss": resident * page_size,
        "maxRss": max_rss,
        "heapTotal": data * page_size,
        "heapUsed": (resident - shared) * page_size,
        "external": shared * page_size,
    }


def health(request: Request) -> JSONResponse:
    # A plain function: Starlette runs it in a thread, so reading /proc never blocks the loop.
    usage = resource.getrusage(resource.RUSAGE_SELF)
    disk_read, disk_write = _read_bytes()
    return JSONResponse(
        {
            "host": {"architecture": platform.machine(), "platform": sys.platform},
            "python": {"version": platform.python_version()},
            "process": {"id": os.getpid(), "uptime": time.monotonic() - _STARTED},
            "cpuUsage": {
                "user": int(usage.ru_utime * 1_000_000),
                "system": int(usage.ru_stime * 1_000_000),
            },
            "memoryUsage": _memory_usage(usage.ru_maxrss * 1024),
            "diskUsage": {"read": disk_read, "write": disk_write},
        }
    )


#: Gives the metrics in the Prometheus text format.
MetricsExposition = Callable[[], Awaitable[bytes]]


def create_health_app(metrics: MetricsExposition | None = None) -> Starlette:
    routes = [Route("/health/v2", health, methods=["GET"])]
    if metrics is not None:

        async def metrics_endpoint(request: Request) -> Response:
            return Response(await metrics(), media_type=CONTENT_TYPE)

        routes.append(Route("/metrics", metrics_endpoint, methods=["GET"]))
    return Starlette(routes=routes, middleware=[Middleware(NoCacheMiddleware)])
