"""The ``.part`` file: large writes off the event loop, fsync, and the finish rename.

Every blocking call runs on the blocking lane (:mod:`.blocking`), one hop
per MiB-scale block; the optional sha256 is updated in the same hop, so
hashing costs no second pass over the file and no time on the event loop.

Every function takes the file's full path (for messages) and, optionally, the
job's open :class:`~drayman.queue.folder.JobFolder`: then the file is reached
relative to that open directory, never through a path a link could redirect.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import os
import stat
import sys
import threading
import weakref
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from drayman.errors import PartFileLost, PermanentError
from drayman.faults import crash_point
from drayman.jobs import PART_SUFFIX
from drayman.queue.blocking import run_blocking, start_blocking
from drayman.queue.folder import JobFolder, can_open_folders

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_BINARY = getattr(os, "O_BINARY", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_READ_BLOCK = 4 * 1024 * 1024
_HAVE_WRITEV = hasattr(os, "writev")
_IOV_MAX = 512
#: bytes before the durable offset whose digest is kept with it (see KnownPart)
TAIL_BYTES = 64 * 1024
#: fcntl command for a flush through the drive's cache; the value macOS uses
F_FULLFSYNC = 51
#: link() errors meaning "no hard links here" (FAT, exFAT, some network shares)
_NO_HARD_LINKS = frozenset(
    {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.ENOSYS}
)


def disk_error(exc: OSError, path: str) -> PermanentError:
    """A one-line, plain-words error for a failed file operation."""
    reasons = {
        errno.ENOSPC: "the disk is full",
        errno.EDQUOT: "the disk quota is exhausted",
        errno.EROFS: "the folder is on a read-only file system",
        errno.EACCES: "permission denied",
        errno.EPERM: "permission denied",
        errno.ENOENT: "the folder no longer exists",
        errno.ELOOP: "refusing to follow a symbolic link",
        errno.EISDIR: "a folder is in the way",
        errno.ENOTDIR: "a file is in the way of the folder",
        errno.EIO: "input/output error (is the drive still connected?)",
        errno.ENODEV: "the drive is gone (was it disconnected?)",
        errno.ENXIO: "the drive is gone (was it disconnected?)",
        errno.ESTALE: "the network share went away",
        errno.EEXIST: "a file of that name appeared",
    }
    reason = reasons.get(exc.errno or 0, exc.strerror or str(exc))
    return PermanentError(f"cannot write {path}: {reason}")


# -- durable flush, per OS -------------------------------------------------------


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


def fsync_dir(path: str, *, platform: str = sys.platform) -> None:
    """Make a rename in ``path`` durable. Windows cannot open folders: skipped there
    (NTFS journals the rename itself)."""
    if not can_open_folders(platform):
        return
    fd = os.open(path, os.O_RDONLY | _DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


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


# -- knowing our own file ----------------------------------------------------------


@dataclass(frozen=True)
class KnownPart:
    """What the database remembers about a job's ``.part`` file.

    ``identity`` says *which* file it is (device and inode), ``tail`` what its
    last :data:`TAIL_BYTES` before the durable offset were. Together they tell
    our file (perhaps cut short, or grown by writes after the last checkpoint)
    from another file put at its name, and a copy of ours (a folder moved to
    another drive and back) from a stranger. Either may be unknown (None).
    """

    identity: str | None = None
    tail: str | None = None


class PartNotOurs(Exception):
    """A file at the ``.part`` name is not the one we wrote: it is left alone."""

    def __init__(self, path: str) -> None:
        super().__init__(f"{path} is not the partial file drayman wrote")
        self.path = path


def identity_of(fd: int, info: os.stat_result) -> str:
    """Which file this is: device, inode and, where the OS tells, birth time.

    Device and inode alone are not enough: a file deleted and another one
    created at its name often gets the freed inode number back. Its birth
    time is new, though.
    """
    born = _birth_time_ns(fd, info)
    return f"{info.st_dev}:{info.st_ino}:{'-' if born is None else born}"


_statx: Any = None


def _birth_time_ns(fd: int, info: os.stat_result) -> int | None:
    if sys.platform.startswith("linux"):
        return _statx_birth_time_ns(fd)
    born = getattr(info, "st_birthtime_ns", None)  # macOS, BSD; Windows on 3.12+
    if born is None and hasattr(info, "st_birthtime"):
        born = int(info.st_birthtime * 1e9)
    if born is None and sys.platform == "win32":
        born = info.st_ctime_ns  # the creation time on Windows
    return None if born is None else int(born)


def _statx_birth_time_ns(fd: int) -> int | None:
    """statx(2)'s btime (os.stat has none on Linux); None where unsupported."""
    global _statx
    import ctypes
    import struct

    if _statx is None:
        try:
            _statx = ctypes.CDLL(None, use_errno=True).statx
        except (AttributeError, OSError):  # a C library without statx (glibc < 2.28)
            _statx = False
    if _statx is False:
        return None
    at_empty_path, statx_btime = 0x1000, 0x800
    buffer = ctypes.create_string_buffer(256)  # struct statx is 256 bytes
    if _statx(fd, b"", at_empty_path, statx_btime, buffer) != 0:
        return None
    (mask,) = struct.unpack_from("I", buffer, 0)
    if not mask & statx_btime:
        return None
    seconds, nanoseconds = struct.unpack_from("qI", buffer, 80)  # stx_btime
    return int(seconds) * 1_000_000_000 + int(nanoseconds)


