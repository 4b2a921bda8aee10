"""The instructions a command executes, as valgrind counts them (user space only: time in the
kernel is not in them). The count is the same from run to run to a few in ten thousand,
whatever else the machine does, which CPU time on a shared machine is not."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Mapping, Sequence

#: cachegrind without its cache simulation counts instructions at the least cost.
_VALGRIND = ("valgrind", "--tool=cachegrind", "--cache-sim=no", "--cachegrind-out-file=/dev/null")


def instructions_of(command: Sequence[str], environment: Mapping[str, str]) -> int:
    """The instructions ``command`` executes, start to end, under valgrind."""
    report = subprocess.run(
        [*_VALGRIND, *command],
        env=dict(environment),
        check=True,
        capture_output=True,
        text=True,
    ).stderr
    found = re.search(r"I\s+refs:\s+([\d,]+)", report)
    assert found is not None, report
    return int(found.group(1).replace(",", ""))
