"""Loading an application directory into an :class:`Application`.

An app looks like this; only ``server/domain`` is required::

    <app>/server/domain/<context>/<aggregate>.py    (or a package)  defines ``aggregate``
    <app>/server/flows/<flow>.py                     (or a package)  defines ``flow``
    <app>/server/views/<view>.py                     (or a package)  defines ``view``
    <app>/server/notifications.py                    (or a package)  defines ``notifications``
    <app>/server/infrastructure.py                   (or a package)  may define
                                            ``get_infrastructure``, ``setup_infrastructure``
    <app>/server/hooks.py                            (or a package)  may define the file hooks
    <app>/server/tables.py                           (or a package)  may define view tables:
                                            module-level ``Table``s, named by their attribute

Names starting with ``_`` or ``.`` and files other than ``.py`` are skipped, so helpers can
live beside the definitions as ``_helpers.py``. Loading imports the modules and checks them; it
runs none of the app's functions (``get_infrastructure`` is the runtime's business).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any, TypeVar

from wolkenkit.application import validation
from wolkenkit.application.application import Application, Hooks, InfrastructureDefinition
from wolkenkit.application.definitions import Aggregate
from wolkenkit.application.importing import PACKAGE, AppModules, app_modules
from wolkenkit.application.subscriptions import resolve_subscriptions
from wolkenkit.application.system_events import with_system_domain_events
from wolkenkit.errors import ApplicationNotFound, DirectoryNotFound, FileNotFound, NameInvalid

DefinitionT = TypeVar("DefinitionT")


def load_application(directory: str | os.PathLike[str]) -> Application:
    """Import and check the app in ``directory``; raises an ``ApplicationError`` naming the file.

    Every call imports the app afresh, so a changed file is seen by the next load.
    """
    root = Path(directory).absolute()
    if not root.is_dir():
        raise ApplicationNotFound(f"Application directory '{directory}' not found.")
    server = root / PACKAGE
    for required in (server, server / "domain"):
        if not required.is_dir():
            raise DirectoryNotFound(f"Directory '{required}' not found.")

    with app_modules(root) as modules:
        application = Application(
            root_directory=root,
            domain=_load_domain(modules, server / "domain"),
            flows=_load_each(modules, server / "flows", "flow", validation.validate_flow),
            views=_load_each(modules, server / "views", "view", validation.validate_view),
            notifications=_load_optional(
                modules, server, "notifications", validation.validate_notifications
            )
            or {},
            hooks=_load_optional(modules, server, "hooks", validation.validate_hooks) or Hooks(),
            infrastructure=_load_optional(
                modules, server, "infrastructure", validation.validate_infrastructure
            )
            or InfrastructureDefinition(),
            tables=_load_optional(modules, server, "tables", validation.validate_tables) or {},
        )
    resolve_subscriptions(application)
    return application


def _load_domain(modules: AppModules, directory: Path) -> dict[str, dict[str, Aggregate[Any]]]:
    domain: dict[str, dict[str, Aggregate[Any]]] = {}
    for context_name, context_directory in _entries(modules, directory, "context").items():
        aggregates: dict[str, Aggregate[Any]] = {}
        for aggregate_name, path in _entries(modules, context_directory, "aggregate").items():
            module, file = _load(modules, path, "aggregate")
            aggregate = validation.validate_aggregate(module, file)
            aggregates[aggregate_name] = with_system_domain_events(aggregate, file)
        domain[context_name] = aggregates
    return domain


def _load_each(
    modules: AppModules,
    directory: Path,
    kind: str,
    validate: Callable[[ModuleType, str], DefinitionT],
) -> dict[str, DefinitionT]:
    """Every ``<name>.py`` or ``<name>/`` package in ``directory``, which may be absent."""
    if not directory.is_dir():
        return {}
    definitions: dict[str, DefinitionT] = {}
    for name, path in _entries(modules, directory, kind).items():
        module, file = _load(modules, path, kind)
        definitions[name] = validate(module, file)
    return definitions


def _load_optional(
    modules: AppModules,
    server: Path,
    name: str,
    validate: Callable[[ModuleType, str], DefinitionT],
) -> DefinitionT | None:
    """``server/<name>.py`` or the package ``server/<name>/``, if there is either."""
    candidates = _entries(modules, server, name, only=name)
    if name not in candidates:
        return None
    module, file = _load(modules, candidates[name], name)
    return validate(module, file)


def _entries(
    modules: AppModules, directory: Path, kind: str, only: str | None = None
) -> dict[str, Path]:
    """The definitions in ``directory`` by name: ``<name>.py`` files and ``<name>/`` packages.

    Contexts are directories only. ``only`` restricts the entries to one name.
    """
    entries: dict[str, Path] = {}
    for path in sorted(directory.iterdir()):
        if path.name.startswith(("_", ".")):
            continue
        if path.is_dir():
            name = path.name
        elif kind != "context" and path.is_file() and path.suffix == ".py":
            name = path.stem
        else:
            continue
        if only is not None and name != only:
            continue
        if only is None:
            validation.check_name(name, kind, modules.display(path))
        if name in entries:
            first, second = _label(entries[name]), _label(path)
            raise NameInvalid(
                f"{kind.capitalize()} name '{name}' is used twice in "
                f"'{modules.display(directory)}': by '{first}' and '{second}'."
            )
        entries[name] = path
    return entries


def _label(path: Path) -> str:
    return f"{path.name}/" if path.is_dir() else path.name


def _load(modules: AppModules, path: Path, kind: str) -> tuple[ModuleType, str]:
    """Import the module at ``path`` (a file or a package); returns it and its display name."""
    if path.is_dir():
        file = path / "__init__.py"
        if not file.is_file():
            raise FileNotFound(
                f"No {kind} definition in '{modules.display(path)}/' found: "
                "'__init__.py' is missing."
            )
    else:
        file = path
    dotted = ".".join(path.relative_to(modules.root / PACKAGE).with_suffix("").parts)
    module = modules.load(dotted, file)
    return module, modules.display(file)
