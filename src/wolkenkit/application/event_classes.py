"""Events declared by their data model alone, when the event's data is what changes in the
state::

    @aggregate.event
    class Sent(Schema):
        \"\"\"A message was sent.\"\"\"

        text: str

The event is named after the class in camelCase (``sent``), its docstring is its
documentation, and its handler copies the event's fields into the state. That handler is an
ordinary handler function, written here, so the rest of the engine sees an event like any
other.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pydantic import BaseModel

from wolkenkit.application.signatures import WRITTEN_FOR, load_error
from wolkenkit.errors import DomainEventHandlerMalformed


def fields_copier(model: type[Any], state_type: type[Any] | None) -> Callable[..., dict[str, Any]]:
    """The handler of the event whose data is ``model``: it returns the event's fields, which
    the engine merges over the state (``model_copy(update=...)`` for a model, ``{**state,
    ...}`` for a dict).

    Raises the load error when ``model`` is no pydantic model, or has a field that the
    state's model does not (a copy would make a state its model does not describe).
    """
    names = tuple(getattr(model, "model_fields", ()))

    def copy_fields(event: Any) -> dict[str, Any]:
        # The values themselves: a nested model stays a model in the state.
        return {name: getattr(event, name) for name in names}

    copy_fields.__name__ = copy_fields.__qualname__ = model.__name__
    copy_fields.__module__ = model.__module__
    # The class's docstring documents the event, as a handler function's does.
    copy_fields.__doc__ = model.__dict__.get("__doc__")
    copy_fields.__annotations__ = {"event": model, "return": dict[str, Any]}
    # Its load errors name the class's statement.
    setattr(copy_fields, WRITTEN_FOR, model)
    if not issubclass(model, BaseModel):
        raise load_error(
            copy_fields,
            "An event class is the event's data, so it must be a pydantic model (a Schema).",
            DomainEventHandlerMalformed,
        )
    _check_state_has_fields(copy_fields, names, state_type)
    return copy_fields


def _check_state_has_fields(
    handler: Callable[..., Any], names: tuple[str, ...], state_type: type[Any] | None
) -> None:
    if not (isinstance(state_type, type) and issubclass(state_type, BaseModel)):
        return  # A dict state takes any field.
    missing = [name for name in names if name not in state_type.model_fields]
    if missing:
        listed = ", ".join(f"'{name}'" for name in missing)
        raise load_error(
            handler,
            f"It sets {listed}, which the state {state_type.__name__} does not have: an event "
            "class copies its fields into the state, so an event that changes the state in "
            "another way needs a handler function.",
            DomainEventHandlerMalformed,
        )
