"""Compose files for running an application with Docker Compose (reference §8.2).

``compose_files(store_type, runtime, image=..., build_context=...)`` returns the files by name,
as ``wk compose`` writes them:

- ``stores.<type>.yml``: the database (PostgreSQL or MariaDB); none for in-memory and SQLite.
- ``setup.<type>.yml``: a one-off ``setup`` service that creates tables (``wk setup store``)
  and sets up the app's infrastructure (``wk setup infrastructure``).
- ``single-process.<type>.yml``: the single-process runtime as one service, ``main``.
- ``microservice.<type>.yml`` (PostgreSQL and MariaDB only): one service per part of the
  microservice runtime (``wk run <service>``), Redis for publish/subscribe,
  and a Traefik gateway that routes the public paths, health-checking the services on their
  health port. Scale a worker service with ``--scale flow=3``. Only the file service mounts the
  data volume: the view tables, like every other store, live in the database.
- ``otel-collector.yaml`` (with ``otel_collector``): the configuration of an OpenTelemetry
  collector service that the runtime file then holds too, and that every service sends its
  traces to and has its metrics scraped by (see :mod:`~.compose_collector`).
- ``.env.example``: the passwords the files read from ``.env``, left empty: compose refuses
  to start until each is chosen. ``write_compose_files`` makes it cover every compose file
  in the directory, so files written for another store or runtime keep their passwords.

A runtime file goes together with the stores file: ``docker compose -f stores.postgres.yml
-f single-process.postgres.yml up -d``. The files are built as data and dumped as YAML.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

import yaml

from wolkenkit.deployment import compose_collector
from wolkenkit.deployment.compose_stores import (
    SECRET_REFERENCE,
    STORE_TYPES,
    StoreDeployment,
    redis_pub_sub_options,
    redis_service,
    store_deployment,
)
from wolkenkit.errors import CliError
from wolkenkit.runtime.services import STORES_NEEDED, Service

RUNTIMES = ("single-process", "microservice")
PORT = 3000
HEALTH_PORT = 3001
GATEWAY_IMAGE = "traefik:v3.1"

#: The microservice runtime's services, as ``wk run`` knows them, by compose host name.
MICROSERVICES = tuple(service.value for service in Service)
#: The gateway's routes: the public path prefixes and the service that answers them.
PUBLIC_ROUTES = {
    "command": "/command",
    "domain-event": "/domain-events",
    "graphql": "/graphql",
    "view": "/views",
    "notification": "/notifications",
    "file": "/files",
    "replay": "/perform-replay",
}
#: Every password the files may read from ``.env``, with what it is for.
SECRETS = {
    **{
        name: purpose
        for store_type in STORE_TYPES
        for name, purpose in store_deployment(store_type).secrets.items()
    },
    "REDIS_PASSWORD": "Redis, which the services publish and subscribe through",
}

#: The runtime's settings in every deployment (the stores' options come on top).
_RUNTIME_ENVIRONMENT = {
    "PORT_OR_SOCKET": str(PORT),
    "HEALTH_PORT_OR_SOCKET": str(HEALTH_PORT),
    "CONCURRENT_COMMANDS": "100",
    "CONCURRENT_FLOWS": "1",
    "ENABLE_OPEN_API_DOCUMENTATION": "true",
    "GRAPHQL_API": json.dumps({"enableIntegratedClient": True}, separators=(",", ":")),
    "HTTP_API": "true",
    "HEARTBEAT_INTERVAL": "90000",
    "IDENTITY_PROVIDERS": "[]",
    "LOG_LEVEL": "info",
    "SNAPSHOT_STRATEGY": json.dumps(
        {"name": "lowest", "configuration": {"revisionLimit": 100, "durationLimit": 500}},
        separators=(",", ":"),
    ),
}


def compose_files(
    store_type: str,
    runtime: str,
    *,
    image: str,
    build_context: str,
    otel_collector: bool = False,
) -> dict[str, str]:
    """The files for ``store_type`` and ``runtime`` by file name, ready to be written.

    ``image`` names the app's image and ``build_context`` is the app's directory relative to
    where the files go; ``otel_collector`` adds an OpenTelemetry collector. Raises
    ``CliError`` for an unknown store type or runtime, and for a microservice runtime without
    a database server to share.
    """
    if store_type not in STORE_TYPES:
        raise CliError(
            f"Store type '{store_type}' is unknown; use one of {', '.join(STORE_TYPES)}."
        )
    if runtime not in RUNTIMES:
        raise CliError(f"Runtime '{runtime}' is unknown; use one of {', '.join(RUNTIMES)}.")
    stores = store_deployment(store_type)
    if runtime == "microservice" and not stores.services:
        raise CliError(
            "The microservice runtime shares its state through a database server: use "
            "postgres or mariadb."
        )
    telemetry = compose_collector.ENVIRONMENT if otel_collector else {}
    extras = _extras(store_type, runtime, otel=otel_collector)
    app = _AppService(image, build_context, stores, extras=extras)
    files: dict[str, str] = {}
    run = ["docker compose"]
    if stores.services:
        files[f"stores.{store_type}.yml"] = _dump(
            "The stores.", {"services": stores.services, "volumes": _volumes(stores.volumes)}
        )
        run.append(f"-f stores.{store_type}.yml")
    files[f"setup.{store_type}.yml"] = _dump(
        f"Setup, once: {' '.join(run)} -f setup.{store_type}.yml run --rm setup",
        _setup(app, stores),
    )
    if runtime == "single-process":
        document = _single_process(
            _AppService(image, build_context, stores, telemetry, extras=extras), stores
        )
        scraped = ["main"]
    else:
        pub_sub = {"PUB_SUB_OPTIONS": redis_pub_sub_options(), **telemetry}
        document = _microservice(
            _AppService(image, build_context, stores, pub_sub, extras=extras), stores
        )
        scraped = list(MICROSERVICES)
    if otel_collector:
        document["services"][compose_collector.COLLECTOR_SERVICE] = (
            compose_collector.collector_service()
        )
        document["configs"] = compose_collector.collector_configs()
        files[compose_collector.CONFIG_FILE] = compose_collector.collector_config(
            scraped, HEALTH_PORT
        )
    name = f"{runtime}.{store_type}.yml"
    files[name] = _dump(f"Run: {' '.join(run)} -f {name} up -d", document)
    example = env_example(files.values())
    if example is not None:
        files[".env.example"] = example
    return files


def env_example(compose_files: Iterable[str]) -> str | None:
    """The ``.env.example`` of the passwords the given compose files read, each left empty;
    ``None`` when they read none."""
    referenced = {name for text in compose_files for name in SECRET_REFERENCE.findall(text)}
    if not referenced:
        return None
    lines = [
        "# The passwords the compose files in this directory read from .env. Copy this file",
        "# to .env (and keep .env out of version control), then choose every password: compose",
        "# refuses to start while one is empty. Use letters, digits, '-' and '_' only, since",
        "# they are put into JSON options.",
    ]
    # Ours in a stable order; any other (a compose file of the user's) after them.
    for name in [*(n for n in SECRETS if n in referenced), *sorted(referenced - SECRETS.keys())]:
        purpose = SECRETS.get(name)
        lines += [f"# The password of {purpose}." if purpose else f"# {name}.", f"{name}="]
    return "\n".join(lines) + "\n"


def _extras(store_type: str, runtime: str, *, otel: bool) -> str:
    """wolkenkit's extras that the app's image needs: its database's driver, Redis's for the
    microservice runtime's publish/subscribe, and the OpenTelemetry SDK for a collector."""
    extras = [store_type] if store_type in ("postgres", "mariadb") else []
    if runtime == "microservice":
        extras.append("redis")
    if otel:
        extras.append("otel")
    return ",".join(extras)


