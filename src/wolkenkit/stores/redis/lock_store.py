"""A lock store on Redis, safe across any number of processes that share the server.

Each lock is one key, ``<listNames.locks>_<sha256(value)>``, that Redis itself expires, so a
lock is held exactly while its key exists. Every operation is a single atomic step on the
server: acquiring is ``SET NX PX``, renewing is a small script that moves the expiry only of a
key that still exists (so a renewal can never bring an expired lock back), and releasing is
``DEL``. Expiries are sent relative to this process's clock, as the reference does, so the
server's clock does not matter.
"""

from __future__ import annotations

import hashlib
import secrets

from redis.asyncio import Redis
from redis.exceptions import RedisError

from wolkenkit.errors import ExpirationInPast, LockAcquireFailed, LockRenewalFailed
from wolkenkit.messages import now_ms
from wolkenkit.stores.lock_store import NEVER_EXPIRES, LockStore
from wolkenkit.stores.redis.connection import unavailable

_STORE = "Redis lock store"

# KEYS[1] the lock; ARGV[1] milliseconds to live, or 0 for never. Returns 1 if renewed.
_RENEW = """
if redis.call('EXISTS', KEYS[1]) == 0 then
  return 0
end
if ARGV[1] == '0' then
  redis.call('PERSIST', KEYS[1])
else
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
end
return 1
"""


def _time_to_live(expires_at: int) -> int:
    """Milliseconds from now until ``expires_at``; 0 means the lock never expires."""
    now = now_ms()
    if expires_at < now:
        raise ExpirationInPast("A lock must not expire in the past.")
    if expires_at >= NEVER_EXPIRES:
        return 0
    # Redis refuses a zero expiry; a lock that expires this very millisecond lives for one.
    return max(1, expires_at - now)


class RedisLockStore(LockStore):
    """Locks as expiring Redis keys. ``destroy`` closes the connections; the locks stay."""

    def __init__(self, client: Redis, prefix: str) -> None:
        self._client = client
        self._prefix = prefix
        self._renew = client.register_script(_RENEW)

    async def setup(self) -> None:
        # Keys need no schema.
        pass

    async def destroy(self) -> None:
        await self._client.aclose()

    async def acquire_lock(self, value: str, expires_at: int = NEVER_EXPIRES) -> None:
        time_to_live = _time_to_live(expires_at)
        key = self._key(value)
        # A random token tells our own lock from someone else's: if the client retried a SET
        # whose first attempt did succeed, the second attempt fails on our own key.
        token = secrets.token_hex(16)
        try:
            acquired = await self._client.set(key, token, nx=True, px=time_to_live or None)
            if not acquired:
                acquired = await self._client.get(key) == token.encode()
        except RedisError as error:
            raise unavailable(_STORE, error) from None
        if not acquired:
            raise LockAcquireFailed("Failed to acquire lock.")

    async def is_locked(self, value: str) -> bool:
        try:
            return bool(await self._client.exists(self._key(value)))
        except RedisError as error:
            raise unavailable(_STORE, error) from None

    async def renew_lock(self, value: str, expires_at: int) -> None:
        time_to_live = _time_to_live(expires_at)
        try:
            renewed = await self._renew(keys=[self._key(value)], args=[time_to_live])
        except RedisError as error:
            raise unavailable(_STORE, error) from None
        if not renewed:
            raise LockRenewalFailed("Failed to renew lock.")

    async def release_lock(self, value: str) -> None:
        try:
            await self._client.delete(self._key(value))
        except RedisError as error:
            raise unavailable(_STORE, error) from None

    def _key(self, value: str) -> str:
        return f"{self._prefix}_{hashlib.sha256(value.encode()).hexdigest()}"
