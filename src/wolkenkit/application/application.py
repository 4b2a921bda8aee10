"""A loaded, validated application: what the loader returns and everything else consumes."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from wolkenkit.application.definitions import Aggregate, Flow, NotificationHandler, View
from wolkenkit.application.services import HookServices, Infrastructure, InfrastructureServices
from wolkenkit.application.tables import Table
from wolkenkit.files import FileAddMetadata, FileMetadata

GetInfrastructure = Callable[[InfrastructureServices], Awaitable[Infrastructure[Any, Any]]]
SetupInfrastructure = Callable[[InfrastructureServices], Awaitable[None]]

#: ``adding_file`` may return changes to the name and content type; the others return nothing.
AddingFileHook = Callable[[FileAddMetadata, HookServices], Any]
FileHook = Callable[[FileMetadata, HookServices], Any]


async def _empty_infrastructure(services: InfrastructureServices) -> Infrastructure[Any, Any]:
    return Infrastructure(ask={}, tell={})


async def _no_setup(services: InfrastructureServices) -> None:
    return None


@dataclass(frozen=True)
class InfrastructureDefinition:
    """The app's ``server/infrastructure.py``; both functions are optional."""

    get_infrastructure: GetInfrastructure = _empty_infrastructure
    setup_infrastructure: SetupInfrastructure = _no_setup


@dataclass(frozen=True)
class Hooks:
    """The app's file hooks from ``server/hooks.py``; each is optional (sync or async)."""

    adding_file: AddingFileHook | None = None
    added_file: FileHook | None = None
    getting_file: FileHook | None = None
    got_file: FileHook | None = None
    removing_file: FileHook | None = None
    removed_file: FileHook | None = None


@dataclass(frozen=True)
class Application:
    """Everything the loader found under ``<root_directory>/server``.

    ``domain`` maps context name to aggregate name to the aggregate, whose domain-event
    handlers already include the system events ``<command>Rejected`` and ``<command>Failed``.
    """

    root_directory: Path
    domain: dict[str, dict[str, Aggregate[Any]]]
    flows: dict[str, Flow] = field(default_factory=dict)
    views: dict[str, View] = field(default_factory=dict)
    notifications: dict[str, NotificationHandler[Any, Any]] = field(default_factory=dict)
    hooks: Hooks = field(default_factory=Hooks)
    infrastructure: InfrastructureDefinition = field(default_factory=InfrastructureDefinition)
    #: The view tables of ``server/tables.py`` by name; at most one per model.
    tables: dict[str, Table[Any]] = field(default_factory=dict)

    @property
    def name(self) -> str:
        return self.root_directory.name
