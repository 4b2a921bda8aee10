"""The infrastructure handlers use: databases, queues, other services.

``get_infrastructure`` runs once when the app starts; a handler gets what it returns through a
parameter annotated ``Infrastructure[...]``: flows write through ``tell``, queries read
through ``ask``.
``setup_infrastructure`` runs once per deployment (``wk setup infrastructure``).
"""

from __future__ import annotations

from typing import Any

from wolkenkit import Infrastructure, InfrastructureServices


async def get_infrastructure(
    services: InfrastructureServices,
) -> Infrastructure[dict[str, Any], dict[str, Any]]:
    return Infrastructure(ask={}, tell={})


async def setup_infrastructure(services: InfrastructureServices) -> None:
    """Create tables, buckets and the like; nothing to do yet."""
