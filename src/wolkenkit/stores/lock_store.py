"""The lock store: named locks with an expiry, for ``services.lock`` and the runtimes."""

from __future__ import annotations

from abc import ABC, abstractmethod

#: A lock taken without an expiry holds until it is released.
NEVER_EXPIRES = 2**53 - 1


class LockStore(ABC):
    @abstractmethod
    async def setup(self) -> None: ...

    @abstractmethod
    async def destroy(self) -> None: ...

    @abstractmethod
    async def acquire_lock(self, value: str, expires_at: int = NEVER_EXPIRES) -> None:
        """Take the lock until ``expires_at`` (ms since the epoch).

        Raises ``ExpirationInPast`` if ``expires_at`` lies in the past, and
        ``LockAcquireFailed`` if the lock is held and has not expired.
        """

    @abstractmethod
    async def is_locked(self, value: str) -> bool:
        """True if the lock is held and has not expired."""

    @abstractmethod
    async def renew_lock(self, value: str, expires_at: int) -> None:
        """Move the expiry. Raises ``ExpirationInPast``, or ``LockRenewalFailed`` if the lock
        is not held or has expired."""

    @abstractmethod
    async def release_lock(self, value: str) -> None:
        """Release the lock; releasing a lock that is not held does nothing."""
