"""Checks that several store backends share, beyond what their contracts ask."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence

import pytest

from wolkenkit import errors
from wolkenkit.messages import new_id
from wolkenkit.stores.file_store import FileStore
from wolkenkit.testing.contracts._messages import collect

#: Races writers (stores of their own, as in separate processes) to add one id; returns it.
RaceToAdd = Callable[[Sequence[FileStore]], Awaitable[str]]


@pytest.fixture
def race_to_add() -> RaceToAdd:
    """Of file stores racing to add one id, exactly one must win, and its file is whole."""

    async def race(stores: Sequence[FileStore]) -> str:
        id, start = new_id(), asyncio.Event()

        async def add(index: int) -> int | None:
            async def content() -> AsyncIterator[bytes]:
                # Every writer has passed the store's early check before any byte flows.
                await start.wait()
                yield f"writer {index}".encode()

            try:
                await stores[index].add_file(id, f"{index}.txt", "text/plain", content())
            except errors.FileAlreadyExists:
                return None
            return index

        adding = [asyncio.create_task(add(index)) for index in range(len(stores))]
        await asyncio.sleep(0.1)
        start.set()
        winners = [index for index in await asyncio.gather(*adding) if index is not None]

        assert len(winners) == 1
        content = b"".join(await collect(stores[0].get_file(id)))
        assert content == f"writer {winners[0]}".encode()
        assert (await stores[0].get_metadata(id)).name == f"{winners[0]}.txt"
        return id

    return race