def _pread(fd: int, length: int, offset: int) -> bytes:
    """os.pread, or seek-read-seek back where there is none (Windows). Used
    only where no write runs on the same file at the same time."""
    if hasattr(os, "pread"):
        return os.pread(fd, length, offset)
    position = os.lseek(fd, 0, os.SEEK_CUR)  # pragma: no cover - Windows
    try:
        os.lseek(fd, offset, os.SEEK_SET)
        return os.read(fd, length)
    finally:
        os.lseek(fd, position, os.SEEK_SET)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:32]


def _read_tail(fd: int, offset: int) -> bytes | None:
    """The :data:`TAIL_BYTES` before ``offset``; None if the file is shorter."""
    start = max(offset - TAIL_BYTES, 0)
    data = _pread(fd, offset - start, start)
    return data if len(data) == offset - start else None


def tail_digest(fd: int, offset: int) -> str | None:
    """A digest of the :data:`TAIL_BYTES` before ``offset`` in the file (None at 0)."""
    if offset <= 0:
        return None
    data = _read_tail(fd, offset)
    # "short" is never equal to a digest: the file is shorter than offset
    return "short" if data is None else _digest(data)


def check_in_place(fd: int, path: str, folder: JobFolder | None) -> None:
    """Raise :class:`PartFileLost` unless ``path`` still names the open file ``fd``.

    On POSIX an open file outlives its name: with its folder deleted (or
    its drive unmounted) every write still "succeeds" into an inode no
    one can reach. Checked at every checkpoint, so the database never
    commits bytes that went nowhere, and a job never "finishes" there.
    """
    name, dir_fd = _where(path, folder)
    here = os.fstat(fd)
    try:
        there = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        if folder is not None:
            folder.verify()
    except FileNotFoundError:
        raise PartFileLost(path=path) from None
    if here.st_nlink == 0 or (here.st_dev, here.st_ino) != (there.st_dev, there.st_ino):
        raise PartFileLost(path=path)


def _refuse_link(name: str, dir_fd: int | None) -> None:
    """Raise ELOOP if ``name`` is a symbolic link (for where O_NOFOLLOW is missing)."""
    try:
        info = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return
    if stat.S_ISLNK(info.st_mode):
        raise OSError(errno.ELOOP, "a symbolic link", name)


def _is_the_file_at(opened: os.stat_result, name: str, dir_fd: int | None) -> bool:
    """Whether the open file is the one at ``name`` itself, not one a link there points to."""
    there = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
    return (opened.st_dev, opened.st_ino) == (there.st_dev, there.st_ino)


