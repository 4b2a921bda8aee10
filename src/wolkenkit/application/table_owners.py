"""Which flows own which view tables, and so what rebuilding a table takes.

A flow owns the tables its handler functions ask for with ``Rows[...]``: those are the tables
it builds from events, so those are the tables replaying its events rebuilds. (A handler
written as a ``FlowHandler`` class, which gets all tables through its services, owns none.)

A table that two flows own is rebuilt by replaying both, and then so are the other tables
they own, and so on: a ``RebuildGroup`` is such a closed set of flows and tables, rebuilt
together from one pass over the events and swapped in at once.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from wolkenkit.application.application import Application
from wolkenkit.application.functions import FunctionFlowHandler


@dataclass(frozen=True)
class RebuildGroup:
    """Flows and the tables they own, closed under ownership: no other flow owns one of
    the tables, and the flows own no other table. Both sorted by name."""

    flows: tuple[str, ...]
    tables: tuple[str, ...]


def tables_of_flow(application: Application, flow_name: str) -> frozenset[str]:
    """The names of the tables the flow's handler functions ask for with ``Rows[...]``."""
    by_model = {table.model: name for name, table in application.tables.items()}
    owned: set[str] = set()
    for handler in application.flows[flow_name].domain_event_handlers.values():
        if isinstance(handler, FunctionFlowHandler):
            owned.update(by_model[model] for model in handler.table_models() if model in by_model)
    return frozenset(owned)


def rebuild_groups(application: Application, flow_names: Iterable[str]) -> list[RebuildGroup]:
    """The groups that rebuilding the tables of ``flow_names`` takes, each once, in the order
    of their first flows' names; a flow that owns no table is in none."""
    owned = {name: tables_of_flow(application, name) for name in application.flows}
    groups: list[RebuildGroup] = []
    grouped: set[str] = set()
    for start in sorted(flow_names):
        if start in grouped or not owned[start]:
            continue
        flows, tables = {start}, set(owned[start])
        while True:
            more = {name for name, its in owned.items() if its & tables} - flows
            if not more:
                break
            flows |= more
            for name in more:
                tables |= owned[name]
        grouped |= flows
        groups.append(RebuildGroup(tuple(sorted(flows)), tuple(sorted(tables))))
    return groups
