"""The options of the MariaDB/MySQL stores: the reference's shape and table-name defaults.

``{"type": "MariaDb" | "MySql", "hostName", "port", "userName", "password", "database",
"tableNames": {...}}``. Table names may hold any character but a backtick or NUL; they are
always quoted. The domain event store keeps its position counter in a table named after its
events table, so that name must leave room for the suffix.
"""

from __future__ import annotations

from typing import Annotated, Literal, TypeAlias

from pydantic import Field

from wolkenkit.stores import table_names
from wolkenkit.stores.options import OptionsModel

#: MariaDB and MySQL refuse longer table names.
MAX_NAME_LENGTH = 64
#: The counter of global positions lives in ``<domainEvents><POSITIONS_SUFFIX>``.
POSITIONS_SUFFIX = "-positions"

_NAME_PATTERN = r"^[^`\x00]+$"
TableName = Annotated[str, Field(min_length=1, max_length=MAX_NAME_LENGTH, pattern=_NAME_PATTERN)]
EventsTableName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=MAX_NAME_LENGTH - len(POSITIONS_SUFFIX),
        pattern=_NAME_PATTERN,
    ),
]
#: View tables are named ``<tablePrefix><table>``; table names have at most 48 characters.
TablePrefix = Annotated[str, Field(max_length=MAX_NAME_LENGTH - 48, pattern=r"^[^`\x00]*$")]

DomainEventTableNames: TypeAlias = table_names.DomainEventTableNames[EventsTableName, TableName]
LockTableNames: TypeAlias = table_names.LockTableNames[TableName]
ProgressTableNames: TypeAlias = table_names.ProgressTableNames[TableName]
PriorityQueueTableNames: TypeAlias = table_names.PriorityQueueTableNames[TableName]


class MariaDbOptions(OptionsModel):
    """Where the server is and whom to log in as."""

    type: Literal["MariaDb", "MySql"]
    host_name: Annotated[str, Field(min_length=1)]
    port: Annotated[int, Field(ge=1, le=65535)] = 3306
    user_name: Annotated[str, Field(min_length=1)]
    password: str = ""
    database: Annotated[str, Field(min_length=1, max_length=MAX_NAME_LENGTH)]


class DomainEventStoreOptions(MariaDbOptions):
    table_names: DomainEventTableNames = Field(default_factory=DomainEventTableNames)


class LockStoreOptions(MariaDbOptions):
    table_names: LockTableNames = Field(default_factory=LockTableNames)


class ConsumerProgressStoreOptions(MariaDbOptions):
    table_names: ProgressTableNames = Field(default_factory=ProgressTableNames)


class PriorityQueueStoreOptions(MariaDbOptions):
    table_names: PriorityQueueTableNames = Field(default_factory=PriorityQueueTableNames)


class ViewStoreOptions(MariaDbOptions, table_names.ViewTablePrefix[TablePrefix]):
    """The connection, and ``tablePrefix`` before every view table's name."""