def _where(path: str, folder: JobFolder | None) -> tuple[str, int | None]:
    """(name for the os call, dir_fd) of ``path``, inside ``folder`` when given."""
    if folder is None:
        return path, None
    return folder.at(os.path.basename(path)), folder.fd


class _OpenPart:
    """A ``.part`` open by its descriptor, reached through the job's folder."""

    def __init__(self, path: str, fd: int, folder: JobFolder | None, identity: str) -> None:
        self.path = path
        self._fd: int | None = fd
        self._folder = folder
        #: which file this is (see KnownPart)
        self.identity = identity

    def _fileno(self) -> int:
        if self._fd is None:
            raise ValueError("the part file is closed")
        return self._fd

    def fileno(self) -> int:
        """The open file (for calls that must not go through its path)."""
        return self._fileno()

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    @property
    def closed(self) -> bool:
        return self._fd is None

    def _sync_in_place(self) -> None:
        """fsync, then check the file is still at its name (:class:`PartFileLost` if not).

        Every write that had returned before this call is durable after it.
        """
        fd = self._fileno()
        try:
            full_fsync(fd)
            check_in_place(fd, self.path, self._folder)
        except OSError as exc:
            raise disk_error(exc, self.path) from exc


class PartFile(_OpenPart):
    """An open ``.part`` file positioned at its durable end.

    Two lanes keep the disk busy while the event loop keeps reading the
    socket: at most one write is in flight (the next block is gathered
    meanwhile), and at most one fsync runs beside it. An fsync makes durable
    every write that had *finished* when it started, which is the offset it
    reports; a write still running is simply left for the next one.
    """

    def __init__(
        self,
        path: str,
        fd: int,
        offset: int,
        hasher: Any | None,
        *,
        folder: JobFolder | None = None,
        identity: str = "",
        found: str = "",
    ) -> None:
        super().__init__(path, fd, folder, identity)
        #: bytes of finished writes in the file (durable only after a sync)
        self.offset = offset
        #: bytes known to be on disk
        self.synced = offset
        #: (offset, tail_digest at it) of the last sync
        self.synced_tail: tuple[int, str | None] = (offset, None)
        #: the last TAIL_BYTES (or more) written, ending at self.offset: the tail
        #: digest is computed from these, never by reading the file while the
        #: write lane appends to it (which some FUSE file systems get wrong)
        self._recent: deque[memoryview] = deque()
        self._recent_size = 0
        self._lock = threading.Lock()
        self.hasher = hasher
        #: what opening it found, in words, when it was not simply resumed
        self.found = found
        self._write: asyncio.Future[None] | None = None
        self._sync: asyncio.Future[int] | None = None

    @classmethod
    async def open(
        cls,
        path: str,
        offset: int,
        *,
        create: bool,
        want_hash: bool,
        folder: JobFolder | None = None,
        known: KnownPart | None = None,
    ) -> PartFile:
        """Open ``path`` and cut it back to what can be trusted of ``offset``.

        The offset in the database never exceeds what was fsynced, but the
        file may hold more (written after the last checkpoint): that tail is
        cut. Nothing beyond the file's length is trusted: a file cut short
        resumes from its length. With ``known``, a file that is not the one
        we wrote raises :class:`PartNotOurs` (and is left untouched), and one
        whose bytes before ``offset`` changed starts again from zero.
        ``create`` makes a new file and refuses an existing one (O_EXCL), so
        another program's file is never reused. A missing file is created
        (offset 0). A symlink at ``path`` is never followed.
        """
        return await run_blocking(cls._open_sync, path, offset, create, want_hash, folder, known)

    @classmethod
    def _open_sync(
        cls,
        path: str,
        offset: int,
        create: bool,
        want_hash: bool,
        folder: JobFolder | None,
        known: KnownPart | None,
    ) -> PartFile:
        name, dir_fd = _where(path, folder)
        flags = os.O_RDWR | _NOFOLLOW | _BINARY
        created = create
        try:
            if not _NOFOLLOW:
                # no O_NOFOLLOW (Windows): look before opening, and compare after
                _refuse_link(name, dir_fd)
            if create:
                fd = os.open(name, flags | os.O_CREAT | os.O_EXCL, 0o666, dir_fd=dir_fd)
            else:
                try:
                    fd = os.open(name, flags, dir_fd=dir_fd)
                except FileNotFoundError:
                    # deleted behind our back (or never written): start afresh
                    fd = os.open(name, flags | os.O_CREAT | os.O_EXCL, 0o666, dir_fd=dir_fd)
                    created = True
        except OSError as exc:
            raise disk_error(exc, path) from exc
        try:
            info = os.fstat(fd)
            if not _NOFOLLOW and not _is_the_file_at(info, name, dir_fd):
                raise OSError(errno.ELOOP, "a symbolic link appeared while opening", path)
            if not stat.S_ISREG(info.st_mode):
                raise OSError(errno.EISDIR, "not a regular file", path)
            if folder is not None and folder.fd is None:
                # no open folder (Windows): the path was checked before this
                # open, so check it again after, before a byte is written
                cls._check_after_open(folder, name, created)
            trusted, found = cls._trusted_length(fd, info, offset, created, known, path)
            if info.st_size != trusted:
                os.ftruncate(fd, trusted)
            os.lseek(fd, trusted, os.SEEK_SET)
            hasher = hashlib.sha256() if want_hash else None
            if hasher is not None and trusted:
                cls._hash_prefix(fd, trusted, hasher)
        except OSError as exc:
            os.close(fd)
            raise disk_error(exc, path) from exc
        except BaseException:
            os.close(fd)
            raise
        part = cls(
            path, fd, trusted, hasher, folder=folder, identity=identity_of(fd, info), found=found
        )
        part.synced_tail = (trusted, known.tail if known and trusted == offset else None)
        if trusted:
            try:
                tail = _read_tail(fd, trusted)
            except OSError as exc:
                part.close()
                raise disk_error(exc, path) from exc
            if tail is not None:
                part._remember([memoryview(tail)])
        return part

    @staticmethod
    def _check_after_open(folder: JobFolder, name: str, created: bool) -> None:
        try:
            folder.verify()
        except BaseException:
            if created:  # an empty file we made where it must not be: take it back
                with contextlib.suppress(OSError):
                    os.unlink(name)
            raise

    @staticmethod
    def _trusted_length(
        fd: int,
        info: os.stat_result,
        offset: int,
        created: bool,
        known: KnownPart | None,
        path: str,
    ) -> tuple[int, str]:
        """How much of the file to keep, and what was found, in words."""
        size = info.st_size
        if created:
            return 0, "the partial file was missing; starting from byte 0" if offset else ""
        known = known or KnownPart()
        same_file = known.identity is None or known.identity == identity_of(fd, info)
        # the tail digest is checked whenever the file reaches the offset
        tail_ok: bool | None = None
        if known.tail is not None and offset and size >= offset:
            tail_ok = tail_digest(fd, offset) == known.tail
        if not same_file:
            if tail_ok:
                return offset, "the partial file was replaced by a copy of itself; resuming"
            raise PartNotOurs(path)
        if tail_ok is False:
            return 0, "the partial file was changed; starting from byte 0"
        if size < offset:
            return size, f"the partial file was cut short at {size} bytes; resuming from there"
        return offset, ""

    @staticmethod
    def _hash_prefix(fd: int, length: int, hasher: Any) -> None:
        position = 0
        while position < length:
            block = _pread(fd, min(_READ_BLOCK, length - position), position)
            if not block:
                raise OSError(errno.EIO, "the partial file shrank while it was being read")
            hasher.update(block)
            position += len(block)

    def restart(self) -> None:
        """Cut the file to zero for a download from byte 0 (blocking; tiny)."""
        fd = self._fileno()
        try:
            os.ftruncate(fd, 0)
            os.lseek(fd, 0, os.SEEK_SET)
        except OSError as exc:
            raise disk_error(exc, self.path) from exc
        with self._lock:
            self.offset = self.synced = 0
            self._recent.clear()
            self._recent_size = 0
        self.synced_tail = (0, None)
        if self.hasher is not None:
            self.hasher = hashlib.sha256()

    # -- the write lane --------------------------------------------------------

    def _write_sync(self, chunks: list[bytes]) -> None:
        fd = self._fileno()
        try:
            # writev hands the socket's chunks to the kernel without joining them
            pending = [memoryview(c) for c in chunks if c]
            while pending:
                written = (
                    os.writev(fd, pending[:_IOV_MAX]) if _HAVE_WRITEV else os.write(fd, pending[0])
                )
                landed, rest = [], written
                while pending and rest >= len(pending[0]):
                    rest -= len(pending[0])
                    landed.append(pending.pop(0))
                if rest:
                    landed.append(pending[0][:rest])
                    pending[0] = pending[0][rest:]
                with self._lock:
                    self.offset += written
                    self._remember(landed)
        except OSError as exc:
            # self.offset counts exactly the bytes that landed (a disk that
            # fills up takes part of a block): a sync can still commit them
            raise disk_error(exc, self.path) from exc
        if self.hasher is not None:
            for chunk in chunks:
                self.hasher.update(chunk)

    def _remember(self, views: list[memoryview]) -> None:
        """Keep the bytes just written, trimmed to the last TAIL_BYTES or so."""
        # only the views that can matter: a MiB block is many socket chunks
        start, size = len(views), 0
        while start > 0 and size < TAIL_BYTES:
            start -= 1
            size += len(views[start])
        if size >= TAIL_BYTES:
            self._recent.clear()
            self._recent_size = 0
        for view in views[start:]:
            self._recent.append(view)
            self._recent_size += len(view)
        while self._recent and self._recent_size - len(self._recent[0]) >= TAIL_BYTES:
            self._recent_size -= len(self._recent.popleft())

    @staticmethod
    def _tail_of(views: list[memoryview], size: int, offset: int) -> str | None:
        """The tail digest at ``offset`` from the bytes written just before it."""
        want = min(TAIL_BYTES, offset)
        if offset <= 0 or size < want:
            return None  # unknown (not after open(): it reads the tail it starts at)
        data = b"".join(views)
        return _digest(data[len(data) - want :])

    async def write(self, chunks: list[bytes]) -> None:
        """Start writing ``chunks``; returns once the *previous* write is done.

        A failed write raises here at the next call, or from :meth:`sync`.
        """
        await self._finish_write()
        self._write = start_blocking(self._write_sync, chunks)

    async def _finish_write(self) -> None:
        pending = self._write
        if pending is not None:
            # shield: if our task is cancelled the write still finishes in its
            # thread, and self.offset then says exactly what landed
            await asyncio.shield(pending)
            if self._write is pending:  # a checkpoint may wait here beside write()
                self._write = None

    # -- the sync lane -----------------------------------------------------------

    def _sync_sync(self) -> int:
        with self._lock:
            offset = self.offset  # finished writes only: those this fsync covers
            recent, recent_size = list(self._recent), self._recent_size
        tail = self._tail_of(recent, recent_size, offset)
        self._sync_in_place()
        if offset >= self.synced:
            self.synced = offset
            self.synced_tail = (offset, tail)
        crash_point("checkpoint.before-commit")
        return offset

    def start_sync(self) -> asyncio.Future[int]:
        """fsync beside the write lane; the future gives the offset now durable."""
        if self._sync is None or self._sync.done():
            self._sync = start_blocking(self._sync_sync)
        return self._sync

    async def sync(self) -> int:
        """Finish every write, then fsync; return the offset now durable."""
        await self._finish_write()
        if self._sync is not None and not self._sync.done():
            await asyncio.shield(self._sync)
        self._sync = None
        return await asyncio.shield(self.start_sync())

    async def settle(self) -> None:
        """Wait for whatever a cancellation or an error left running."""
        for pending in (self._write, self._sync):
            if pending is not None:
                # its error, if any, reaches the caller through write() or sync()
                with contextlib.suppress(PermanentError, ValueError):
                    await asyncio.shield(pending)
        self._write = None
        self._sync = None

    def tail_at(self, offset: int) -> str | None:
        """The tail digest of the last sync, if it was at ``offset``."""
        synced_at, tail = self.synced_tail
        return tail if synced_at == offset else None

    def hexdigest(self) -> str | None:
        return None if self.hasher is None else self.hasher.hexdigest()


