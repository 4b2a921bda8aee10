"""Who may do something: ``Everyone``, ``Authenticated``, or a function of the app's own.

An aggregate, view or set of notifications names its default once (``authorize=Everyone``),
and a handler may override it. A function policy asks for what it needs by annotation, like a
handler does (the state, the data, ``ClientMetadata``, ...), and returns a ``bool`` (or an
awaitable of one).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from wolkenkit.messages import ClientMetadata

#: The claim the runtime puts into the unsigned tokens of anonymous users (their issuer is
#: ``https://token.invalid``).
ANONYMOUS_CLAIM = "https://token.invalid/is-anonymous"


class BuiltInPolicy:
    """A policy that needs only the client, decided without calling app code."""

    def __init__(self, name: str, allows: Callable[[ClientMetadata], bool]) -> None:
        self._name = name
        self.allows = allows

    def __repr__(self) -> str:
        return self._name


def is_anonymous(client: ClientMetadata) -> bool:
    return client.user.claims.get(ANONYMOUS_CLAIM) is True


#: Anyone, signed in or not.
Everyone = BuiltInPolicy("Everyone", lambda client: True)
#: Clients with a token of a configured identity provider.
Authenticated = BuiltInPolicy("Authenticated", lambda client: not is_anonymous(client))

#: What ``authorize=`` takes.
Policy = BuiltInPolicy | Callable[..., bool | Awaitable[bool]]


def described(policy: Any) -> str:
    return repr(policy) if isinstance(policy, BuiltInPolicy) else getattr(policy, "__name__", "?")
