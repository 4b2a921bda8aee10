"""Receiving a command from a client, whichever API it came through (HTTP or GraphQL)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from wolkenkit.domain.catalog import data_to_json
from wolkenkit.messages import (
    AggregateIdentifier,
    ClientMetadata,
    CommandMetadata,
    CommandWithMetadata,
    Initiator,
    now_ms,
)

if TYPE_CHECKING:
    from wolkenkit.runtime.single_process import SingleProcessRuntime


async def receive_command(
    runtime: SingleProcessRuntime,
    identifier: AggregateIdentifier,
    command_id: str,
    command_name: str,
    data: Any,
    client: ClientMetadata,
) -> None:
    """Check the command against the app (the not-found errors, ``CommandMalformed``), give it
    metadata as the reference does, and queue it. ``command_id`` and the aggregate id come
    from ``new_command_ids``."""
    typed_data = runtime.domain.catalog.validate_command_data(identifier, command_name, data)
    await runtime.submit_command(
        CommandWithMetadata.trusted(
            aggregate_identifier=identifier,
            name=command_name,
            # What is queued is what the schema accepted (defaults filled in), as JSON.
            data=data_to_json(typed_data),
            id=command_id,
            metadata=CommandMetadata.trusted(
                causation_id=command_id,
                correlation_id=command_id,
                timestamp=now_ms(),
                client=client,
                initiator=Initiator.trusted(user=client.user),
            ),
        )
    )
