"""The wall clock the engine runs by, which a test may set.

Retries and the schedule's bands read the time (seconds since the epoch)
through one function, so tests drive a real ``drayman run`` through hours of
schedule without waiting for them: ``DRAYMAN_CLOCK_FILE=PATH`` makes drayman
read the time from that file (a number of seconds since the epoch), for tests
only, like ``DRAYMAN_BOOT_ID``. A missing or unreadable file reads as the
real time. The time zone is the computer's (``TZ`` sets it, as usual).
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable

#: the environment variable a test sets to move drayman's clock
CLOCK_FILE_ENV = "DRAYMAN_CLOCK_FILE"


def wall_clock() -> Callable[[], float]:
    """:func:`time.time`, unless ``DRAYMAN_CLOCK_FILE`` names a file to read it from."""
    path = os.environ.get(CLOCK_FILE_ENV)
    if not path:
        return time.time

    def from_file() -> float:
        try:
            with open(path, encoding="ascii") as handle:
                return float(handle.read().strip())
        except (OSError, ValueError):
            return time.time()

    return from_file
