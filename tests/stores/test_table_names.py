"""The table-name options of the SQL backends: one shape and one set of defaults, each backend
adding only how a name is constrained. Validated without a server: only the options are read."""

from __future__ import annotations

from typing import Any

import pytest

from wolkenkit.errors import StoreOptionsInvalid
from wolkenkit.stores import table_names
from wolkenkit.stores.mariadb import options as mariadb
from wolkenkit.stores.options import OptionsModel, parse_options
from wolkenkit.stores.postgres import consumer_progress_store as postgres_progress
from wolkenkit.stores.postgres import domain_event_store as postgres_events
from wolkenkit.stores.postgres import lock_store as postgres_locks
from wolkenkit.stores.postgres import priority_queue_store as postgres_queue
from wolkenkit.stores.postgres import view_store as postgres_views
from wolkenkit.stores.sqlite import options as sqlite

CONNECTIONS: dict[str, dict[str, Any]] = {
    "sqlite": {"type": "Sqlite", "fileName": ":memory:"},
    "postgres": {"type": "Postgres", "hostName": "h", "userName": "u", "database": "d"},
    "mariadb": {"type": "MariaDb", "hostName": "h", "userName": "u", "database": "d"},
}

#: Each backend's options of each store kind, and the shared shape of its table names.
STORES: dict[str, dict[str, type[OptionsModel]]] = {
    "sqlite": {
        "domain events": sqlite.DomainEventStoreOptions,
        "locks": sqlite.LockStoreOptions,
        "progress": sqlite.ConsumerProgressStoreOptions,
        "queue": sqlite.PriorityQueueStoreOptions,
    },
    "postgres": {
        "domain events": postgres_events.DomainEventStoreOptions,
        "locks": postgres_locks.LockStoreOptions,
        "progress": postgres_progress.ConsumerProgressStoreOptions,
        "queue": postgres_queue.PriorityQueueStoreOptions,
    },
    "mariadb": {
        "domain events": mariadb.DomainEventStoreOptions,
        "locks": mariadb.LockStoreOptions,
        "progress": mariadb.ConsumerProgressStoreOptions,
        "queue": mariadb.PriorityQueueStoreOptions,
    },
}
VIEWS: dict[str, type[OptionsModel]] = {
    "sqlite": sqlite.ViewStoreOptions,
    "postgres": postgres_views.ViewStoreOptions,
    "mariadb": mariadb.ViewStoreOptions,
}

DEFAULTS = {
    "domain events": {"domainEvents": "domain-events", "snapshots": "snapshots"},
    "locks": {"locks": "locks"},
    "progress": {"progress": "progress"},
    "queue": {"items": "items", "priorityQueue": "priority-queue"},
}
SHAPES = {
    "domain events": "DomainEventTableNames",
    "locks": "LockTableNames",
    "progress": "ProgressTableNames",
    "queue": "PriorityQueueTableNames",
}

CASES = [(backend, kind) for backend in STORES for kind in DEFAULTS]


def _parse(model: type[OptionsModel], backend: str, **options: Any) -> Any:
    return parse_options(model, {**CONNECTIONS[backend], **options}, f"{backend} store")


def _problem(model: type[OptionsModel], backend: str, **options: Any) -> str:
    with pytest.raises(StoreOptionsInvalid) as raised:
        _parse(model, backend, **options)
    return raised.value.message


@pytest.mark.parametrize(("backend", "kind"), CASES)
def test_table_names_default_to_the_references(backend: str, kind: str) -> None:
    parsed = _parse(STORES[backend][kind], backend)

    assert parsed.table_names.model_dump(by_alias=True) == DEFAULTS[kind]


@pytest.mark.parametrize(("backend", "kind"), CASES)
def test_every_backend_uses_the_shared_shape(backend: str, kind: str) -> None:
    parsed = _parse(STORES[backend][kind], backend)

    assert isinstance(parsed.table_names, getattr(table_names, SHAPES[kind]))


