"""The table names the SQL stores take as options: one shape per store kind, with the
reference's defaults.

The backends differ only in what makes a name valid, so each shape is generic in the type of
its names and a backend parametrises it with its own, an ``Annotated[str, Field(...)]``:
``LockTableNames[NonEmptyName]`` refuses ``{"locks": ""}`` with
``tableNames.locks: String should have at least 1 character``. A view store names its tables
after the app's, behind ``tablePrefix`` (:class:`ViewTablePrefix`).
"""

from __future__ import annotations

from typing import Annotated, Any, Generic, TypeVar

from pydantic import Field

from wolkenkit.stores.options import OptionsModel

#: A name where the backend quotes any name but an empty one (SQLite, PostgreSQL).
NonEmptyName = Annotated[str, Field(min_length=1)]

NameT = TypeVar("NameT", bound=str)
#: The domain events table's name, which a backend may constrain more than the others.
EventsNameT = TypeVar("EventsNameT", bound=str)
PrefixT = TypeVar("PrefixT", bound=str)


def _default(name: str) -> Any:
    """A field defaulting to ``name``; typed loosely because mypy does not let a ``str``
    default a type variable, although every backend's name type is a ``str``."""
    return Field(default=name)


class DomainEventTableNames(OptionsModel, Generic[EventsNameT, NameT]):
    domain_events: EventsNameT = _default("domain-events")
    snapshots: NameT = _default("snapshots")


class LockTableNames(OptionsModel, Generic[NameT]):
    locks: NameT = _default("locks")


class ProgressTableNames(OptionsModel, Generic[NameT]):
    progress: NameT = _default("progress")


class PriorityQueueTableNames(OptionsModel, Generic[NameT]):
    items: NameT = _default("items")
    priority_queue: NameT = _default("priority-queue")


class ViewTablePrefix(OptionsModel, Generic[PrefixT]):
    """Mixed into a view store's options: its tables are named ``<tablePrefix><table>``."""

    table_prefix: PrefixT = _default("view_")
