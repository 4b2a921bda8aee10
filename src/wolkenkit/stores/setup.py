"""Setting up a store ahead of time: its tables, indexes or bucket (``wk setup store``).

``store_options`` turns a store kind, a type as the command line names it (``postgres``,
``file-system``, ...) and the given settings into the options ``wolkenkit.stores.factory``
takes; ``setup_store`` creates the store from them, runs its idempotent ``setup()`` and
closes it again. The runtime sets its stores up when it starts, so this is for deployments
that prefer to do it once, up front, with rights the runtime does not have. A view store's
tables are the app's (``server/tables.py``), so ``setup_store`` takes their definitions.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from wolkenkit.errors import CliError
from wolkenkit.messages import DomainEvent, ItemIdentifier
from wolkenkit.stores import factory
from wolkenkit.stores.view_store import TableDefinition

#: Store types as the command line names them → the options' ``type``.
STORE_TYPES = {
    "postgres": "Postgres",
    "mariadb": "MariaDb",
    "mysql": "MySql",
    "sqlite": "Sqlite",
    "redis": "Redis",
    "file-system": "FileSystem",
    "s3": "S3",
}
_SQL = ("postgres", "mariadb", "mysql", "sqlite")
#: The store kinds, the types each can be, and the table names each has.
STORE_KINDS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "domain-event": (_SQL, ("domainEvents", "snapshots")),
    "lock": ((*_SQL, "redis"), ("locks",)),
    "priority-queue": (_SQL, ("items", "priorityQueue")),
    "consumer-progress": (_SQL, ("progress",)),
    "file": (("file-system", "s3"), ()),
    # Its tables are named by the app (and the options' tablePrefix), not by flags.
    "view": (_SQL, ()),
}


def store_options(
    kind: str,
    store_type: str,
    settings: Mapping[str, Any],
    table_names: Mapping[str, str],
    options: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The factory's options for a ``kind`` store of ``store_type``.

    ``settings`` are camelCase option values (``hostName``, ``port``, ...; ``None`` means not
    given) and ``table_names`` the table names given (``domainEvents``, ``locks``, ...).
    ``options`` is a whole options object, which the settings override. Raises ``CliError``
    for a kind or type that does not exist or does not fit, and for table names that do not
    belong to the kind.
    """
    if kind not in STORE_KINDS:
        raise CliError(f"Store kind '{kind}' is unknown; use one of {', '.join(STORE_KINDS)}.")
    types, tables = STORE_KINDS[kind]
    if store_type not in types:
        raise CliError(
            f"A {kind} store cannot be of type '{store_type}'; use one of {', '.join(types)}."
        )
    result: dict[str, Any] = dict(options or {})
    expected = STORE_TYPES[store_type]
    if result.get("type", expected) != expected:
        raise CliError(
            f"The options say the type is '{result['type']}', but the command says "
            f"'{store_type}' ({expected})."
        )
    result["type"] = expected
    result.update({key: value for key, value in settings.items() if value is not None})
    for name in table_names:
        if name not in tables:
            raise CliError(f"A {kind} store has no table '{name}'.")
    if table_names:
        # Redis keeps its locks in a list, which the options call a list name.
        key = "listNames" if store_type == "redis" else "tableNames"
        result[key] = {**result.get(key, {}), **table_names}
    return result


async def setup_store(
    kind: str, options: Mapping[str, Any], tables: Sequence[TableDefinition] = ()
) -> None:
    """Create the store, set it up (idempotently) and close it; a view store gets ``tables``."""
    store: Any
    if kind == "view":
        view_store = await factory.create_view_store(options)
        try:
            await view_store.setup(tables)
        finally:
            await view_store.destroy()
        return
    if kind == "domain-event":
        store = await factory.create_domain_event_store(options)
    elif kind == "lock":
        store = await factory.create_lock_store(options)
    elif kind == "consumer-progress":
        store = await factory.create_consumer_progress_store(options)
    elif kind == "priority-queue":
        # Which items the queue will hold does not matter to its tables.
        store = await factory.create_priority_queue_store(options, DomainEvent, _never_matches)
    elif kind == "file":
        store = await factory.create_file_store(options)
    else:
        raise CliError(f"Store kind '{kind}' is unknown; use one of {', '.join(STORE_KINDS)}.")
    try:
        await store.setup()
    finally:
        await store.destroy()


def _never_matches(item: DomainEvent, identifier: ItemIdentifier) -> bool:
    return False
