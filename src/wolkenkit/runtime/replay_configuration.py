"""The replay configuration of ``wk replay`` (reference §9.3), and what it selects.

A configuration is JSON::

    {"flows": ["messages"],
     "contexts": [{"contextName": "communication",
                   "aggregates": [{"aggregateName": "message",
                                   "instances": [{"aggregateId": "<uuid>", "from": 1, "to": 5}]}]}]}

Everything is optional: no ``flows`` means every flow, no ``contexts`` every aggregate in the
store, no ``aggregates`` every aggregate of the context, no ``instances`` every instance.
``parse_replay_configuration`` checks the shape and the names against the application and
raises ``ReplayConfigurationInvalid`` with one readable line; ``select_aggregates`` resolves
the selection against the domain event store.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Annotated, Any
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from wolkenkit.application.application import Application
from wolkenkit.errors import ReplayConfigurationInvalid
from wolkenkit.messages import AggregateIdentifier
from wolkenkit.stores.domain_event_store import DomainEventStore


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True, frozen=True)


class InstanceSelection(_Model):
    aggregate_id: UUID = Field(alias="aggregateId")
    from_revision: Annotated[int, Field(ge=1)] | None = Field(default=None, alias="from")
    to_revision: Annotated[int, Field(ge=1)] | None = Field(default=None, alias="to")


class AggregateSelection(_Model):
    aggregate_name: str = Field(alias="aggregateName")
    instances: list[InstanceSelection] | None = None


class ContextSelection(_Model):
    context_name: str = Field(alias="contextName")
    aggregates: list[AggregateSelection] | None = None


class ReplayConfiguration(_Model):
    flows: list[str] | None = None
    contexts: list[ContextSelection] | None = None


@dataclass(frozen=True, slots=True)
class SelectedAggregate:
    """An aggregate to replay, with its revisions ``from_revision`` to ``to_revision``."""

    aggregate_identifier: AggregateIdentifier
    from_revision: int
    to_revision: int


def parse_replay_configuration(
    configuration: str | dict[str, Any], application: Application
) -> ReplayConfiguration:
    """The checked configuration; ``ReplayConfigurationInvalid`` says what is wrong."""
    if isinstance(configuration, str):
        try:
            configuration = json.loads(configuration)
        except ValueError as error:
            raise _invalid(f"it is not JSON ({error})") from None
    try:
        parsed = ReplayConfiguration.model_validate(configuration)
    except ValidationError as error:
        problem = error.errors()[0]
        where = ".".join(str(part) for part in problem["loc"])
        raise _invalid(f"{where + ': ' if where else ''}{problem['msg']}") from None
    _check_names(parsed, application)
    return parsed


def _check_names(configuration: ReplayConfiguration, application: Application) -> None:
    flows = configuration.flows or []
    _unique(flows, "flow")
    for flow in flows:
        if flow not in application.flows:
            raise _invalid(f"flow '{flow}' not found (flows: {_names(application.flows)})")
    contexts = configuration.contexts or []
    _unique((context.context_name for context in contexts), "context")
    for context in contexts:
        aggregates = application.domain.get(context.context_name)
        if aggregates is None:
            raise _invalid(
                f"context '{context.context_name}' not found "
                f"(contexts: {_names(application.domain)})"
            )
        selections = context.aggregates or []
        _unique((selection.aggregate_name for selection in selections), "aggregate")
        for selection in selections:
            name = f"{context.context_name}.{selection.aggregate_name}"
            if selection.aggregate_name not in aggregates:
                raise _invalid(f"aggregate '{name}' not found (aggregates: {_names(aggregates)})")
            instances = selection.instances or []
            _unique((str(instance.aggregate_id) for instance in instances), f"{name} instance")
            for instance in instances:
                start, end = instance.from_revision, instance.to_revision
                if start is not None and end is not None and start > end:
                    raise _invalid(
                        f"instance {instance.aggregate_id} of '{name}' has from ({start}) "
                        f"greater than to ({end})"
                    )


async def select_aggregates(
    configuration: ReplayConfiguration, application: Application, store: DomainEventStore
) -> list[SelectedAggregate]:
    """The selected aggregates that have events, each with its revision range. ``from``
    defaults to 1 and ``to`` to the last stored revision (a larger ``to`` is cut back to it).
    Aggregates in the store that the application no longer has are left out."""
    candidates: list[tuple[AggregateIdentifier, int | None, int | None]] = []
    if configuration.contexts is None:
        async for identifier in store.get_aggregate_identifiers():
            if identifier.aggregate.name in application.domain.get(identifier.context.name, {}):
                candidates.append((identifier, None, None))
    for context in configuration.contexts or []:
        selections = context.aggregates or [
            AggregateSelection(aggregate_name=name)
            for name in application.domain[context.context_name]
        ]
        for selection in selections:
            if selection.instances is None:
                async for identifier in store.get_aggregate_identifiers_by_name(
                    context.context_name, selection.aggregate_name
                ):
                    candidates.append((identifier, None, None))
                continue
            for instance in selection.instances:
                identifier = AggregateIdentifier.of(
                    context.context_name, selection.aggregate_name, str(instance.aggregate_id)
                )
                candidates.append((identifier, instance.from_revision, instance.to_revision))
    selected = []
    for identifier, start, end in candidates:
        last = await store.get_last_domain_event(identifier)
        if last is None:
            continue
        to_revision = min(end or last.metadata.revision, last.metadata.revision)
        from_revision = start or 1
        if from_revision <= to_revision:
            selected.append(SelectedAggregate(identifier, from_revision, to_revision))
    return selected


def _unique(names: Iterable[str], what: str) -> None:
    duplicates = [name for name, count in Counter(names).items() if count > 1]
    if duplicates:
        raise _invalid(f"{what} '{duplicates[0]}' is named twice")


def _names(mapping: Iterable[str]) -> str:
    return ", ".join(sorted(mapping)) or "none"


def _invalid(problem: str) -> ReplayConfigurationInvalid:
    return ReplayConfigurationInvalid(f"The replay configuration is invalid: {problem}.")