@pytest.mark.parametrize(("backend", "kind"), CASES)
def test_given_names_are_kept(backend: str, kind: str) -> None:
    given = {key: f"my {key}" for key in DEFAULTS[kind]}

    parsed = _parse(STORES[backend][kind], backend, tableNames=given)

    assert parsed.table_names.model_dump(by_alias=True) == given


@pytest.mark.parametrize(("backend", "kind"), CASES)
def test_an_empty_or_unknown_name_is_refused_and_named(backend: str, kind: str) -> None:
    model = STORES[backend][kind]
    for key in DEFAULTS[kind]:
        problem = _problem(model, backend, tableNames={key: ""})
        assert f"tableNames.{key}: String should have at least 1 character" in problem
    problem = _problem(model, backend, tableNames={"tables": "x"})
    assert "tableNames.tables: Extra inputs are not permitted" in problem


@pytest.mark.parametrize(("backend", "kind"), [case for case in CASES if case[0] != "mariadb"])
def test_long_names_with_any_character_are_kept_where_there_is_no_limit(
    backend: str, kind: str
) -> None:
    given = {key: "a`\x00" + "x" * 200 for key in DEFAULTS[kind]}

    parsed = _parse(STORES[backend][kind], backend, tableNames=given)

    assert parsed.table_names.model_dump(by_alias=True) == given


# MariaDB's events table needs room for "-positions" after its name; other tables 64 chars.
MARIADB_LIMITS = {"domainEvents": 54, "snapshots": 64, "locks": 64, "progress": 64}
MARIADB_LIMITS |= {"items": 64, "priorityQueue": 64}


@pytest.mark.parametrize("kind", DEFAULTS)
def test_mariadb_names_have_a_length_limit(kind: str) -> None:
    model = STORES["mariadb"][kind]
    for key in DEFAULTS[kind]:
        limit = MARIADB_LIMITS[key]
        parsed = _parse(model, "mariadb", tableNames={key: "x" * limit})
        assert parsed.table_names.model_dump(by_alias=True)[key] == "x" * limit

        problem = _problem(model, "mariadb", tableNames={key: "x" * (limit + 1)})
        assert f"tableNames.{key}: String should have at most {limit} characters" in problem


@pytest.mark.parametrize("kind", DEFAULTS)
@pytest.mark.parametrize("bad", ["with`backtick", "with\x00nul"])
def test_mariadb_names_refuse_a_backtick_or_nul(kind: str, bad: str) -> None:
    for key in DEFAULTS[kind]:
        problem = _problem(STORES["mariadb"][kind], "mariadb", tableNames={key: bad})
        assert f"tableNames.{key}: String should match pattern" in problem


@pytest.mark.parametrize("backend", VIEWS)
def test_the_view_table_prefix_defaults_to_the_references(backend: str) -> None:
    assert _parse(VIEWS[backend], backend).table_prefix == "view_"


@pytest.mark.parametrize(
    ("backend", "prefix", "problem"),
    [
        ("sqlite", 7, "tablePrefix: Input should be a valid string"),
        ("postgres", "p" * 16, "tablePrefix: String should match pattern"),
        ("postgres", "a-b", "tablePrefix: String should match pattern"),
        ("mariadb", "p" * 17, "tablePrefix: String should have at most 16 characters"),
        ("mariadb", "a`b", "tablePrefix: String should match pattern"),
        ("mariadb", "a\x00b", "tablePrefix: String should match pattern"),
    ],
)
def test_a_bad_view_table_prefix_is_refused_and_named(
    backend: str, prefix: object, problem: str
) -> None:
    assert problem in _problem(VIEWS[backend], backend, tablePrefix=prefix)


@pytest.mark.parametrize(
    ("backend", "prefix"),
    [
        ("sqlite", ""),
        ("sqlite", "any `thing\x00" + "x" * 100),
        ("postgres", ""),
        ("postgres", "p" * 15),
        ("mariadb", ""),
        ("mariadb", "app-1 " + "p" * 10),
    ],
)
def test_a_good_view_table_prefix_is_kept(backend: str, prefix: str) -> None:
    assert _parse(VIEWS[backend], backend, tablePrefix=prefix).table_prefix == prefix
