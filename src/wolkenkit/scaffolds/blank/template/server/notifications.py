"""The notifications clients may subscribe to, by name; none yet.

Add one as ``{"somethingHappened": SomethingHappened()}``, where ``SomethingHappened`` is a
``wolkenkit.NotificationHandler`` whose ``is_authorized`` decides who receives it; the chat
template shows how.
"""

from __future__ import annotations

from typing import Any

from wolkenkit import NotificationHandler

notifications: dict[str, NotificationHandler[Any, Any]] = {}
