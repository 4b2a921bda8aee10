"""Aggregate state: a pydantic model or a plain dict, merged and serialised the same way."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Generic, TypeVar, cast

from pydantic import BaseModel

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

    def initial(self) -> StateT:
        return self._initial_state()

    def advance(self, state: StateT, result: Any) -> StateT:
        """The state after a domain-event handler returned ``result``."""
        model = self.model
        if model is not None:
            if isinstance(result, model):
                return cast(StateT, result)
            if isinstance(result, Mapping):
                return cast(StateT, _merged(cast(BaseModel, state), result))
        elif isinstance(result, Mapping):
            return cast(StateT, {**cast(Mapping[str, Any], state), **result})
        raise TypeError(
            "A domain-event handler must return the next state or a mapping of changed fields, "
            f"not {type(result).__name__}."
        )

    def to_json(self, state: StateT) -> dict[str, Any]:
        if isinstance(state, BaseModel):
            return json_object(state)
        return dict(cast(Mapping[str, Any], state))

    def from_json(self, data: Mapping[str, Any]) -> StateT:
        if self.model is not None:
            return cast(StateT, validated(self.model, data))
        return cast(StateT, dict(data))


def _merged(state: BaseModel, changes: Mapping[str, Any]) -> BaseModel:
    """``state.model_copy(update=changes)`` without its generic copying machinery: this runs
    for every event an aggregate applies. Like ``model_copy``, it does not validate."""
    merged = type(state).__new__(type(state))
    object.__setattr__(merged, "__dict__", {**state.__dict__, **changes})
    object.__setattr__(
        merged, "__pydantic_fields_set__", state.__pydantic_fields_set__ | changes.keys()
    )
    object.__setattr__(merged, "__pydantic_extra__", state.__pydantic_extra__)
    object.__setattr__(merged, "__pydantic_private__", state.__pydantic_private__)
    return merged
