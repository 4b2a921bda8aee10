"""Serving the single-process runtime with uvicorn: the API port and the health port.

``serving()`` starts everything and yields the bound ports (port 0 picks a free one, which
tests use); leaving it shuts down gracefully: the servers stop taking requests, open streams
are closed, the workers finish the items they hold, and the stores are closed.
``main()`` is the process entry point (``python -m wolkenkit.runtime.server [SERVICE ...]``,
or ``wk run``), configured by the reference's environment variables.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
import tomllib
from collections.abc import AsyncIterator, Callable, Generator
from dataclasses import dataclass
from pathlib import Path

import uvicorn
from opentelemetry import trace
from opentelemetry.trace import Tracer
from starlette.types import ASGIApp

from wolkenkit.application.application import Application
from wolkenkit.application.loader import load_application
from wolkenkit.errors import WolkenkitError
from wolkenkit.observability.logs import configure_logging
from wolkenkit.observability.tracing import TRACER_NAME, tracer_provider_from_environment
from wolkenkit.runtime.composition import Runtime
from wolkenkit.runtime.gc_tuning import tune_garbage_collector
from wolkenkit.runtime.http.app import create_http_app
from wolkenkit.runtime.http.health import create_health_app
from wolkenkit.runtime.http_connections import limited_http_protocol
from wolkenkit.runtime.services import ALL_SERVICES, HTTP_SERVICES, Service, parse_services
from wolkenkit.runtime.settings import PortOrSocket, RuntimeSettings

logger = logging.getLogger("wolkenkit.runtime")

#: Seconds open requests (streams, mostly) get to finish when the server stops.
GRACEFUL_SHUTDOWN_SECONDS = 1.0


class _Server(uvicorn.Server):
    """A uvicorn server that leaves signal handling to the runtime, which runs two of them."""

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def _server(app: ASGIApp, port_or_socket: PortOrSocket, settings: RuntimeSettings) -> _Server:
    location: dict[str, object] = (
        {"host": settings.bind_host} if isinstance(port_or_socket, int) else {"uds": port_or_socket}
    )
    log_level = settings.log_level
    config = uvicorn.Config(
        app,
        port=port_or_socket if isinstance(port_or_socket, int) else 0,
        lifespan="off",
        # Its records go to the process's handlers, in the format the runtime chose.
        log_config=None,
        log_level="warning" if log_level == "info" else log_level,
        access_log=False,
        timeout_graceful_shutdown=int(GRACEFUL_SHUTDOWN_SECONDS) or 1,
        http=limited_http_protocol(
            settings.request_headers_limit, settings.request_read_timeout / 1000
        ),
        # A WebSocket message (GraphQL's) is a request too: it gets a body's limit.
        ws_max_size=settings.request_body_limit,
        **location,  # type: ignore[arg-type]
    )
    return _Server(config)


def _bound_port(server: uvicorn.Server) -> int:
    for listener in server.servers:
        for socket_ in listener.sockets:
            name = socket_.getsockname()
            if isinstance(name, tuple):
                return int(name[1])
    return 0


@dataclass(frozen=True)
class Serving:
    runtime: Runtime
    port: int
    health_port: int


@contextlib.asynccontextmanager
async def serving(
    settings: RuntimeSettings,
    application: Application | None = None,
    services: frozenset[Service] = ALL_SERVICES,
    before_listening: Callable[[], None] | None = None,
    tracer: Tracer | None = None,
) -> AsyncIterator[Serving]:
    """Run the given services (all of them: the single-process runtime) until left.

    Services without an HTTP API (the workers) serve only the health port; ``port`` is then 0.
    ``before_listening`` runs once everything is set up, just before the ports open. With a
    ``tracer``, the runtime's work is traced.
    """
    if application is None:
        application = load_application(settings.application_directory)
    runtime = await Runtime.create(settings, application, services, tracer)
    servers: list[_Server] = []
    tasks: list[asyncio.Task[None]] = []
    # From here on, whatever fails (the workers, the GraphQL schema, the hook) stops all that
    # was started so far and closes the stores.
    try:
        await runtime.start()
        if services & HTTP_SERVICES:
            servers.append(_server(create_http_app(runtime), settings.port_or_socket, settings))
        health = _server(
            create_health_app(runtime.metrics_exposition), settings.health_port_or_socket, settings
        )
        servers.append(health)
        if before_listening is not None:
            before_listening()
        tasks = [asyncio.create_task(server.serve()) for server in servers]
        while not all(server.started for server in servers):
            if any(task.done() for task in tasks):
                for task in tasks:
                    if task.done() and task.exception() is not None:
                        raise task.exception()  # type: ignore[misc]
                raise WolkenkitError("The HTTP servers could not start.")
            await asyncio.sleep(0.01)
        api_port = _bound_port(servers[0]) if len(servers) == 2 else 0
        yield Serving(runtime, api_port, _bound_port(health))
    finally:
        for server in servers:
            server.should_exit = True
        await asyncio.gather(*tasks, return_exceptions=True)
        await runtime.stop()


async def run(
    settings: RuntimeSettings,
    services: frozenset[Service] = ALL_SERVICES,
    on_serving: Callable[[], None] | None = None,
) -> None:
    """Serve until SIGINT or SIGTERM; ``on_serving`` runs once the ports are open."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stop.set)
    application = load_application(settings.application_directory)
    provider = tracer_provider_from_environment(
        os.environ, _service_name(settings.application_directory, application.name, services)
    )
    tracer = None
    if provider is not None:
        # Global too, so that spans the app's own code starts join the runtime's traces.
        trace.set_tracer_provider(provider)
        tracer = provider.get_tracer(TRACER_NAME)
    try:
        await _serve(settings, application, services, tracer, on_serving, stop)
    finally:
        if provider is not None:
            # Sends the spans still waiting in the batch.
            await asyncio.to_thread(provider.shutdown)


