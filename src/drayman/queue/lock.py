"""One engine per database: an OS file lock next to the database, holding the pid.

The OS releases the lock when the holder dies, even by SIGKILL, so a stale
lock never blocks the next start. filelock would truncate the file while
trying, wiping the holder's pid; this keeps it readable for the message.
"""

from __future__ import annotations

import os
import sys
from typing import IO

from drayman.errors import DatabaseUnavailable, EngineAlreadyRunning


def lock_path_for(db_path: str | os.PathLike[str]) -> str:
    return os.fspath(db_path) + ".engine.lock"


def _try_lock(handle: IO[bytes]) -> bool:
    if sys.platform == "win32":  # pragma: no cover - exercised by the Windows CI workflow
        import msvcrt

        try:
            handle.seek(0)
            msvcrt.locking(handle.fileno(), msvcrt.LK_NBLCK, 1)
        except OSError:
            return False
        return True
    import fcntl

    try:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


def read_holder(db_path: str | os.PathLike[str]) -> int | None:
    """The pid recorded by the engine holding the lock, if it still holds it."""
    path = lock_path_for(db_path)
    try:
        with open(path, "a+b") as handle:
            if _try_lock(handle):
                return None  # nobody holds it (our lock goes away on close)
            handle.seek(1)
            text = handle.read(32).decode("ascii", "replace").strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else -1


class EngineLock:
    """Held for the life of an engine; :class:`EngineAlreadyRunning` otherwise."""

    def __init__(self, db_path: str | os.PathLike[str]) -> None:
        self.db_path = os.fspath(db_path)
        self.path = lock_path_for(db_path)
        self._handle: IO[bytes] | None = None

    def acquire(self) -> None:
        try:
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        except OSError as exc:
            raise DatabaseUnavailable(path=self.path, detail=exc.strerror or str(exc)) from exc
        handle = os.fdopen(fd, "r+b")
        if not _try_lock(handle):
            handle.seek(1)
            text = handle.read(32).decode("ascii", "replace").strip()
            handle.close()
            raise EngineAlreadyRunning(pid=text if text.isdigit() else "unknown", path=self.db_path)
        # byte 0 is the one msvcrt locks; the pid follows it
        handle.seek(0)
        handle.truncate()
        handle.write(b"\n" + str(os.getpid()).encode() + b"\n")
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()
            self._handle = None

    @property
    def held(self) -> bool:
        return self._handle is not None

    def __enter__(self) -> EngineLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
