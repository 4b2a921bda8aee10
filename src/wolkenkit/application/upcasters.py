"""Upcasters: functions that lift an event's stored data from one version of its model to the
next, declared beside the event handler::

    class Sent(Schema, version=2):
        text: str
        language: str

    @aggregate.upcaster(Sent, from_version=1)
    def body_became_text(data: dict[str, Any]) -> dict[str, Any]:
        return {"text": data["body"], "language": "en"}

An upcaster asks for the data (``dict[str, Any]``) and, if it needs it, the event's
``DomainEventMetadata``. At load time every versioned event must have one upcaster per step
from version 1 to its current version; ``check_upcasters`` reports a gap as a load error
naming the model's file and line.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel

from wolkenkit.application.signatures import (
    Call,
    Offer,
    bind,
    class_where,
    is_instance_of,
    load_error,
    where,
)
from wolkenkit.errors import UpcasterMalformed
from wolkenkit.messages import DomainEventMetadata
from wolkenkit.serialization import json_object

if TYPE_CHECKING:
    from wolkenkit.application.definitions import Aggregate

_DATA = Offer(
    lambda annotation: getattr(annotation, "__origin__", annotation) in (dict, Mapping),
    lambda data, metadata: data,
    once=True,
)
_METADATA = Offer(is_instance_of(DomainEventMetadata), lambda data, metadata: metadata, once=True)


class FunctionUpcaster:
    """One step of an event's chain: lifts data of ``model`` at ``from_version`` to the next."""

    def __init__(
        self, function: Callable[..., Any], model: type[BaseModel], from_version: int
    ) -> None:
        self.function = function
        self.model = model
        self.from_version = from_version
        self._call: Call | None = None
        # How to call it, found once: it runs on every read of an old event, so the usual
        # shapes, ``(data)`` and ``(data, metadata)``, call the function itself.
        self._data_only = False
        self._call_with: Callable[[dict[str, Any], DomainEventMetadata], Any] = self._unbound

    def bind(self) -> None:
        if self._call is not None:
            return
        function = self.function
        call = bind(function, [_DATA, _METADATA], UpcasterMalformed, "an upcaster")
        if inspect.iscoroutinefunction(function):
            raise load_error(
                function,
                "It must not be async: it runs on every read of an old event.",
                UpcasterMalformed,
            )
        self._call = call
        self._data_only = call.getters == (_DATA.get,)
        in_order = call.getters == (_DATA.get, _METADATA.get)
        self._call_with = function if in_order else call.invoke

    def _unbound(self, data: dict[str, Any], metadata: DomainEventMetadata) -> Any:
        raise AssertionError("An upcaster is bound at load time.")

    @property
    def where(self) -> str:
        """``file:line`` of the function, for messages."""
        return where(self.function)

    def lift(self, data: dict[str, Any], metadata: DomainEventMetadata) -> dict[str, Any]:
        """The data at ``from_version + 1``; raises what the function raises, or
        ``TypeError`` for a result that is no mapping or model."""
        result = self.function(data) if self._data_only else self._call_with(data, metadata)
        if type(result) is dict:
            return result
        if isinstance(result, BaseModel):
            return json_object(result)
        if isinstance(result, Mapping):
            return dict(result)
        raise TypeError(
            f"Upcaster '{self.function.__name__}' returned {type(result).__name__}, not the "
            "next version's data as a dict."
        )


def check_upcasters(aggregate: Aggregate[Any]) -> None:
    """Raises ``UpcasterMalformed`` naming file and line unless each event of ``aggregate``
    has exactly one upcaster per step from version 1 to its model's version, and every
    upcaster lifts an older version of one of the aggregate's event models."""
    from wolkenkit.application.definitions import version_of

    models = {
        model
        for handler in aggregate.domain_event_handlers.values()
        if (model := getattr(handler, "model", None)) is not None
    }
    steps: dict[tuple[type[BaseModel], int], FunctionUpcaster] = {}
    for upcaster in aggregate.upcasters:
        upcaster.bind()
        model, start = upcaster.model, upcaster.from_version
        if model not in models:
            raise _malformed(
                upcaster,
                f"It lifts {model.__name__}, which no event handler of its aggregate takes.",
            )
        current = version_of(model)
        if not 1 <= start < current:
            raise _malformed(
                upcaster,
                f"It lifts {model.__name__} from version {start}, but {model.__name__} is at "
                f"version {current}: an upcaster lifts a version from 1 to {current - 1} to the "
                "next.",
            )
        other = steps.setdefault((model, start), upcaster)
        if other is not upcaster:
            raise _malformed(
                upcaster,
                f"{model.__name__} is lifted from version {start} by '{other.function.__name__}' "
                f"({other.where}) already: one upcaster per version.",
            )
    for model in sorted(models, key=lambda model: model.__name__):
        for start in range(1, version_of(model)):
            if (model, start) not in steps:
                raise UpcasterMalformed(
                    f"{model.__name__} ({class_where(model)}) is at version {version_of(model)}, "
                    f"but no upcaster lifts its version {start} to {start + 1}: add one with "
                    f"@aggregate.upcaster({model.__name__}, from_version={start})."
                )


def chain(aggregate: Aggregate[Any], model: type[BaseModel] | None) -> tuple[FunctionUpcaster, ...]:
    """The upcasters of ``model``'s event in order: the first lifts version 1 to 2."""
    found = [upcaster for upcaster in aggregate.upcasters if upcaster.model is model]
    return tuple(sorted(found, key=lambda upcaster: upcaster.from_version))


def _malformed(upcaster: FunctionUpcaster, detail: str) -> UpcasterMalformed:
    error = load_error(upcaster.function, detail, UpcasterMalformed)
    assert isinstance(error, UpcasterMalformed)
    return error
