"""The options of the SQLite stores: the reference's shape, with ``fileName`` for the file.

``{"type": "Sqlite", "fileName": "app.db", "tableNames": {...}}``; ``fileName`` may be
``":memory:"``, one in-memory database per process. Table names default to the reference's.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from wolkenkit.stores.options import OptionsModel

TableName = Annotated[str, Field(min_length=1)]


class SqliteOptions(OptionsModel):
    type: Literal["Sqlite"]
    file_name: Annotated[str, Field(min_length=1)]


class DomainEventTableNames(OptionsModel):
    domain_events: TableName = "domain-events"
    snapshots: TableName = "snapshots"


class DomainEventStoreOptions(SqliteOptions):
    table_names: DomainEventTableNames = DomainEventTableNames()


class LockTableNames(OptionsModel):
    locks: TableName = "locks"


class LockStoreOptions(SqliteOptions):
    table_names: LockTableNames = LockTableNames()


class ProgressTableNames(OptionsModel):
    progress: TableName = "progress"


class ConsumerProgressStoreOptions(SqliteOptions):
    table_names: ProgressTableNames = ProgressTableNames()


class PriorityQueueTableNames(OptionsModel):
    items: TableName = "items"
    priority_queue: TableName = "priority-queue"


class PriorityQueueStoreOptions(SqliteOptions):
    table_names: PriorityQueueTableNames = PriorityQueueTableNames()


class ViewStoreOptions(SqliteOptions):
    #: Each view table is stored as the table named by this and its declared name.
    table_prefix: str = "view_"
