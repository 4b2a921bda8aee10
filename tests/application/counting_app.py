"""A small app whose flow counts the sent messages in one row of a table, for the tests of
exactly once. The flow's handler reads the count and writes it plus one; then

- for a message saying ``slow``, it waits a moment (a second delivery can come meanwhile);
- for a message saying ``fail``, it raises;
- if the variable ``COUNTING_WRITTEN_MARKER`` names a file that is not there yet, it creates
  it and waits for good: the cue for a test to kill the process right after the write.
"""

from __future__ import annotations

from tests.application.table_app import FILES as TABLE_APP
from tests.application.table_app import MESSAGE
from wolkenkit.stores.view_store import Column, TableDefinition

MARKER = "COUNTING_WRITTEN_MARKER"
#: The table as the view store sees it, for reading it behind the app's back.
COUNTS = TableDefinition("counts", key=Column("id", "text"))

FILES = {
    MESSAGE: TABLE_APP[MESSAGE],
    "server/tables.py": """
        from pydantic import BaseModel

        from wolkenkit import Table


        class Count(BaseModel):
            id: str
            count: int


        counts = Table(Count, key="id")
    """,
    "server/flows/counting.py": f"""
        import asyncio
        import os
        from pathlib import Path

        from wolkenkit import DomainEvent, Flow, Rows

        from server.domain.communication.message import Sent
        from server.tables import Count

        flow = Flow()


        @flow.on(Sent)
        async def count(event: DomainEvent[Sent], counts: Rows[Count]) -> None:
            row = await counts.get("sent")
            await counts.upsert(Count(id="sent", count=1 if row is None else row.count + 1))
            if event.data.text == "slow":
                await asyncio.sleep(0.05)
            if event.data.text == "fail":
                raise RuntimeError("The handler fails after writing.")
            marker = os.environ.get("{MARKER}")
            if marker and not Path(marker).exists():
                Path(marker).touch()
                await asyncio.Event().wait()
    """,
}
