"""What the options of every backend share: the reference's camelCase JSON keys, no unknown
keys, and one error that names the store and each problem.

Backends describe their options as subclasses of :class:`OptionsModel` and read them with
:func:`parse_options`, so ``{"hostName": 5}`` gives
``The Redis lock store options are invalid: hostName: Input should be a valid string.``
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic.alias_generators import to_camel

from wolkenkit.errors import StoreOptionsInvalid

OptionsT = TypeVar("OptionsT", bound="OptionsModel")

#: A store's options as users give them, everywhere: the reference's JSON object
#: (``{"type": "Postgres", "hostName": ...}``) or a URL (``postgresql://user@host/db``).
StoreOptions = Mapping[str, Any] | str


class OptionsModel(BaseModel):
    """Base of a backend's options: camelCase aliases, and unknown keys are mistakes."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        extra="forbid",
        frozen=True,
    )


def parse_options(model: type[OptionsT], options: Mapping[str, Any], store: str) -> OptionsT:
    """The validated options, or ``StoreOptionsInvalid`` naming ``store`` and each problem."""
    try:
        return model.model_validate(dict(options))
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc']) or 'options'}: {problem['msg']}"
            for problem in error.errors()
        )
        raise StoreOptionsInvalid(f"The {store} options are invalid: {problems}.") from None
