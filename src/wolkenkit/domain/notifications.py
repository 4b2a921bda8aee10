"""Notifications (reference §9.5): views' subscribers, and who may receive what."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from wolkenkit.application.definitions import NotificationHandler
from wolkenkit.application.services import (
    Infrastructure,
    NotificationAuthorizationServices,
    NotificationSubscriberServices,
)
from wolkenkit.application.tables import Tables
from wolkenkit.awaiting import settled
from wolkenkit.domain.catalog import Catalog
from wolkenkit.domain.services import (
    CollectingNotificationService,
    SendNotification,
    build_notification,
)
from wolkenkit.messages import ClientMetadata, Notification
from wolkenkit.serialization import validated

logger = logging.getLogger("wolkenkit.domain.notifications")


class Notifications:
    def __init__(
        self,
        catalog: Catalog,
        infrastructure: Infrastructure[Any, Any],
        tables: Tables,
        send: SendNotification,
    ) -> None:
        self._application = catalog.application
        self._definitions: Mapping[str, NotificationHandler[Any, Any]] = (
            catalog.application.notifications
        )
        self._infrastructure = infrastructure
        self._tables = tables
        self._send = send
        # Built once: the views' subscriber services differ only in the collector.
        self._view_loggers = {
            view_name: logging.getLogger(f"wolkenkit.app.views.{view_name}")
            for view_name in catalog.application.views
        }
        self._notifications_logger = logging.getLogger("wolkenkit.app.notifications")

    def has_view_subscribers(self, name: str) -> bool:
        """Whether any view's subscriber is relevant for notifications named ``name``."""
        return any(
            subscriber.is_relevant(name)
            for view in self._application.views.values()
            for subscriber in view.notification_subscribers.values()
        )

    async def run_view_subscribers(self, notification: Notification) -> None:
        """Run every view's relevant notification subscribers, then publish what they
        published, so that one subscriber's notifications never reach its siblings first."""
        collector = CollectingNotificationService(self._definitions)
        for view_name, view in self._application.views.items():
            services = NotificationSubscriberServices(
                infrastructure=self._infrastructure,
                logger=self._view_loggers[view_name],
                notification=collector,
                tables=self._tables,
            )
            for subscriber in view.notification_subscribers.values():
                if not subscriber.is_relevant(notification.name):
                    continue
                await settled(subscriber.handle(dict(notification.data), services))
        for collected in collector.collected:
            await self._send(collected)

    async def prepare_for_client(
        self, notification: Notification, client: ClientMetadata
    ) -> dict[str, Any] | None:
        """The public form ``{name, data}`` if this client may receive the notification,
        else ``None``. Notifications that do not fit their definition are dropped."""
        try:
            valid = build_notification(
                self._definitions, notification.name, notification.data, notification.metadata
            )
        except Exception:
            logger.warning("Dropped the malformed notification '%s'.", notification.name)
            return None
        definition = self._definitions[valid.name]
        data = _typed(definition.data_schema(), valid.data)
        metadata = (
            None if valid.metadata is None else _typed(definition.metadata_schema(), valid.metadata)
        )
        authorized = definition.is_authorized(
            data,
            metadata,
            NotificationAuthorizationServices(
                client=client,
                infrastructure=self._infrastructure.ask_only(),
                logger=self._notifications_logger,
            ),
        )
        return valid.to_public_json() if await settled(authorized) is True else None


def _typed(schema: Any, data: dict[str, Any]) -> Any:
    return data if schema is None else validated(schema, data)
