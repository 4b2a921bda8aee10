"""Flows as a rebuild runs them: their handlers write the new tables, and nothing else goes out.

A rebuild replays events that the flows have handled before, to build their tables afresh. So
the handlers get the shadows of the tables being rebuilt (and no other table); the commands
they issue and the notifications they publish went out the first time and are dropped now.
What a handler does through its infrastructure happens again: a rebuild runs the same code.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import BaseModel

from wolkenkit.application.application import Application
from wolkenkit.application.services import (
    AggregatesService,
    CommandService,
    FlowServices,
    Infrastructure,
    LockService,
    NotificationService,
)
from wolkenkit.application.tables import Tables
from wolkenkit.awaiting import settled
from wolkenkit.messages import Command, DomainEvent, Initiator, new_id


class _DroppedCommands(CommandService):
    async def issue_command(self, command: Command[Any], initiator: Initiator | None = None) -> str:
        return new_id()


class _DroppedNotifications(NotificationService):
    async def publish(
        self,
        notification: BaseModel | str,
        data: BaseModel | Mapping[str, Any] | None = None,
        metadata: BaseModel | Mapping[str, Any] | None = None,
    ) -> None:
        return None


class ShadowFlows:
    """Runs the named flows' handlers for replayed events, into ``tables`` (the shadows)."""

    def __init__(
        self,
        application: Application,
        flow_names: Sequence[str],
        *,
        tables: Tables,
        aggregates: AggregatesService,
        infrastructure: Infrastructure[Any, Any],
        lock: LockService,
    ) -> None:
        self._flows = {name: application.flows[name] for name in flow_names}
        commands, notifications = _DroppedCommands(), _DroppedNotifications()
        self._services = {
            name: FlowServices(
                aggregates=aggregates,
                command=commands,
                infrastructure=infrastructure,
                lock=lock,
                logger=logging.getLogger(f"wolkenkit.app.flows.{name}"),
                notification=notifications,
                tables=tables,
            )
            for name in flow_names
        }

    async def apply(self, flow_name: str, event: DomainEvent[Any]) -> None:
        """Run the flow's handlers that are relevant to ``event``; what one raises
        propagates."""
        services = self._services[flow_name]
        name, item = event.fully_qualified_name, event.get_item_identifier()
        for handler in self._flows[flow_name].domain_event_handlers.values():
            if handler.is_relevant(name, item):
                await settled(handler.handle(event, services))
