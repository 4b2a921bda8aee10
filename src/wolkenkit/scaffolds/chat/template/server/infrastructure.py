"""Everything the app talks to that is not a view table: other databases, queues, services.

The messages live in a view table (``server/tables.py``), which the view store keeps: under
``wk dev`` in ``.wolkenkit/wolkenkit.db``, in tests in memory. ``get_infrastructure`` runs once
when the app starts; a handler gets what it returns through a parameter annotated
``Infrastructure[...]``, reading through ``ask`` and writing through ``tell``.
``setup_infrastructure`` runs once per deployment (``wk setup infrastructure``).
"""

from __future__ import annotations

from wolkenkit import Infrastructure, InfrastructureServices


async def get_infrastructure(services: InfrastructureServices) -> Infrastructure[None, None]:
    """Nothing else to talk to yet."""
    return Infrastructure(ask=None, tell=None)


async def setup_infrastructure(services: InfrastructureServices) -> None:
    """Nothing to set up yet."""
