"""Making writes durable: the flush each OS needs, and folder fsyncs shared by finishes.

A file's data reaches stable storage with :func:`full_fsync` (``F_FULLFSYNC``
on macOS, where plain fsync stops at the drive's cache). A finished file's
new name is made durable by an fsync of its folder; :func:`sync_folder`
lets the transfers finishing in one folder share those fsyncs.
"""

from __future__ import annotations

import asyncio
import errno
import os
import sys
import weakref
from collections.abc import Callable

from drayman.queue.blocking import start_blocking
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


class FolderSyncs:
    """Coalesced folder fsyncs: one fsync of a folder covers every rename made
    in it before that fsync *started*.

    :meth:`sync` waits for an fsync that starts after the call: if one of the
    folder is already running (it may have started before our rename), the
    caller joins the next round, which every caller arriving meanwhile
    shares. Two hundred files finishing in one folder cost a handful of
    folder fsyncs, not two hundred, and each caller still returns only once
    its rename is durable.

    A round fsyncs each distinct directory among its callers' open folders
    once (told apart by device and inode, so a folder replaced under the
    same path still gets its own fsync), and each caller gets the outcome
    of its own folder's fsync.
    """

    def __init__(self) -> None:
        #: folders with a round in flight, and the callers waiting for the next
        self._running: set[str] = set()
        self._next: dict[str, list[tuple[JobFolder, asyncio.Future[None]]]] = {}
        #: rounds started (the benchmarks count them)
        self.count = 0

    async def sync(self, folder: JobFolder) -> None:
        """Return once ``folder`` was fsynced after this call. Raises OSError."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._next.setdefault(folder.path, []).append((folder, future))
        if folder.path not in self._running:
            self._start(folder.path)
        # shield: one cancelled caller must not cancel the round the others share
        await asyncio.shield(future)

    def _start(self, key: str) -> None:
        callers = [(f, future) for f, future in self._next.pop(key) if not future.done()]
        if not callers:
            return
        self._running.add(key)
        self.count += 1
        task = start_blocking(_sync_folders, [f for f, _ in callers])
        task.add_done_callback(lambda done: self._finished(key, callers, done))

    def _finished(
        self,
        key: str,
        callers: list[tuple[JobFolder, asyncio.Future[None]]],
        done: asyncio.Future[list[OSError | None]],
    ) -> None:
        self._running.discard(key)
        if done.cancelled() or done.exception() is not None:
            error = done.exception() if not done.cancelled() else None
            outcomes: list[BaseException | None] = [
                error or OSError(errno.EIO, "the folder fsync did not run")
            ] * len(callers)
        else:
            outcomes = list(done.result())
        for (_, future), outcome in zip(callers, outcomes, strict=True):
            if future.done():
                continue
            if outcome is None:
                future.set_result(None)
            else:
                future.set_exception(outcome)
        if key in self._next:
            self._start(key)


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


_FOLDER_SYNCS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, FolderSyncs] = (
    weakref.WeakKeyDictionary()
)


def folder_syncs() -> FolderSyncs:
    """The running loop's :class:`FolderSyncs`, shared by all its transfers."""
    loop = asyncio.get_running_loop()
    syncs = _FOLDER_SYNCS.get(loop)
    if syncs is None:
        syncs = _FOLDER_SYNCS[loop] = FolderSyncs()
    return syncs


async def sync_folder(folder: JobFolder) -> None:
    """fsync ``folder`` (coalesced with other transfers' finishes in it). Raises OSError."""
    await folder_syncs().sync(folder)
