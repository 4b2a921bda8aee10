"""Units of work: what several stores of one database do in a block commits together or not
at all.

A store that can take part names the database it writes to (``shared_database``). Stores
whose databases have the same ``key`` live in one database (one SQLite file; one PostgreSQL or
MariaDB database reached as one user), so one transaction can hold what all of them do, and
``shared_database(progress, views)`` finds it. ``async with database.transaction():`` runs a
block as that transaction: inside it, and in tasks started from it, the taking-part stores of
that database run their statements in it instead of on their own; when the block raises, all
of them are undone. Other callers never see them before the commit.

Which callers are inside is told by a context variable, so code that opens a unit of work
needs to know nothing but the block: no connection is handed through the domain layer.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Hashable, Iterator
from contextlib import AbstractAsyncContextManager, contextmanager
from contextvars import ContextVar, Token
from typing import Any, Protocol, runtime_checkable


class SharedDatabase(ABC):
    """A database that several stores may write to, which can run a block as one
    transaction of all of them."""

    #: Whether a unit opened inside another one is a savepoint of it: when the inner block
    #: raises, what it did is undone and the outer unit goes on. Otherwise the inner unit
    #: simply joins, and only the outer block's end decides.
    nested_units_undo_alone: bool = False

    @property
    @abstractmethod
    def key(self) -> Hashable:
        """Equal for the stores of one database, different for any other."""

    @property
    @abstractmethod
    def description(self) -> str:
        """The database in a few words, for logs: ``the SQLite file /app/.wolkenkit/…``."""

    @abstractmethod
    def transaction(self) -> AbstractAsyncContextManager[None]:
        """Run the block as one transaction of this database's stores: committed when the
        block ends, rolled back when it raises. A block inside another one of the same
        database joins it."""


class ServerDatabase(SharedDatabase):
    """A database on a server, known by what it takes to connect to it (``key``)."""

    def __init__(self, key: Hashable, description: str) -> None:
        self._key = key
        self._description = description

    @property
    def key(self) -> Hashable:
        return self._key

    @property
    def description(self) -> str:
        return self._description


@runtime_checkable
class TakesPartInTransactions(Protocol):
    """A store whose writes join a unit of work of its database."""

    @property
    def shared_database(self) -> SharedDatabase: ...


def shared_database(*stores: object) -> SharedDatabase | None:
    """The one database all ``stores`` write to, if each takes part in transactions and they
    share it; ``None`` otherwise (then no transaction can hold what they all do)."""
    databases = [
        store.shared_database for store in stores if isinstance(store, TakesPartInTransactions)
    ]
    if not databases or len(databases) != len(stores):
        return None
    first = databases[0]
    return first if all(database.key == first.key for database in databases) else None


#: The transactions the running code is inside, by their database's key.
_joined: ContextVar[dict[Hashable, Any] | None] = ContextVar("wolkenkit_transactions", default=None)


def joined(key: Hashable) -> Any | None:
    """The open transaction of the database ``key`` that the running code is inside (as its
    backend keeps it), or ``None``."""
    inside = _joined.get()
    return None if inside is None else inside.get(key)


#: What ``join`` gives and ``leave`` takes back.
Joining = Token[dict[Hashable, Any] | None]


def join(key: Hashable, transaction: Any) -> Joining:
    """From now on, in this context, ``joined(key)`` is ``transaction``, until ``leave``."""
    return _joined.set({**(_joined.get() or {}), key: transaction})


def leave(joining: Joining) -> None:
    """Undo the ``join`` that gave ``joining``."""
    _joined.reset(joining)


@contextmanager
def joining(key: Hashable, transaction: Any) -> Iterator[None]:
    """Within the block, ``joined(key)`` is ``transaction``."""
    token = join(key, transaction)
    try:
        yield
    finally:
        leave(token)
