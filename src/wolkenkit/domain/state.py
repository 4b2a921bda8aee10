"""Aggregate state: a pydantic model or a plain dict, merged and serialised the same way."""

from __future__ import annotations

import copy
import datetime
import decimal
import enum
import hashlib
import json
import uuid
from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar, cast

from pydantic import BaseModel

from wolkenkit._pydantic import built, merged, parts
from wolkenkit.serialization import json_object, validated

StateT = TypeVar("StateT")


class StateCodec(Generic[StateT]):
    """Knows how to create, advance and (de)serialise one aggregate's state.

    A domain-event handler returns either a whole new state or a mapping of the fields that
    change; the latter is merged shallowly over the old state, as in the reference.
    """

    def __init__(self, initial_state: Callable[[], StateT]) -> None:
        self._initial_state = initial_state
        sample = initial_state()
        self.model: type[BaseModel] | None = type(sample) if isinstance(sample, BaseModel) else None
        #: Names the state's model in snapshots, which are ignored once it changes.
        self.fingerprint = fingerprint(self.model)

    def initial(self) -> StateT:
        return self._initial_state()

    def advance(self, state: StateT, result: Any) -> StateT:
        """The state after a domain-event handler returned ``result``."""
        model = self.model
        if model is not None:
            if isinstance(result, model):
                return cast(StateT, result)
            if isinstance(result, Mapping):
                return cast(StateT, merged(cast(BaseModel, state), result))
        elif isinstance(result, Mapping):
            return cast(StateT, {**cast(Mapping[str, Any], state), **result})
        raise TypeError(
            "A domain-event handler must return the next state or a mapping of changed fields, "
            f"not {type(result).__name__}."
        )

    def handed_out(self, state: StateT) -> StateT:
        """A copy of ``state`` for a handler or a reader, sharing nothing it could change in
        place: the state an aggregate keeps changes only by its events."""
        if type(state) is self.model:
            # The usual case, without the isinstance check pydantic's metaclass makes slow.
            return cast(StateT, _copied_model(cast(BaseModel, state)))
        return cast(StateT, _private_copy(state))

    def to_json(self, state: StateT) -> dict[str, Any]:
        if isinstance(state, BaseModel):
            return json_object(state)
        return dict(cast(Mapping[str, Any], state))

    def from_json(self, data: Mapping[str, Any]) -> StateT:
        if self.model is not None:
            return cast(StateT, validated(self.model, data))
        return cast(StateT, dict(data))


def fingerprint(model: type[BaseModel] | None) -> str:
    """A short hash of the model's JSON Schema: it changes when a field is added, removed,
    renamed, retyped or gets another default. Empty for a state without a model, whose shape
    nothing describes."""
    if model is None:
        return ""
    try:
        described: Any = model.model_json_schema()
    except Exception:
        # A type that JSON Schema cannot express: its fields as Python spells them instead.
        described = [
            (name, repr(field.annotation), repr(field.default))
            for name, field in model.model_fields.items()
        ]
    text = json.dumps(described, sort_keys=True, default=repr)
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


#: Values nobody can change in place: a copy may share them.
_IMMUTABLE: frozenset[type] = frozenset(
    {
        str,
        int,
        float,
        bool,
        type(None),
        bytes,
        decimal.Decimal,
        uuid.UUID,
        datetime.datetime,
        datetime.date,
        datetime.time,
        datetime.timedelta,
    }
)


def _private_copy(value: Any) -> Any:
    """A deep copy that shares the immutable parts: faster than ``copy.deepcopy`` on the
    JSON-like values states are made of, which is what every command pays for it."""
    kind = type(value)
    if kind in _IMMUTABLE or isinstance(value, enum.Enum):
        return value
    if kind is list:
        return [_private_copy(item) for item in value]
    if kind is dict:
        return {key: _private_copy(item) for key, item in value.items()}
    if isinstance(value, BaseModel):
        return _copied_model(value)
    if kind is tuple:
        return tuple(_private_copy(item) for item in value)
    return copy.deepcopy(value)


def _copied_model(model: BaseModel) -> BaseModel:
    # Written out rather than ``model_copy(deep=True)``: this runs for every command, and a
    # model of immutable values (the usual state) needs only its dicts copied.
    values, fields_set, extra, private = parts(model)
    for value in values.values():
        if type(value) not in _IMMUTABLE:
            values = {key: _private_copy(value) for key, value in values.items()}
            break
    else:
        values = values.copy()
    return built(
        type(model),
        values,
        set(fields_set),
        None if extra is None else _private_copy(extra),
        None if private is None else _private_copy(private),
    )
