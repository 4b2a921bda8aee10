"""The options of the SQLite stores: the reference's shape, with ``fileName`` for the file.

``{"type": "Sqlite", "fileName": "app.db", "tableNames": {...}}``; ``fileName`` may be
``":memory:"``, one in-memory database per process. Table names default to the reference's.
"""

from __future__ import annotations

from typing import Annotated, Literal, TypeAlias

from pydantic import Field

from wolkenkit.stores import table_names
from wolkenkit.stores.options import OptionsModel
from wolkenkit.stores.table_names import NonEmptyName

DomainEventTableNames: TypeAlias = table_names.DomainEventTableNames[NonEmptyName, NonEmptyName]
LockTableNames: TypeAlias = table_names.LockTableNames[NonEmptyName]
ProgressTableNames: TypeAlias = table_names.ProgressTableNames[NonEmptyName]
PriorityQueueTableNames: TypeAlias = table_names.PriorityQueueTableNames[NonEmptyName]


class SqliteOptions(OptionsModel):
    type: Literal["Sqlite"]
    file_name: Annotated[str, Field(min_length=1)]


class DomainEventStoreOptions(SqliteOptions):
    table_names: DomainEventTableNames = Field(default_factory=DomainEventTableNames)


class LockStoreOptions(SqliteOptions):
    table_names: LockTableNames = Field(default_factory=LockTableNames)


class ConsumerProgressStoreOptions(SqliteOptions):
    table_names: ProgressTableNames = Field(default_factory=ProgressTableNames)


class PriorityQueueStoreOptions(SqliteOptions):
    table_names: PriorityQueueTableNames = Field(default_factory=PriorityQueueTableNames)


class ViewStoreOptions(SqliteOptions, table_names.ViewTablePrefix[str]):
    """Any prefix: SQLite quotes every name and does not limit its length."""