def sha256_file(path: str, *, folder: JobFolder | None = None) -> str:
    """Hash a whole file (only for recovering an interrupted finish)."""
    hasher = hashlib.sha256()
    name, dir_fd = _where(path, folder)
    fd = os.open(name, os.O_RDONLY | _NOFOLLOW | _BINARY, dir_fd=dir_fd)
    try:
        PartFile._hash_prefix(fd, os.fstat(fd).st_size, hasher)
    finally:
        os.close(fd)
    return hasher.hexdigest()


# -- the finish: give the file its name, never over another file ------------------------


def place_final(part_path: str, final_path: str, *, folder: JobFolder | None = None) -> None:
    """Give the finished ``.part`` its final name without ever overwriting a file.

    A hard link fails if the name exists, atomically; the ``.part`` name is
    removed afterwards. A crash in between leaves both names on one inode,
    which :func:`finish_interrupted` recognises. File systems without hard
    links (FAT, some network shares) get a rename that refuses an existing
    name (atomically where the OS can: Linux renameat2, Windows rename).
    Where link or rename answer EXDEV (another device: some network and
    union file systems), the file is copied into the folder, fsynced, and
    that copy is renamed into place the same way.
    """
    part, dir_fd = _where(part_path, folder)
    final, _ = _where(final_path, folder)
    try:
        os.link(part, final, src_dir_fd=dir_fd, dst_dir_fd=dir_fd, follow_symlinks=False)
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno == errno.EXDEV:
            _copy_into_place(part_path, final_path, folder)
            return
        if exc.errno not in _NO_HARD_LINKS:
            raise
        try:
            rename_no_replace(part, final, dir_fd)
        except OSError as rename_error:
            if rename_error.errno != errno.EXDEV:
                raise
            _copy_into_place(part_path, final_path, folder)
        return
    crash_point("finish.after-link")
    os.unlink(part, dir_fd=dir_fd)
    crash_point("finish.after-unlink")


