"""A lock store that keeps its locks in the process's memory.

Values are used as keys directly: nothing leaves the process, so there is no reason to hash
them as the database stores do.
"""

from __future__ import annotations

from wolkenkit.errors import ExpirationInPast, LockAcquireFailed, LockRenewalFailed
from wolkenkit.messages import now_ms
from wolkenkit.stores.lock_store import NEVER_EXPIRES, LockStore

#: Below this many entries, expired locks are simply left until someone touches them.
_PURGE_THRESHOLD = 1024


class InMemoryLockStore(LockStore):
    """Locks as a dict from value to expiry (ms since the epoch)."""

    def __init__(self) -> None:
        self._expires_at: dict[str, int] = {}
        self._purge_at = _PURGE_THRESHOLD

    async def setup(self) -> None:
        pass

    async def destroy(self) -> None:
        self._expires_at.clear()
        self._purge_at = _PURGE_THRESHOLD

    async def acquire_lock(self, value: str, expires_at: int = NEVER_EXPIRES) -> None:
        now = now_ms()
        if expires_at < now:
            raise ExpirationInPast("A lock must not expire in the past.")
        if self._is_held(value, now):
            raise LockAcquireFailed("Failed to acquire lock.")
        self._expires_at[value] = expires_at
        self._purge_expired(now)

    async def is_locked(self, value: str) -> bool:
        return self._is_held(value, now_ms())

    async def renew_lock(self, value: str, expires_at: int) -> None:
        now = now_ms()
        if expires_at < now:
            raise ExpirationInPast("A lock must not expire in the past.")
        if not self._is_held(value, now):
            raise LockRenewalFailed("Failed to renew lock.")
        self._expires_at[value] = expires_at

    async def release_lock(self, value: str) -> None:
        self._expires_at.pop(value, None)

    def _is_held(self, value: str, now: int) -> bool:
        expires_at = self._expires_at.get(value)
        return expires_at is not None and now <= expires_at

    def _purge_expired(self, now: int) -> None:
        # Locks that expire without being released would pile up; sweeping whenever the dict
        # has doubled keeps memory bounded at an amortised constant cost per acquire.
        if len(self._expires_at) < self._purge_at:
            return
        self._expires_at = {
            value: expires_at for value, expires_at in self._expires_at.items() if now <= expires_at
        }
        self._purge_at = max(_PURGE_THRESHOLD, 2 * len(self._expires_at))
