"""Named crash points, for tests that kill drayman at an exact step.

``crash_point("migration.3")`` SIGKILLs the whole process when the
``DRAYMAN_CRASH_AT`` environment variable names that point, which lets a test
run a real ``drayman`` command and stop it between two writes that must
survive a crash in either order. The variable is read once, at import: with
it unset a crash point is one comparison with ``None``.

The points:

- ``migration.N``: the statements of migration N ran and ``user_version`` is
  bumped, inside its transaction; the COMMIT has not happened
"""

from __future__ import annotations

import os
import signal

#: the point to die at, if any
CRASH_AT = os.environ.get("DRAYMAN_CRASH_AT") or None


def crash_point(name: str) -> None:
    """Die here, at once and without cleanup, if ``DRAYMAN_CRASH_AT`` says so."""
    if CRASH_AT is not None and name == CRASH_AT:  # pragma: no cover - the process ends
        # SIGKILL, not an exception: no finally block, no atexit, no flush runs,
        # as in a power cut or an OOM kill
        os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))
