"""Garbage-collector settings for long-running wolkenkit processes.

CPython's defaults collect the youngest generation every 700 allocations and the whole heap
whenever it grew by a quarter. An event-sourced process allocates many short-lived objects
per command and, with in-memory stores or caches, keeps a large and growing heap, so full
collections end up costing as much as the work itself (measured: about half the time of
in-process command handling). The runtime therefore freezes what exists after start-up and
collects less often; reference cycles are still collected, memory is not leaked.
"""

from __future__ import annotations

import gc

#: Young-generation threshold and the two older generations' multipliers. Full collections
#: come as rarely as with (10_000, 20, 100), once per 20 million allocations, but the middle
#: generation stays small: it is collected in one go, and with in-memory stores nearly every
#: object in it survives, so at 200,000 objects a pause took about 100 ms (measured under load,
#: the runtime's worst latency), at 30,000 about 15 ms. The young generation is not as small
#: as it could be: with stores on disk, what a command leaves (its event, waiting for the
#: flows) lives a few milliseconds, and collecting every 1,000 allocations scanned it again
#: and again (the chat sample under ``wk dev``: 230 ms of collections per 10,000 commands at
#: 1,000, 110 ms at 3,000; with ``--in-memory`` 280 and 180 ms).
GC_THRESHOLDS = (3_000, 10, 667)


def tune_garbage_collector() -> None:
    """Apply the runtime's settings; call once, after start-up work is done."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
