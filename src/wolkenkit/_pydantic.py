"""Every use of pydantic's internals, in one place.

The engine validates, dumps, builds and copies models several times per command and event.
pydantic's public methods are thin wrappers around pydantic-core and a generic copying
machinery; going around them saves between a fifth and a half of each call (the figures are
beside each function). What that relies on, pydantic's validator and serializer attributes,
the slots every model has and the metadata of parametrised models, is used here and nowhere
else. Each function names the public call it equals; ``tests/test_pydantic_fast_paths.py``
checks that they agree over generated values, and ``pyproject.toml`` bounds pydantic to the
versions those tests passed on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel

ModelT = TypeVar("ModelT", bound=BaseModel)


def validated(schema: type[ModelT], data: Any) -> ModelT:
    """``schema.model_validate(data)`` (0.3 to 0.5 µs less per call)."""
    model: ModelT = schema.__pydantic_validator__.validate_python(data)
    return model


def validated_by_name(schema: type[ModelT], data: Any) -> ModelT:
    """``schema.model_validate(data, by_name=True)``."""
    model: ModelT = schema.__pydantic_validator__.validate_python(data, by_name=True)
    return model


def validated_json(schema: type[ModelT], text: str | bytes) -> ModelT:
    """``schema.model_validate_json(text)`` (about a sixth less)."""
    model: ModelT = schema.__pydantic_validator__.validate_json(text)
    return model


def json_object(model: BaseModel, *, exclude: set[str] | None = None) -> dict[str, Any]:
    """``model.model_dump(mode="json", exclude=exclude)``."""
    dumped: dict[str, Any] = model.__pydantic_serializer__.to_python(
        model, mode="json", exclude=exclude
    )
    return dumped


def json_text(model: BaseModel, *, exclude: set[str] | None = None) -> str:
    """``model.model_dump_json(exclude=exclude)``."""
    text: str = model.__pydantic_serializer__.to_json(model, exclude=exclude).decode()
    return text


# The setters of the slots every pydantic model has. Called directly, they skip the attribute
# lookup that ``object.__setattr__`` makes each time: building is about 40 % cheaper.
_SET_DICT = BaseModel.__dict__["__dict__"].__set__
_SET_FIELDS_SET = BaseModel.__dict__["__pydantic_fields_set__"].__set__
_SET_EXTRA = BaseModel.__dict__["__pydantic_extra__"].__set__
_SET_PRIVATE = BaseModel.__dict__["__pydantic_private__"].__set__
_NEW = object.__new__


def built(
    cls: type[ModelT],
    values: dict[str, Any],
    fields_set: set[str],
    extra: dict[str, Any] | None = None,
    private: dict[str, Any] | None = None,
) -> ModelT:
    """``cls.model_construct(**values)``, a fraction of its cost: an instance whose fields
    are ``values`` (a dict nobody else holds), without validation. ``fields_set`` is kept as
    given, so a caller may share one set between instances that never change it."""
    instance = _NEW(cls)
    _SET_DICT(instance, values)
    _SET_FIELDS_SET(instance, fields_set)
    _SET_EXTRA(instance, extra)
    _SET_PRIVATE(instance, private)
    return instance


def merged(model: ModelT, changes: Mapping[str, Any]) -> ModelT:
    """``model.model_copy(update=changes)`` without its generic copying machinery; like it,
    without validation."""
    return built(
        type(model),
        {**model.__dict__, **changes},
        model.__pydantic_fields_set__ | changes.keys(),
        model.__pydantic_extra__,
        model.__pydantic_private__,
    )


def parts(model: BaseModel) -> tuple[dict[str, Any], set[str], Any, Any]:
    """The model's field values, the names of the fields set, its extra and private values:
    what ``built`` takes to make another like it. The containers are the model's own."""
    return (
        model.__dict__,
        model.__pydantic_fields_set__,
        model.__pydantic_extra__,
        model.__pydantic_private__,
    )


def generic_arguments(annotation: Any) -> tuple[Any, ...] | None:
    """The arguments of a parametrised pydantic model (``DomainEvent[Sent]`` gives
    ``(Sent,)``, an unparametrised one ``()``), ``None`` for anything else: pydantic makes
    such a model a class of its own, which ``typing.get_args`` does not see into."""
    metadata = getattr(annotation, "__pydantic_generic_metadata__", None)
    if not metadata:
        return None
    arguments: tuple[Any, ...] = metadata["args"]
    return arguments


def generic_origin(annotation: Any) -> Any:
    """The unparametrised model of a parametrised one (``DomainEvent[Sent]`` gives
    ``DomainEvent``), else ``annotation`` itself."""
    metadata = getattr(annotation, "__pydantic_generic_metadata__", None)
    if metadata and metadata["origin"] is not None:
        return metadata["origin"]
    return annotation
