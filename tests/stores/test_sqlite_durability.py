"""Writers killed with SIGKILL mid-batch leave all or none of each batch, and lose nothing
they were told was committed."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import sys
import textwrap
from collections import Counter, defaultdict
from pathlib import Path

from wolkenkit.stores.sqlite import SqliteDatabase, SqliteDomainEventStore
from wolkenkit.stores.sqlite.options import DomainEventTableNames

#: Appends batches of 100 events (20 to each of 5 aggregates) until killed, printing the
#: number of every batch once ``store_domain_events`` has returned.
WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from wolkenkit.stores.sqlite import create_domain_event_store
    from wolkenkit.testing.contracts._messages import (
        build_aggregate_identifier, build_domain_event,
    )

    async def main():
        store = await create_domain_event_store({"type": "Sqlite", "fileName": sys.argv[1]})
        await store.setup()
        identifiers = [build_aggregate_identifier() for _ in range(5)]
        print("ready", flush=True)
        batch = 0
        while True:
            batch += 1
            first = (batch - 1) * 20 + 1
            await store.store_domain_events([
                build_domain_event(identifier, revision, data={"batch": f"{sys.argv[2]}-{batch}"})
                for identifier in identifiers
                for revision in range(first, first + 20)
            ])
            print(f"{sys.argv[2]}-{batch}", flush=True)

    asyncio.run(main())
    """
)


async def _run_and_kill(file_name: str, run: int) -> list[str]:
    """Start a writer, kill it at a random moment, and return the batches it reported."""
    writer = await asyncio.create_subprocess_exec(
        sys.executable, "-c", WRITER, file_name, str(run), stdout=asyncio.subprocess.PIPE
    )
    assert writer.stdout is not None
    assert await asyncio.wait_for(writer.stdout.readline(), timeout=30) == b"ready\n"
    await asyncio.sleep(random.uniform(0.05, 0.4))
    os.kill(writer.pid, signal.SIGKILL)
    output = await writer.stdout.read()
    await writer.wait()
    assert writer.returncode == -signal.SIGKILL
    return output.decode().split()


async def test_a_killed_writer_leaves_whole_batches_and_keeps_what_it_committed(
    tmp_path: Path,
) -> None:
    # Five writers share the file, each killed at its own random moment. Writing takes
    # about half of a writer's time, so all five kills miss a transaction only rarely.
    file_name = str(tmp_path / "killed.db")
    runs = await asyncio.gather(*(_run_and_kill(file_name, run) for run in range(5)))
    acknowledged = [batch for batches in runs for batch in batches]

    store = SqliteDomainEventStore(SqliteDatabase(file_name), DomainEventTableNames())
    revisions: dict[str, list[int]] = defaultdict(list)
    batches: Counter[str] = Counter()
    async for positioned in store.get_replay_by_position():
        domain_event = positioned.domain_event
        revisions[domain_event.aggregate_identifier.aggregate.id].append(
            domain_event.metadata.revision
        )
        batches[domain_event.data["batch"]] += 1
    await store.destroy()

    # Every batch that is there is there whole, and every acknowledged one is there.
    assert set(batches.values()) == {100}
    assert set(acknowledged) <= set(batches)
    assert len(acknowledged) > 0
    # Each aggregate's revisions run from 1 without gaps, and stop at a batch's end.
    for aggregate_revisions in revisions.values():
        assert aggregate_revisions == list(range(1, len(aggregate_revisions) + 1))
        assert len(aggregate_revisions) % 20 == 0
