"""Named crash points, for tests that kill drayman at an exact step.

``crash_point("finish.after-link")`` SIGKILLs the whole process when the
``DRAYMAN_CRASH_AT`` environment variable names that point, which lets a test
run a real ``drayman`` command and stop it between two writes that must
survive a crash in either order. ``NAME#N`` dies the N-th time the point is
passed (``checkpoint.before-commit#2``: after one checkpoint was committed).
The variable is read once, at import: with it unset a crash point is one
comparison with ``None``.

The points:

- ``migration.N``: the statements of migration N ran and ``user_version`` is
  bumped, inside its transaction; the COMMIT has not happened
- ``name.after-commit``: the file's name (and, sorted by file type, its
  category's folder, made) is committed; no ``.part`` exists yet
- ``checkpoint.before-commit``: data written and fsynced, offset not committed
- ``finish.after-fsync``: the complete ``.part`` fsynced and its length committed
- ``finish.after-copy``: (other device only) the copy in the folder is fsynced
- ``finish.after-link``: the final name exists; the ``.part`` name too
- ``finish.after-unlink``: only the final name is left
- ``finish.after-dir-fsync``: the folder is fsynced; ``done`` not yet committed
"""

from __future__ import annotations

import os
import signal


def _parse(value: str | None) -> tuple[str | None, int]:
    if not value:
        return None, 0
    name, _, count = value.partition("#")
    return name, int(count) if count.isdigit() else 1


#: the point to die at, if any, and at which pass
CRASH_AT, _CRASH_ON_PASS = _parse(os.environ.get("DRAYMAN_CRASH_AT"))
_passes = 0


def crash_point(name: str) -> None:
    """Die here, at once and without cleanup, if ``DRAYMAN_CRASH_AT`` says so."""
    global _passes
    if CRASH_AT is None or name != CRASH_AT:
        return
    _passes += 1
    if _passes >= _CRASH_ON_PASS:  # pragma: no cover - the process ends here
        # SIGKILL, not an exception: no finally block, no atexit, no flush runs,
        # as in a power cut or an OOM kill
        os.kill(os.getpid(), getattr(signal, "SIGKILL", signal.SIGTERM))