class _AppService:
    """The parts every service that runs the app's image shares."""

    def __init__(
        self,
        image: str,
        build_context: str,
        stores: StoreDeployment,
        extra_environment: dict[str, str] | None = None,
        *,
        extras: str,
    ) -> None:
        self.image = image
        self.build_context = build_context
        self.extras = extras
        self.stores = stores
        # One object for all services: the YAML names it once and refers to it after.
        self.environment = {
            **_RUNTIME_ENVIRONMENT,
            **self.stores.environment,
            **(extra_environment or {}),
        }

    def service(
        self, command: list[str], *, mounts_data: bool = True, **extra: Any
    ) -> dict[str, Any]:
        service: dict[str, Any] = {
            # The image installs the drivers of this deployment's stores (wolkenkit's extras).
            "build": {"context": self.build_context, "args": {"WOLKENKIT_EXTRAS": self.extras}},
            "image": self.image,
            "init": True,
            "restart": "always",
            "command": command,
            "environment": self.environment,
        }
        if self.stores.app_volumes and mounts_data:
            service["volumes"] = list(self.stores.app_volumes)
        service["healthcheck"] = {
            "test": ["CMD", "wk", "health", "--health-port", str(HEALTH_PORT)],
            "interval": "30s",
            "timeout": "10s",
            "retries": 3,
            "start_period": "30s",
        }
        depends_on = {name: {"condition": "service_healthy"} for name in self.stores.services}
        depends_on.update(extra.pop("depends_on", {}))
        if depends_on:
            service["depends_on"] = depends_on
        service.update(extra)
        return service