def _service_name(directory: Path, application_name: str, services: frozenset[Service]) -> str:
    """The service name traces carry unless ``OTEL_SERVICE_NAME`` says otherwise: the app's
    name (its project's, as in its image, where its directory is ``/app``), and in the
    microservice runtime the services this process runs."""
    name = application_name
    with contextlib.suppress(OSError, tomllib.TOMLDecodeError):
        project = tomllib.loads((directory / "pyproject.toml").read_text()).get("project", {})
        name = str(project.get("name") or name)
    if services == ALL_SERVICES:
        return name
    return f"{name}-{'+'.join(sorted(services))}"


async def _serve(
    settings: RuntimeSettings,
    application: Application,
    services: frozenset[Service],
    tracer: Tracer | None,
    on_serving: Callable[[], None] | None,
    stop: asyncio.Event,
) -> None:
    # The garbage collector is tuned before the ports open, so that its one full collection
    # of what start-up made never holds up the first requests.
    async with serving(
        settings,
        application,
        services=services,
        before_listening=tune_garbage_collector,
        tracer=tracer,
    ) as running:
        name = running.runtime.application.name
        what = (
            f"'{name}'"
            if services == ALL_SERVICES
            else f"the {', '.join(sorted(services))} service{'s' if len(services) > 1 else ''} "
            f"of '{name}'"
        )
        ports = f"port {running.port} (health on port {running.health_port})"
        if not running.port:
            ports = f"health port {running.health_port}"
        print(f"wolkenkit is serving {what} on {ports}.", flush=True)
        if on_serving is not None:
            on_serving()
        await stop.wait()


def _loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop when it is installed (it comes with ``uvicorn[standard]``): it is faster."""
    try:
        import uvloop
    except ImportError:
        return None
    factory: Callable[[], asyncio.AbstractEventLoop] = uvloop.new_event_loop
    return factory


def main(
    service_names: list[str] | None = None, on_serving: Callable[[], None] | None = None
) -> None:
    """Run the services named (or, without names, all of them in one process).

    ``on_serving`` runs once the ports are open (``wk dev``'s child tells its parent so).
    """
    names = sys.argv[1:] if service_names is None else service_names
    try:
        services = parse_services(names) if names else ALL_SERVICES
    except ValueError as error:
        print(f"Error: {error}", file=sys.stderr)
        sys.exit(1)
    try:
        settings = RuntimeSettings.from_environment(os.environ)
        configure_logging(settings.log_level, settings.log_format)
        with asyncio.Runner(loop_factory=_loop_factory()) as runner:
            runner.run(run(settings, services, on_serving))
    except WolkenkitError as error:
        print(f"Error: {error.message}", file=sys.stderr)
        sys.exit(1)


if __name__ == "__main__":
    main()
