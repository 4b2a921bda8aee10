"""Shared sends: one on its way at a time, the callers that arrive meanwhile together in the
next, each caller answered by the send that carried its item."""

from __future__ import annotations

import asyncio

from wolkenkit.stores.batching import Batching, KeyedBatching


class Sender:
    """Records the sends; while ``held``, a send stays on its way."""

    def __init__(self) -> None:
        self.sent: list[list[str]] = []
        self.failing: set[str] = set()
        self.held = asyncio.Event()
        self.held.set()

    async def send(self, items: list[str]) -> None:
        await self.held.wait()
        if self.failing & set(items):
            raise RuntimeError("The send failed.")
        self.sent.append(items)


async def _let_run() -> None:
    """Let the tasks just started run up to their first wait."""
    await asyncio.sleep(0)


async def _behind_a_held_send(
    sender: Sender, batching: Batching[str], items: list[str]
) -> list[asyncio.Task[None]]:
    """Submit "a", whose send stays on its way until ``sender.held`` is set, then the items;
    the tasks of all the calls, in order."""
    sender.held.clear()
    first = asyncio.create_task(batching.submit("a"))
    await _let_run()
    following = [asyncio.create_task(batching.submit(item)) for item in items]
    await _let_run()
    return [first, *following]


async def test_a_lone_caller_sends_at_once() -> None:
    sender = Sender()
    batching = Batching(sender.send)

    await batching.submit("a")
    await batching.submit("b")

    assert sender.sent == [["a"], ["b"]]


async def test_callers_arriving_during_a_send_go_together_next_in_call_order() -> None:
    sender = Sender()
    batching = Batching(sender.send)
    calls = await _behind_a_held_send(sender, batching, ["b", "c", "d"])

    sender.held.set()
    await asyncio.gather(*calls)

    assert sender.sent == [["a"], ["b", "c", "d"]]


async def test_a_failed_send_fails_its_callers_only() -> None:
    sender = Sender()
    sender.failing = {"b"}
    batching = Batching(sender.send, limit=2)
    calls = await _behind_a_held_send(sender, batching, ["b", "c", "d"])

    sender.held.set()
    results = await asyncio.gather(*calls, return_exceptions=True)

    assert [type(result).__name__ for result in results] == [
        "NoneType",
        "RuntimeError",
        "RuntimeError",
        "NoneType",
    ]
    assert sender.sent == [["a"], ["d"]]


async def test_a_caller_cancelled_while_waiting_takes_its_item_out() -> None:
    sender = Sender()
    sender.held.clear()
    batching = Batching(sender.send)
    first = asyncio.create_task(batching.submit("a"))
    await _let_run()
    cancelled = asyncio.create_task(batching.submit("b"))
    kept = asyncio.create_task(batching.submit("c"))
    await _let_run()

    cancelled.cancel()
    sender.held.set()
    await asyncio.gather(first, kept)

    assert cancelled.cancelled()
    assert sender.sent == [["a"], ["c"]]


async def test_items_beyond_the_limit_wait_for_the_next_send() -> None:
    # Sizes are the items' lengths; one item larger than the limit goes alone.
    sender = Sender()
    batching = Batching(sender.send, size=len, limit=4)
    calls = await _behind_a_held_send(sender, batching, ["bb", "cc", "dd", "eeeee"])

    sender.held.set()
    await asyncio.gather(*calls)
    await batching.drain()

    assert sender.sent == [["a"], ["bb", "cc"], ["dd"], ["eeeee"]]


async def test_keys_do_not_wait_for_each_other() -> None:
    # While a send of key x is held up, key y's items go out; x's latecomers join its next.
    sent: list[tuple[str, list[str]]] = []
    x_held = asyncio.Event()

    async def send(key: str, items: list[str]) -> None:
        if key == "x":
            await x_held.wait()
        sent.append((key, items))

    batching: KeyedBatching[str, str] = KeyedBatching(send)
    x = asyncio.create_task(batching.submit("x", "a"))
    await _let_run()
    x_later = [asyncio.create_task(batching.submit("x", item)) for item in "bc"]
    await _let_run()

    await batching.submit("y", "d")
    assert sent == [("y", ["d"])]
    x_held.set()
    await asyncio.gather(x, *x_later)

    assert sent == [("y", ["d"]), ("x", ["a"]), ("x", ["b", "c"])]
