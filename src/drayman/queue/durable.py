"""Making writes durable: the flush each OS needs, and folder fsyncs shared by finishes.

A file's data reaches stable storage with :func:`full_fsync` (``F_FULLFSYNC``
on macOS, where plain fsync stops at the drive's cache). A finished file's
new name is made durable by an fsync of its folder; :func:`sync_folder`
lets the transfers finishing in one folder share those fsyncs.
"""

from __future__ import annotations

import errno
import os
import sys
import threading
from collections.abc import Callable

from drayman.queue.folder import JobFolder

#: fcntl command for a flush through the drive's cache; the value macOS uses
F_FULLFSYNC = 51


def _full_fsync_darwin(fd: int) -> None:
    """macOS: plain fsync stops at the drive's cache; F_FULLFSYNC goes through it.

    Some file systems (network shares, FAT on USB) refuse F_FULLFSYNC: then
    plain fsync is the best there is.
    """
    import fcntl

    try:
        fcntl.fcntl(fd, F_FULLFSYNC)
        return
    except OSError:
        pass
    os.fsync(fd)


def data_sync_for(platform: str) -> Callable[[int], None]:
    """The call that makes a file's data durable on ``platform`` (``sys.platform``)."""
    if platform == "darwin":
        return _full_fsync_darwin
    # Linux, the BSDs: fsync reaches stable storage. Windows: os.fsync is
    # _commit, which is FlushFileBuffers.
    return os.fsync


def full_fsync(fd: int) -> None:
    """Flush a file's data to stable storage, the right way for this OS."""
    data_sync_for(sys.platform)(fd)


# -- coalesced folder fsyncs --------------------------------------------------------


class _Waiter:
    """One caller of :meth:`FolderSyncs.sync`, until its round is done."""

    def __init__(self, folder: JobFolder) -> None:
        self.folder = folder
        self.done = False
        self.error: Exception | None = None


class FolderSyncs:
    """Coalesced folder fsyncs: one fsync of a folder covers every rename made
    in it before that fsync *started*.

    :meth:`sync` blocks (it runs on the blocking lane, in the same call as the
    rename it makes durable: no hop of its own) until an fsync that started
    after the call is done. If one of the folder is already running (it may
    have started before our rename), the caller joins the next round, which
    every caller arriving meanwhile shares and the first of them to see the
    folder free runs. Two hundred files finishing in one folder cost a
    handful of folder fsyncs, not two hundred, and each caller still returns
    only once its rename is durable.

    A round fsyncs each distinct directory among its callers' open folders
    once (told apart by device and inode, so a folder replaced under the
    same path still gets its own fsync), and each caller gets the outcome
    of its own folder's fsync.
    """

    def __init__(self) -> None:
        self._lock = threading.Condition()
        #: folders with a round in flight, and the callers waiting for the next
        self._running: set[str] = set()
        self._next: dict[str, list[_Waiter]] = {}
        #: rounds started (the benchmarks count them)
        self.count = 0

    def sync(self, folder: JobFolder) -> None:
        """Return once ``folder`` was fsynced after this call (blocking). Raises OSError."""
        waiter, key = _Waiter(folder), folder.path
        with self._lock:
            self._next.setdefault(key, []).append(waiter)
            while not waiter.done:
                if key in self._running:
                    self._lock.wait()
                    continue
                # the folder is free: run the next round, for every caller waiting
                self._run_round(key)
        if waiter.error is not None:
            raise waiter.error

    def waiting(self, folder: JobFolder) -> int:
        """Callers waiting for the next round of ``folder``'s path (tests watch it)."""
        with self._lock:
            return len(self._next.get(folder.path, ()))

    def _run_round(self, key: str) -> None:
        """Run one round (called holding the lock; released during the fsyncs)."""
        waiters = self._next.pop(key)
        self._running.add(key)
        self.count += 1
        outcomes: list[OSError | None] = [OSError(errno.EIO, "the folder fsync did not run")]
        outcomes *= len(waiters)
        self._lock.release()
        try:
            outcomes = _sync_folders([w.folder for w in waiters])
        finally:
            self._lock.acquire()
            for waiter, outcome in zip(waiters, outcomes, strict=True):
                waiter.done, waiter.error = True, outcome
            self._running.discard(key)
            self._lock.notify_all()


def _sync_folders(folders: list[JobFolder]) -> list[OSError | None]:
    """fsync each distinct directory once; the outcome for each folder, in order."""
    outcomes: dict[object, OSError | None] = {}
    result: list[OSError | None] = []
    for folder in folders:
        try:
            info = os.fstat(folder.fd) if folder.fd is not None else os.stat(folder.path)
            identity: object = (info.st_dev, info.st_ino)
        except OSError:
            identity = id(folder)  # let its own fsync say what is wrong
        if identity not in outcomes:
            try:
                folder.sync()
                outcomes[identity] = None
            except OSError as exc:
                outcomes[identity] = exc
        result.append(outcomes[identity])
    return result


#: the process's folder fsyncs, shared by every transfer (and every event loop)
FOLDER_SYNCS = FolderSyncs()


def sync_folder(folder: JobFolder) -> None:
    """fsync ``folder``, coalesced with other finishes in it (blocking: call it on
    the blocking lane). Raises OSError."""
    FOLDER_SYNCS.sync(folder)
