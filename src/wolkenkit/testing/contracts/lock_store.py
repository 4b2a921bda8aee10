"""The contract every lock store keeps: exclusive, expiring, renewable locks."""

from __future__ import annotations

import asyncio
from typing import ClassVar

import pytest

from wolkenkit.errors import ExpirationInPast, LockAcquireFailed, LockRenewalFailed
from wolkenkit.messages import new_id, now_ms
from wolkenkit.stores.lock_store import LockStore


class LockStoreContract:
    """Everything a lock store must do. Provide an async ``store`` fixture that yields a
    fresh store that has been set up."""

    #: How long (ms) the expiring locks of these tests live; raise it for a slow backend.
    lifetime: ClassVar[int] = 100

    async def _wait_for_expiry(self) -> None:
        await asyncio.sleep(self.lifetime * 1.5 / 1000)

    async def test_an_acquired_lock_is_locked(self, store: LockStore) -> None:
        # Taking a lock makes it held, and only that lock.
        value = new_id()
        await store.acquire_lock(value)

        assert await store.is_locked(value)
        assert not await store.is_locked(new_id())

    async def test_a_held_lock_cannot_be_acquired_again(self, store: LockStore) -> None:
        # Locks are exclusive: the second taker fails while the first holds it.
        value = new_id()
        await store.acquire_lock(value, now_ms() + 60_000)

        with pytest.raises(LockAcquireFailed):
            await store.acquire_lock(value)

    async def test_any_string_can_name_a_lock(self, store: LockStore) -> None:
        # Values are user data: long, with spaces, quotes or any script.
        values = ["x" * 1_000, "with 'quotes' and spaces", "Grüße, 世界 🙂"]
        for value in values:
            await store.acquire_lock(value)

        assert all([await store.is_locked(value) for value in values])

    async def test_a_lock_without_expiry_holds_until_released(self, store: LockStore) -> None:
        value = new_id()
        await store.acquire_lock(value)
        await self._wait_for_expiry()

        assert await store.is_locked(value)

    async def test_an_expiry_in_the_past_is_rejected(self, store: LockStore) -> None:
        # Neither taking nor renewing a lock may set an expiry that has already passed.
        value = new_id()
        with pytest.raises(ExpirationInPast):
            await store.acquire_lock(value, now_ms() - 1_000)
        assert not await store.is_locked(value)

        await store.acquire_lock(value, now_ms() + 60_000)
        with pytest.raises(ExpirationInPast):
            await store.renew_lock(value, now_ms() - 1_000)

    async def test_an_expired_lock_is_free_again(self, store: LockStore) -> None:
        # After its expiry a lock is no longer held, and anyone may take it.
        value = new_id()
        await store.acquire_lock(value, now_ms() + self.lifetime)
        await self._wait_for_expiry()

        assert not await store.is_locked(value)
        await store.acquire_lock(value, now_ms() + 60_000)
        assert await store.is_locked(value)

    async def test_renewing_moves_the_expiry(self, store: LockStore) -> None:
        # A renewed lock outlives its first expiry.
        value = new_id()
        await store.acquire_lock(value, now_ms() + self.lifetime)
        await store.renew_lock(value, now_ms() + 60_000)
        await self._wait_for_expiry()

        assert await store.is_locked(value)

    async def test_a_lock_that_is_not_held_cannot_be_renewed(self, store: LockStore) -> None:
        with pytest.raises(LockRenewalFailed):
            await store.renew_lock(new_id(), now_ms() + 60_000)

    async def test_an_expired_lock_cannot_be_renewed(self, store: LockStore) -> None:
        # Once a lock has expired someone else may hold it, so renewing it must fail.
        value = new_id()
        await store.acquire_lock(value, now_ms() + self.lifetime)
        await self._wait_for_expiry()

        with pytest.raises(LockRenewalFailed):
            await store.renew_lock(value, now_ms() + 60_000)

    async def test_a_released_lock_can_be_acquired_again(self, store: LockStore) -> None:
        value = new_id()
        await store.acquire_lock(value)
        await store.release_lock(value)

        assert not await store.is_locked(value)
        await store.acquire_lock(value)
        assert await store.is_locked(value)

    async def test_releasing_a_lock_that_is_not_held_does_nothing(self, store: LockStore) -> None:
        # Releasing is idempotent, so cleanup code need not check first.
        value = new_id()
        await store.release_lock(value)
        await store.acquire_lock(value)
        await store.release_lock(value)
        await store.release_lock(value)

        assert not await store.is_locked(value)

    async def test_concurrent_takers_get_the_lock_once(self, store: LockStore) -> None:
        # Of many processes racing for one lock, exactly one wins.
        value = new_id()

        async def try_to_acquire() -> bool:
            try:
                await store.acquire_lock(value, now_ms() + 60_000)
            except LockAcquireFailed:
                return False
            return True

        results = await asyncio.gather(*(try_to_acquire() for _ in range(20)))

        assert results.count(True) == 1
