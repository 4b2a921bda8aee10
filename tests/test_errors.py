"""One error tree: every exception class of ours is defined in ``wolkenkit.errors`` (and
drawn in its docstring), or is private to the module that raises and catches it."""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import re

import wolkenkit
from wolkenkit import errors


def our_modules() -> list[str]:
    names = [wolkenkit.__name__]
    for module in pkgutil.walk_packages(wolkenkit.__path__, prefix=f"{wolkenkit.__name__}."):
        names.append(module.name)
    return names


def test_every_public_exception_class_lives_in_errors() -> None:
    elsewhere = []
    for name in our_modules():
        module = importlib.import_module(name)
        for attribute, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == name
                and name != errors.__name__
                and not attribute.startswith("_")
            ):
                elsewhere.append(f"{name}.{attribute}")

    assert elsewhere == []


def test_the_docstring_draws_every_error() -> None:
    defined = [
        name
        for name, value in vars(errors).items()
        if inspect.isclass(value)
        and issubclass(value, BaseException)
        and value.__module__ == errors.__name__
    ]
    doc = errors.__doc__ or ""

    assert [name for name in defined if not re.search(rf"\b{name}\b", doc)] == []
    assert len(defined) > 80
