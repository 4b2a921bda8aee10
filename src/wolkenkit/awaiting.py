"""Awaiting: the value of a call to an app's handler, which may be a plain function or
``async``; and answering a future that its waiter may have given up on."""

from __future__ import annotations

import asyncio
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


def answer(future: asyncio.Future[None], error: BaseException | None = None) -> None:
    """Let whoever awaits ``future`` go on, or raise ``error`` there; nothing if it is done
    already (answered, or cancelled by a waiter that gave up)."""
    if future.done():
        return
    if error is None:
        future.set_result(None)
    else:
        future.set_exception(error)