def _setup(app: _AppService, stores: StoreDeployment) -> dict[str, Any]:
    # `$$` reaches the shell as `$`: the options come from the service's own environment.
    script = " && ".join(command.replace("$", "$$") for command in stores.setup_commands())
    service = app.service(["sh", "-c", script], restart="no", healthcheck={"disable": True})
    document: dict[str, Any] = {"services": {"setup": service}}
    if stores.volumes:
        document["volumes"] = _volumes(stores.volumes)
    return document


def _single_process(app: _AppService, stores: StoreDeployment) -> dict[str, Any]:
    main = app.service(["python", "-m", "wolkenkit.runtime.server"], ports=[f"{PORT}:{PORT}"])
    document: dict[str, Any] = {"services": {"main": main}}
    if stores.volumes:
        document["volumes"] = _volumes(stores.volumes)
    return document


def _microservice(app: _AppService, stores: StoreDeployment) -> dict[str, Any]:
    services: dict[str, Any] = {}
    for name in MICROSERVICES:
        extra: dict[str, Any] = {"depends_on": {"redis": {"condition": "service_healthy"}}}
        if name in PUBLIC_ROUTES:
            extra["labels"] = _gateway_labels(name, PUBLIC_ROUTES[name])
        # Only the file service keeps anything on the data volume (the files); the others
        # share their state through the database, so they can run on any machine.
        mounts_data = "files" in STORES_NEEDED[Service(name)]
        services[name] = app.service(["wk", "run", name], mounts_data=mounts_data, **extra)
    services["redis"] = redis_service()
    services["gateway"] = _gateway()
    # Every service has the same environment: written once, referred to by each.
    return {
        "x-environment": app.environment,
        "services": services,
        "volumes": _volumes(stores.volumes),
    }


def _gateway() -> dict[str, Any]:
    return {
        "image": GATEWAY_IMAGE,
        "restart": "always",
        "command": [
            f"--entrypoints.web.address=:{PORT}",
            "--providers.docker=true",
            "--providers.docker.exposedbydefault=false",
            "--ping=true",
        ],
        "ports": [f"{PORT}:{PORT}"],
        # The docker provider finds the services (and every scaled-out instance) by labels.
        "volumes": ["/var/run/docker.sock:/var/run/docker.sock:ro"],
        "healthcheck": {
            "test": ["CMD", "traefik", "healthcheck", "--ping"],
            "interval": "10s",
            "timeout": "5s",
            "retries": 3,
            "start_period": "10s",
        },
        "depends_on": {name: {"condition": "service_started"} for name in PUBLIC_ROUTES},
    }


def _gateway_labels(service: str, prefix: str) -> dict[str, str]:
    router = f"traefik.http.routers.{service}"
    balancer = f"traefik.http.services.{service}.loadbalancer"
    return {
        "traefik.enable": "true",
        f"{router}.rule": f"PathPrefix(`{prefix}`)",
        f"{router}.entrypoints": "web",
        f"{router}.service": service,
        f"{balancer}.server.port": str(PORT),
        f"{balancer}.healthcheck.path": "/health/v2",
        f"{balancer}.healthcheck.port": str(HEALTH_PORT),
        f"{balancer}.healthcheck.interval": "10s",
    }


def _volumes(names: list[str]) -> dict[str, dict[str, Any]]:
    return {name: {} for name in names}


class _Dumper(yaml.SafeDumper):
    """Block style and keys in the order given; an object used twice (the services' shared
    environment) is written once with the anchor ``&environment`` and referred to after."""

    def generate_anchor(self, node: yaml.Node) -> str:
        self._anchors = getattr(self, "_anchors", 0) + 1
        return "environment" if self._anchors == 1 else f"environment{self._anchors}"


def _dump(comment: str, document: dict[str, Any]) -> str:
    # No line wrapping: the JSON options stay on one line each.
    body = yaml.dump(document, Dumper=_Dumper, sort_keys=False, width=10_000)
    return f"# Generated by wolkenkit. {comment}\n{body}"
