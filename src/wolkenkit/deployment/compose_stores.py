"""The stores side of the compose files: database services, and the options that point the
app's services at them.

Each kind of store deployment (``in-memory``, ``sqlite``, ``postgres``, ``mariadb``) is one
:class:`StoreDeployment`: the services of its stores file, the environment variables of the
app's services (the runtime's ``*_OPTIONS``), the ``wk setup store`` commands of its setup
file, and the secrets it reads from ``.env``. Table names are the reference's.

The app's view tables (``VIEW_STORE_OPTIONS``) live in the same database as the other stores,
so the services that use them (flow, view, graphql) share them through it, never through a
volume that services on different machines would have to share.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from wolkenkit.deployment.dockerfile import DATA_DIRECTORY

STORE_TYPES = ("in-memory", "sqlite", "postgres", "mariadb")
DATABASE = "wolkenkit"
USER = "wolkenkit"
#: Pinned so a deployment does not change under you; raise them deliberately.
POSTGRES_IMAGE = "postgres:17-alpine"
MARIADB_IMAGE = "mariadb:11.4"
REDIS_IMAGE = "redis:7.4-alpine"

#: The runtime's variable → the `wk setup store` kind and its table names.
_STORES: dict[str, tuple[str, dict[str, str]]] = {
    "DOMAIN_EVENT_STORE_OPTIONS": (
        "domain-event",
        {"domainEvents": "domain-events", "snapshots": "snapshots"},
    ),
    "LOCK_STORE_OPTIONS": ("lock", {"locks": "locks"}),
    "CONSUMER_PROGRESS_STORE_OPTIONS": ("consumer-progress", {"progress": "progress-flow"}),
    "PRIORITY_QUEUE_STORE_FOR_COMMANDS_OPTIONS": (
        "priority-queue",
        {"items": "items-command", "priorityQueue": "priority-queue-command"},
    ),
    "PRIORITY_QUEUE_STORE_FOR_DOMAIN_EVENTS_OPTIONS": (
        "priority-queue",
        {"items": "items-domain-event", "priorityQueue": "priority-queue-domain-event"},
    ),
}
_QUEUE_EXPIRATION_MS = 30_000
_VIEW_STORE_OPTIONS = "VIEW_STORE_OPTIONS"


def secret(name: str) -> str:
    """A reference to a secret of ``.env``; compose refuses to start while it is unset or
    empty, as it is in ``.env.example``, so no deployment runs on a placeholder."""
    return f"${{{name}:?{name} is empty or not set: choose a password for it in .env}}"


#: A secret's reference as :func:`secret` writes it; group 1 is the variable.
SECRET_REFERENCE = re.compile(r"\$\{([A-Z0-9_]+):\?")


@dataclass(frozen=True)
class StoreDeployment:
    """Everything the compose files need to know about one kind of store."""

    name: str
    #: The `wk setup store` type (``postgres``, ``sqlite``, ...); ``None`` when in memory.
    setup_type: str | None
    services: dict[str, dict[str, Any]] = field(default_factory=dict)
    volumes: list[str] = field(default_factory=list)
    environment: dict[str, str] = field(default_factory=dict)
    #: Volumes the app's services mount (``name:/path``).
    app_volumes: list[str] = field(default_factory=list)
    #: The secrets of ``.env`` by name, with what each is for.
    secrets: dict[str, str] = field(default_factory=dict)

    def setup_commands(self) -> list[str]:
        """The shell commands of the setup service: every store, then the infrastructure."""
        commands = []
        if self.setup_type is not None:
            for variable, (kind, _) in _STORES.items():
                commands.append(f'wk setup store {kind} {self.setup_type} --options "${variable}"')
            commands.append('wk setup store file file-system --options "$FILE_STORE_OPTIONS"')
            # The app's tables: the command loads the app (the image's working directory).
            commands.append(
                f'wk setup store view {self.setup_type} --options "${_VIEW_STORE_OPTIONS}"'
            )
        commands.append("wk setup infrastructure")
        return commands


def _json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _healthcheck(test: list[str]) -> dict[str, Any]:
    return {"test": test, "interval": "10s", "timeout": "5s", "retries": 10, "start_period": "10s"}


def _options(base: dict[str, Any]) -> dict[str, str]:
    environment = {}
    for variable, (kind, table_names) in _STORES.items():
        options: dict[str, Any] = {**base, "tableNames": table_names}
        if kind == "priority-queue":
            options["expirationTime"] = _QUEUE_EXPIRATION_MS
        environment[variable] = _json(options)
    # The view store names its tables from the app's declarations (with a prefix of its own).
    environment[_VIEW_STORE_OPTIONS] = _json(base)
    environment["FILE_STORE_OPTIONS"] = _json(
        {"type": "FileSystem", "directory": f"{DATA_DIRECTORY}/files"}
    )
    # For whatever else the app keeps on disk; under the microservice runtime only the file
    # service mounts the volume, so the app's read models belong in its view tables.
    environment["WOLKENKIT_DATA_DIRECTORY"] = DATA_DIRECTORY
    return environment


def _in_memory() -> StoreDeployment:
    # The runtime's default, said out loud like the other deployments' view store.
    return StoreDeployment(
        "in-memory", None, environment={_VIEW_STORE_OPTIONS: _json({"type": "InMemory"})}
    )


def _sqlite() -> StoreDeployment:
    return StoreDeployment(
        "sqlite",
        "sqlite",
        environment=_options({"type": "Sqlite", "fileName": f"{DATA_DIRECTORY}/wolkenkit.db"}),
        volumes=["data"],
        app_volumes=[f"data:{DATA_DIRECTORY}"],
    )


def _postgres() -> StoreDeployment:
    password = "POSTGRES_PASSWORD"
    service = {
        "image": POSTGRES_IMAGE,
        "restart": "unless-stopped",
        "environment": {
            "POSTGRES_DB": DATABASE,
            "POSTGRES_USER": USER,
            "POSTGRES_PASSWORD": secret(password),
        },
        "volumes": ["postgres:/var/lib/postgresql/data"],
        "healthcheck": _healthcheck(["CMD-SHELL", f"pg_isready -U {USER} -d {DATABASE}"]),
    }
    return _database_server(
        "postgres",
        service,
        {"type": "Postgres", "port": 5432},
        password,
        {password: "the PostgreSQL user wolkenkit"},
    )


def _mariadb() -> StoreDeployment:
    password, root_password = "MARIADB_PASSWORD", "MARIADB_ROOT_PASSWORD"
    service = {
        "image": MARIADB_IMAGE,
        "restart": "unless-stopped",
        "environment": {
            "MARIADB_DATABASE": DATABASE,
            "MARIADB_USER": USER,
            "MARIADB_PASSWORD": secret(password),
            "MARIADB_ROOT_PASSWORD": secret(root_password),
        },
        "volumes": ["mariadb:/var/lib/mysql"],
        "healthcheck": _healthcheck(["CMD", "healthcheck.sh", "--connect", "--innodb_initialized"]),
    }
    return _database_server(
        "mariadb",
        service,
        {"type": "MariaDb", "port": 3306},
        password,
        {password: "the MariaDB user wolkenkit", root_password: "the MariaDB root user"},
    )


def _database_server(
    name: str,
    service: dict[str, Any],
    connection: dict[str, Any],
    password: str,
    secrets: dict[str, str],
) -> StoreDeployment:
    """A deployment whose stores all live in one database server, the service ``name``."""
    base = {
        "type": connection["type"],
        "hostName": name,
        "port": connection["port"],
        "userName": USER,
        "password": secret(password),
        "database": DATABASE,
    }
    return StoreDeployment(
        name,
        name,
        services={name: service},
        volumes=[name, "data"],
        environment=_options(base),
        app_volumes=[f"data:{DATA_DIRECTORY}"],
        secrets=secrets,
    )


def store_deployment(store_type: str) -> StoreDeployment:
    """The deployment of ``store_type``, one of ``STORE_TYPES``."""
    return {
        "in-memory": _in_memory,
        "sqlite": _sqlite,
        "postgres": _postgres,
        "mariadb": _mariadb,
    }[store_type]()


def redis_service() -> dict[str, Any]:
    """Redis for publish/subscribe between the microservices."""
    return {
        "image": REDIS_IMAGE,
        "restart": "unless-stopped",
        "command": [
            "redis-server",
            "--requirepass",
            secret("REDIS_PASSWORD"),
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        "environment": {"REDISCLI_AUTH": secret("REDIS_PASSWORD")},
        "healthcheck": _healthcheck(["CMD-SHELL", "redis-cli ping | grep -q PONG"]),
    }


def redis_pub_sub_options() -> str:
    redis = {
        "type": "Redis",
        "hostName": "redis",
        "port": 6379,
        "password": secret("REDIS_PASSWORD"),
    }
    return _json(
        {
            "channelForNotifications": "notification",
            "channelForNewDomainEvents": "new-domain-event",
            "channelForNewCommands": "new-command",
            "channelForNewInternalDomainEvents": "new-internal-domain-event",
            "publisher": redis,
            "subscriber": redis,
        }
    )
