"""Configuration of the single-process runtime from the reference's environment variables.

As in the reference, each variable's value is parsed as JSON when it is JSON and taken as a
string otherwise, so ``DOMAIN_EVENT_STORE_OPTIONS={"type":"Postgres",...}`` and
``PORT_OR_SOCKET=3000`` both work. Every variable is validated; a bad one stops the start with
one line naming it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from wolkenkit.domain.snapshot_strategy import DEFAULT_SNAPSHOT_STRATEGY, SnapshotStrategy
from wolkenkit.errors import ConfigurationInvalid
from wolkenkit.stores.options import StoreOptions

#: 100 MiB: room for photos, documents and short videos, while one client cannot fill a
#: disk (or, with the in-memory file store, the memory) with one request.
DEFAULT_FILE_SIZE_LIMIT = 100 * 1024 * 1024

PortOrSocket = Annotated[int, Field(ge=0, le=65535)] | str


class IdentityProvider(BaseModel):
    """An OpenID Connect issuer whose RS256 tokens are accepted.

    ``certificate`` is a directory holding ``certificate.pem``, as in the reference.
    """

    model_config = ConfigDict(extra="forbid")

    issuer: str
    certificate: Path


class GraphqlApi(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    enable_integrated_client: bool = Field(default=False, alias="enableIntegratedClient")


class PubSubOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    channel_for_notifications: str = Field(default="notification", alias="channelForNotifications")
    channel_for_new_domain_events: str = Field(
        default="new-domain-event", alias="channelForNewDomainEvents"
    )
    #: Wake-up calls between microservices: a command or a flow item was queued.
    channel_for_new_commands: str = Field(default="new-command", alias="channelForNewCommands")
    channel_for_new_flow_items: str = Field(
        default="new-internal-domain-event", alias="channelForNewInternalDomainEvents"
    )
    publisher: StoreOptions = Field(default_factory=lambda: {"type": "InMemory"})
    subscriber: StoreOptions = Field(default_factory=lambda: {"type": "InMemory"})


def _in_memory() -> dict[str, Any]:
    return {"type": "InMemory"}


def _queue() -> dict[str, Any]:
    return {"type": "InMemory", "expirationTime": 30_000}


class RuntimeSettings(BaseModel):
    """Everything the single-process runtime reads from its environment."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True, frozen=True)

    application_directory: Path = Field(default=Path("."), alias="APPLICATION_DIRECTORY")
    command_queue_renew_interval: Annotated[int, Field(ge=100)] = Field(
        default=5_000, alias="COMMAND_QUEUE_RENEW_INTERVAL"
    )
    concurrent_commands: Annotated[int, Field(ge=1)] = Field(default=1, alias="CONCURRENT_COMMANDS")
    concurrent_flows: Annotated[int, Field(ge=1)] = Field(default=1, alias="CONCURRENT_FLOWS")
    consumer_progress_store_options: StoreOptions = Field(
        default_factory=_in_memory, alias="CONSUMER_PROGRESS_STORE_OPTIONS"
    )
    cors_origin: str | list[str] = Field(default="*", alias="CORS_ORIGIN")
    domain_event_store_options: StoreOptions = Field(
        default_factory=_in_memory, alias="DOMAIN_EVENT_STORE_OPTIONS"
    )
    enable_open_api_documentation: bool = Field(
        default=False, alias="ENABLE_OPEN_API_DOCUMENTATION"
    )
    file_store_options: StoreOptions = Field(default_factory=_in_memory, alias="FILE_STORE_OPTIONS")
    graphql_api: Literal[False] | GraphqlApi = Field(default=False, alias="GRAPHQL_API")
    health_port_or_socket: PortOrSocket = Field(default=3001, alias="HEALTH_PORT_OR_SOCKET")
    heartbeat_interval: Annotated[int, Field(ge=1_000)] = Field(
        default=90_000, alias="HEARTBEAT_INTERVAL"
    )
    http_api: bool = Field(default=True, alias="HTTP_API")
    identity_providers: list[IdentityProvider] = Field(
        default_factory=list, alias="IDENTITY_PROVIDERS"
    )
    lock_store_options: StoreOptions = Field(default_factory=_in_memory, alias="LOCK_STORE_OPTIONS")
    port_or_socket: PortOrSocket = Field(default=3000, alias="PORT_OR_SOCKET")
    priority_queue_store_for_commands_options: StoreOptions = Field(
        default_factory=_queue, alias="PRIORITY_QUEUE_STORE_FOR_COMMANDS_OPTIONS"
    )
    priority_queue_store_for_domain_events_options: StoreOptions = Field(
        default_factory=_queue, alias="PRIORITY_QUEUE_STORE_FOR_DOMAIN_EVENTS_OPTIONS"
    )
    pub_sub_options: PubSubOptions = Field(default_factory=PubSubOptions, alias="PUB_SUB_OPTIONS")
    snapshot_strategy: SnapshotStrategy = Field(
        default=DEFAULT_SNAPSHOT_STRATEGY, alias="SNAPSHOT_STRATEGY"
    )
    #: Where the app's view tables live (``server/tables.py``).
    view_store_options: StoreOptions = Field(default_factory=_in_memory, alias="VIEW_STORE_OPTIONS")
    #: Bytes a JSON request body may have (the reference's body-parser limit).
    request_body_limit: Annotated[int, Field(ge=1)] = Field(
        default=100_000, alias="REQUEST_BODY_LIMIT"
    )
    #: Bytes a file added through the file API may have (ours; the reference has no limit).
    #: Uploads beyond it are refused with 413 while they stream, and nothing is stored.
    file_size_limit: Annotated[int, Field(ge=1)] = Field(
        default=DEFAULT_FILE_SIZE_LIMIT, alias="FILE_SIZE_LIMIT"
    )
    #: Bytes a request's head (request line and headers) may have; more is a 431 (Node's limit).
    request_headers_limit: Annotated[int, Field(ge=1_024)] = Field(
        default=16_384, alias="REQUEST_HEADERS_LIMIT"
    )
    #: Milliseconds a client has to send a request's head, and to send each part of its body,
    #: before the connection is closed (408); responses such as streams are not limited.
    request_read_timeout: Annotated[int, Field(ge=10)] = Field(
        default=15_000, alias="REQUEST_READ_TIMEOUT"
    )
    #: The address the ports are bound to (ours; the reference binds every interface).
    bind_host: str = Field(default="0.0.0.0", alias="BIND_HOST")
    log_level: Literal["debug", "info", "warning", "error"] = Field(
        default="info", alias="LOG_LEVEL"
    )
    #: How log records are written to stderr (ours): a JSON object per line for log
    #: collectors, or readable lines (``wk dev`` chooses those).
    log_format: Literal["json", "readable"] = Field(default="json", alias="LOG_FORMAT")

    @field_validator("cors_origin")
    @classmethod
    def _check_cors_origin(cls, value: str | list[str]) -> str | list[str]:
        if isinstance(value, str) and value != "*":
            raise ValueError("must be '*' or a list of origins (entries '/…/' are patterns)")
        return value

    @classmethod
    def from_environment(cls, environment: Mapping[str, str]) -> RuntimeSettings:
        """Read and validate the variables; raises ``ConfigurationInvalid`` naming the first
        one that is wrong."""
        values: dict[str, Any] = {}
        for field in cls.model_fields.values():
            name = field.alias
            if name is not None and name in environment:
                values[name] = _parse(environment[name])
        try:
            return cls.model_validate(values)
        except ValidationError as error:
            detail = error.errors()[0]
            variable = detail["loc"][0] if detail["loc"] else "?"
            raise ConfigurationInvalid(
                f"The environment variable {variable} is invalid: {detail['msg']}."
            ) from None


def _parse(value: str) -> Any:
    """JSON if it is JSON, the string otherwise (the reference's ``processenv``)."""
    try:
        return json.loads(value)
    except ValueError:
        return value
