from __future__ import annotations

from wolkenkit import Everyone, Notifications, Schema


class FlowMessagesUpdated(Schema):
    """The messages flow changed the view store."""


class ViewMessagesUpdated(Schema):
    """The messages view changed: query it again to see the news."""


# Each is named after its model: flowMessagesUpdated, viewMessagesUpdated.
notifications = Notifications(FlowMessagesUpdated, ViewMessagesUpdated, authorize=Everyone)
