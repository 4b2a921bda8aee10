"""The value of a call to an app's handler, which may be a plain function or ``async``."""

from __future__ import annotations

import inspect
from collections.abc import Awaitable
from typing import TypeVar

T = TypeVar("T")


async def settled(value: T | Awaitable[T]) -> T:
    """``value`` itself, or what it gives once awaited if it is awaitable."""
    # ``True``, ``False`` and ``None`` first: they are what nearly every policy, filter and
    # handler returns, and the check for an awaitable costs more than the call that made them.
    if value is True or value is False or value is None or not inspect.isawaitable(value):
        return value
    return await value
