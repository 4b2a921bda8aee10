"""The notifications of the app, by name."""

from __future__ import annotations

from typing import Any

from wolkenkit import NotificationAuthorizationServices, NotificationHandler


class PublicNotification(NotificationHandler):
    """A notification every client may receive."""

    def is_authorized(
        self,
        data: dict[str, Any],
        metadata: dict[str, Any] | None,
        services: NotificationAuthorizationServices,
    ) -> bool:
        return True


class FlowMessagesUpdated(PublicNotification):
    """The messages flow changed the view store."""


class ViewMessagesUpdated(PublicNotification):
    """The messages view changed: query it again to see the news."""


notifications: dict[str, NotificationHandler] = {
    "flowMessagesUpdated": FlowMessagesUpdated(),
    "viewMessagesUpdated": ViewMessagesUpdated(),
}