def _renameat2_noreplace(src: str, dst: str, dir_fd: int | None) -> bool:
    """Linux's atomic no-overwrite rename; False where the kernel or the file
    system does not offer it (then the caller checks, then renames)."""
    if not sys.platform.startswith("linux"):
        return False
    import ctypes

    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):  # a C library older than glibc 2.28, musl < 1.2.?
        return False
    at = -100 if dir_fd is None else dir_fd  # AT_FDCWD
    rename_noreplace = 1
    result = renameat2(at, os.fsencode(src), at, os.fsencode(dst), rename_noreplace)
    if result == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EINVAL, errno.ENOSYS, errno.ENOTSUP, errno.EOPNOTSUPP):
        return False
    raise OSError(code, os.strerror(code), dst)


def rename_no_replace(src: str, dst: str, dir_fd: int | None = None) -> None:
    """Rename ``src`` to ``dst`` in one folder; FileExistsError if ``dst`` exists."""
    if _renameat2_noreplace(src, dst, dir_fd):
        return
    try:
        os.stat(dst, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        pass
    else:
        raise FileExistsError(errno.EEXIST, "file exists", dst)
    # os.rename, not os.replace: on Windows it refuses an existing name itself
    os.rename(src, dst, src_dir_fd=dir_fd, dst_dir_fd=dir_fd)


def copy_name(final_path: str) -> str:
    """Where the other-device fallback copies a file before naming it."""
    return final_path + ".copy" + PART_SUFFIX


def _copy_into_place(part_path: str, final_path: str, folder: JobFolder | None) -> None:
    copy_path = copy_name(final_path)
    part, dir_fd = _where(part_path, folder)
    copy, _ = _where(copy_path, folder)
    final, _ = _where(final_path, folder)
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _BINARY
    try:
        target = os.open(copy, flags, 0o666, dir_fd=dir_fd)
    except FileExistsError:
        # a copy a crash left half done: the name is ours (.copy.part of our file)
        info = os.stat(copy, dir_fd=dir_fd, follow_symlinks=False)
        if not stat.S_ISREG(info.st_mode):
            raise
        os.unlink(copy, dir_fd=dir_fd)
        target = os.open(copy, flags, 0o666, dir_fd=dir_fd)
    try:
        source = os.open(part, os.O_RDONLY | _NOFOLLOW | _BINARY, dir_fd=dir_fd)
        try:
            while block := os.read(source, _READ_BLOCK):
                view = memoryview(block)
                while view:
                    view = view[os.write(target, view) :]
        finally:
            os.close(source)
        full_fsync(target)
    except BaseException:
        os.close(target)
        with contextlib.suppress(OSError):
            os.unlink(copy, dir_fd=dir_fd)
        raise
    os.close(target)
    crash_point("finish.after-copy")
    try:
        os.link(copy, final, src_dir_fd=dir_fd, dst_dir_fd=dir_fd, follow_symlinks=False)
    except FileExistsError:
        os.unlink(copy, dir_fd=dir_fd)
        raise
    except OSError as exc:
        if exc.errno not in _NO_HARD_LINKS and exc.errno != errno.EXDEV:
            raise
        try:
            rename_no_replace(copy, final, dir_fd)
        except FileExistsError:
            os.unlink(copy, dir_fd=dir_fd)
            raise
    else:
        os.unlink(copy, dir_fd=dir_fd)
    crash_point("finish.after-link")
    os.unlink(part, dir_fd=dir_fd)
    crash_point("finish.after-unlink")


def _same_content(first: int, second: int, size: int) -> bool:
    position = 0
    while position < size:
        length = min(_READ_BLOCK, size - position)
        block = _pread(first, length, position)
        if not block or block != _pread(second, length, position):
            return False
        position += len(block)
    return True


def finish_interrupted(
    part_path: str, final_path: str, size: int, *, folder: JobFolder | None = None
) -> bool:
    """Did a crash interrupt :func:`place_final` after the data was complete?

    True when the final file is in place with ``size`` bytes and the ``.part``
    is gone, is the same file (a hard link left by a crash), or holds the
    same bytes (a copy left by the other-device fallback); a leftover
    ``.part`` is then removed.
    """
    part, dir_fd = _where(part_path, folder)
    final, _ = _where(final_path, folder)
    try:
        final_info = os.stat(final, dir_fd=dir_fd, follow_symlinks=False)
    except OSError:
        return False
    if final_info.st_size != size or not stat.S_ISREG(final_info.st_mode):
        return False
    try:
        part_info = os.stat(part, dir_fd=dir_fd, follow_symlinks=False)
    except FileNotFoundError:
        return True
    same = (part_info.st_dev, part_info.st_ino) == (final_info.st_dev, final_info.st_ino)
    if not same and stat.S_ISREG(part_info.st_mode) and part_info.st_size == size:
        first = os.open(part, os.O_RDONLY | _NOFOLLOW | _BINARY, dir_fd=dir_fd)
        try:
            second = os.open(final, os.O_RDONLY | _NOFOLLOW | _BINARY, dir_fd=dir_fd)
            try:
                same = _same_content(first, second, size)
            finally:
                os.close(second)
        finally:
            os.close(first)
    if same:
        os.unlink(part, dir_fd=dir_fd)
        return True
    return False


#: positional writes exist (not on Windows): segmented downloads need them
HAVE_PWRITE = hasattr(os, "pwrite")
_HAVE_PWRITEV = hasattr(os, "pwritev")


class PositionalPart(_OpenPart):
    """A ``.part`` of known size written in place, by several connections at once.

    Every write names its offset (``pwritev``), so writers share no file
    position and each may have a write in flight. The file is preallocated
    to its full size; only the segment table in the database says which of
    its bytes are real. Reached through the job's open folder like
    :class:`PartFile`, and checked to still be at its name after every
    fsync. All calls block: run them in the executor.
    """

    @classmethod
    def create(cls, path: str, size: int, *, folder: JobFolder | None = None) -> PositionalPart:
        """Open the ``.part`` a single stream just started and give it ``size`` bytes.

        Bytes already in the file stay (a resumed prefix); the rest is
        reserved with posix_fallocate where the file system can, so a full
        disk shows now rather than half way, else the file is extended sparse.
        """
        part = cls._open(path, folder)
        try:
            preallocate(part._fileno(), size)
        except OSError as exc:
            part.close()
            raise disk_error(exc, path) from exc
        return part

    @classmethod
    def reopen(
        cls, path: str, size: int, *, folder: JobFolder | None = None, identity: str | None = None
    ) -> PositionalPart | None:
        """Open a segmented ``.part`` to resume it; None if it is missing or not
        ``size`` bytes long: nothing in it is trusted then.

        Raises :class:`PartNotOurs` if it is not the file we wrote (``identity``):
        another program's file is left alone.
        """
        try:
            part = cls._open(path, folder)
        except PermanentError as exc:
            if isinstance(exc.__cause__, FileNotFoundError):
                return None
            raise
        if identity is not None and part.identity != identity:
            part.close()
            raise PartNotOurs(path)
        try:
            right_size = os.fstat(part._fileno()).st_size == size
        except OSError as exc:
            part.close()
            raise disk_error(exc, path) from exc
        if not right_size:
            part.close()
            return None
        return part

    @classmethod
    def _open(cls, path: str, folder: JobFolder | None) -> PositionalPart:
        name, dir_fd = _where(path, folder)
        try:
            fd = os.open(name, os.O_RDWR | _NOFOLLOW | _BINARY, dir_fd=dir_fd)
        except OSError as exc:
            raise disk_error(exc, path) from exc
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise OSError(errno.EISDIR, "not a regular file", path)
            identity = identity_of(fd, info)
        except OSError as exc:
            os.close(fd)
            raise disk_error(exc, path) from exc
        return cls(path, fd, folder, identity)

    def write_at(self, chunks: list[bytes], offset: int) -> int:
        """Write ``chunks`` back to back from ``offset``; return the end offset."""
        fd = self._fileno()
        position = offset
        try:
            pending = [memoryview(c) for c in chunks if c]
            while pending:
                if _HAVE_PWRITEV:
                    written = os.pwritev(fd, pending[:_IOV_MAX], position)
                else:  # pragma: no cover - macOS before 11 has pwrite only
                    written = os.pwrite(fd, pending[0], position)
                position += written
                while pending and written >= len(pending[0]):
                    written -= len(pending[0])
                    pending.pop(0)
                if written:
                    pending[0] = pending[0][written:]
        except OSError as exc:
            raise disk_error(exc, self.path) from exc
        return position

    def sync(self) -> None:
        """fsync: every write that had returned before this call is durable after it.

        Raises :class:`PartFileLost` if the file is no longer at its name.
        """
        self._sync_in_place()


def preallocate(fd: int, size: int) -> None:
    """Make the file exactly ``size`` bytes, reserving the blocks where possible."""
    if hasattr(os, "posix_fallocate"):
        try:
            os.posix_fallocate(fd, 0, size)
        except OSError as exc:
            # file systems without fallocate (some network ones, ZFS): extend sparse
            if exc.errno not in (errno.EINVAL, errno.EOPNOTSUPP, errno.ENOSYS):
                raise
    if os.fstat(fd).st_size != size:
        os.ftruncate(fd, size)
