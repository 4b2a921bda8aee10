"""The per-aggregate lock of command handling: one holder per key, waiters in arrival order,
and no key left locked by a caller that was cancelled."""

from __future__ import annotations

import asyncio

from wolkenkit.domain.command_handling import _KeyedLocks


async def test_callers_for_one_key_take_turns_in_arrival_order() -> None:
    locks = _KeyedLocks()
    order: list[int] = []

    async def hold(number: int) -> None:
        await locks.acquire("a")
        try:
            order.append(number)
            await asyncio.sleep(0)
            order.append(number)
        finally:
            locks.release("a")

    await asyncio.gather(*(hold(number) for number in range(5)))
    assert order == [0, 0, 1, 1, 2, 2, 3, 3, 4, 4]
    assert locks._held == {}


async def test_different_keys_do_not_wait_for_each_other() -> None:
    locks = _KeyedLocks()
    await locks.acquire("a")
    await asyncio.wait_for(locks.acquire("b"), timeout=1)
    locks.release("a")
    locks.release("b")
    assert locks._held == {}


async def test_a_waiter_cancelled_while_waiting_is_skipped() -> None:
    locks = _KeyedLocks()
    await locks.acquire("a")
    cancelled = asyncio.ensure_future(locks.acquire("a"))
    following = asyncio.ensure_future(locks.acquire("a"))
    await asyncio.sleep(0)
    cancelled.cancel()
    await asyncio.sleep(0)
    locks.release("a")
    await asyncio.wait_for(following, timeout=1)
    assert cancelled.cancelled()
    locks.release("a")
    assert locks._held == {}


async def test_a_waiter_cancelled_just_as_it_got_the_lock_passes_it_on() -> None:
    locks = _KeyedLocks()
    await locks.acquire("a")
    handed = asyncio.ensure_future(locks.acquire("a"))
    following = asyncio.ensure_future(locks.acquire("a"))
    await asyncio.sleep(0)
    # The lock goes to the first waiter, which is cancelled before it runs again.
    locks.release("a")
    handed.cancel()
    await asyncio.wait_for(following, timeout=1)
    assert handed.cancelled()
    locks.release("a")
    assert locks._held == {}
