"""The ``.part`` file: large writes off the event loop, and fsync beside them.

A single stream appends to a :class:`PartFile` (one write in flight, one
fsync beside it); a segmented download writes in place into a preallocated
:class:`PositionalPart`. Every blocking call runs on the blocking lane
(:mod:`.blocking`), one hop per MiB-scale block; the optional sha256 is
updated in the same hop, so hashing costs no second pass over the file and
no time on the event loop.

Files are named by their full path (for messages) and, optionally, the
job's open :class:`~drayman.queue.folder.JobFolder`: then the file is reached
relative to that open directory, never through a path a link could redirect.
What a reopened file is trusted for is :mod:`.partcheck`'s; how a finished
one gets its name, :mod:`.finish`'s.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import os
import stat
import threading
from collections import deque
from collections.abc import Callable
from typing import Any

from drayman.errors import PermanentError
from drayman.faults import crash_point
from drayman.queue.blocking import run_blocking, start_blocking
from drayman.queue.durable import full_fsync
from drayman.queue.folder import JobFolder, locate
from drayman.queue.partcheck import (
    TAIL_BYTES,
    KnownPart,
    PartNotOurs,
    check_in_place,
    digest,
    hash_prefix,
    identity_of,
    read_tail,
    trusted_length,
)

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_BINARY = getattr(os, "O_BINARY", 0)
_HAVE_WRITEV = hasattr(os, "writev")
_IOV_MAX = 512


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
        on_open: Callable[[PartFile], object] | None = None,
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
        (offset 0). A symlink at ``path`` is never followed. ``on_open(part)``
        runs in the same blocking call, once the file is open (the ``.part``'s
        first record: one hop to the lane less per file).
        """
        return await run_blocking(
            cls._open_sync, path, offset, create, want_hash, folder, known, on_open
        )

    @classmethod
    def _open_sync(
        cls,
        path: str,
        offset: int,
        create: bool,
        want_hash: bool,
        folder: JobFolder | None,
        known: KnownPart | None,
        on_open: Callable[[PartFile], object] | None = None,
    ) -> PartFile:
        name, dir_fd = locate(path, folder)
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
            trusted, found = trusted_length(fd, info, offset, created, known, path)
            if info.st_size != trusted:
                os.ftruncate(fd, trusted)
            os.lseek(fd, trusted, os.SEEK_SET)
            hasher = hashlib.sha256() if want_hash else None
            if hasher is not None and trusted:
                hash_prefix(fd, trusted, hasher)
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
                tail = read_tail(fd, trusted)
            except OSError as exc:
                part.close()
                raise disk_error(exc, path) from exc
            if tail is not None:
                part._remember([memoryview(tail)])
        if on_open is not None:
            on_open(part)
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

    def restart(self, on_open: Callable[[PartFile], object] | None = None) -> None:
        """Cut the file to zero for a download from byte 0 (blocking; tiny).

        ``on_open(self)`` runs after, as after :meth:`open`."""
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
        if on_open is not None:
            on_open(self)

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

    def append_view(self, view: memoryview) -> int:
        """Write ``view`` at the end, from a buffer the caller reuses (a pump's thread).

        As a write of the lane: the offset counts exactly what landed, the
        tail is kept (a copy: the buffer is about to be refilled), the hash
        fed. Returns the bytes written: all of them, or it raises.
        """
        fd = self._fileno()
        hasher = self.hasher
        size = len(view)
        try:
            while view:
                written = os.write(fd, view)
                landed, view = view[:written], view[written:]
                if hasher is not None:
                    hasher.update(landed)
                tail = memoryview(bytes(landed[-TAIL_BYTES:]))
                with self._lock:
                    self.offset += written
                    self._remember([tail])
        except OSError as exc:
            raise disk_error(exc, self.path) from exc
        return size

    def append_from(self, pipe: int, size: int) -> int:
        """As :meth:`append_view`, the bytes moved from ``pipe`` (a pump's splice, Linux).

        They never pass through Python: the tail is read back from the file
        (the page cache) by the thread that just wrote it, nothing else writes
        to the file meanwhile.
        """
        fd = self._fileno()
        try:
            left = size
            while left:
                # at the file's position, which moves on (as os.write's)
                moved = _splice_out(pipe, fd, left, None)
                left -= moved
                with self._lock:
                    self.offset += moved
                    start = max(self.offset - TAIL_BYTES, 0)
                    self._remember([memoryview(os.pread(fd, self.offset - start, start))])
        except OSError as exc:
            raise disk_error(exc, self.path) from exc
        return size

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
        return digest(data[len(data) - want :])

    async def write(self, chunks: list[bytes]) -> None:
        """Start writing ``chunks``; returns once the *previous* write is done.

        A failed write raises here at the next call, or from :meth:`sync`.
        """
        await self.drain()
        self._write = start_blocking(self._write_sync, chunks)

    async def drain(self) -> None:
        """Wait for the write in flight: the file then ends at :attr:`offset`."""
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
        await self.drain()
        if self._sync is not None and not self._sync.done():
            await asyncio.shield(self._sync)
        self._sync = None
        return await asyncio.shield(self.start_sync())

    async def write_and_sync(
        self, chunks: list[bytes], then: Callable[[int], object] | None = None
    ) -> int:
        """Write ``chunks`` (the last of the file), fsync, then ``then(offset)``: one
        hop to the blocking lane instead of three (a small file is all last block).

        As :meth:`sync`, return the offset now durable; ``then`` runs on the
        lane thread after the fsync (the ``.part``'s record of that offset).
        """
        await self.drain()
        if self._sync is not None and not self._sync.done():
            await asyncio.shield(self._sync)
        self._sync = start_blocking(self._write_sync_then, chunks, then)
        return await asyncio.shield(self._sync)

    def write_sync_then(self, chunks: list[bytes], then: Callable[[int], object] | None) -> int:
        """:meth:`write_and_sync`'s call, for a blocking call already on the lane."""
        return self._write_sync_then(chunks, then)

    def _write_sync_then(self, chunks: list[bytes], then: Callable[[int], object] | None) -> int:
        if chunks:
            self._write_sync(chunks)
        offset = self._sync_sync()
        if then is not None:
            then(offset)
        return offset

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
        part, _ = cls._open(path, folder)
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
            part, info = cls._open(path, folder)
        except PermanentError as exc:
            if isinstance(exc.__cause__, FileNotFoundError):
                return None
            raise
        if identity is not None and part.identity != identity:
            part.close()
            raise PartNotOurs(path)
        if info.st_size != size:
            part.close()
            return None
        return part

    @classmethod
    def _open(cls, path: str, folder: JobFolder | None) -> tuple[PositionalPart, os.stat_result]:
        """Open the regular file at ``path`` (never through a link), and its stat."""
        name, dir_fd = locate(path, folder)
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
        return cls(path, fd, folder, identity), info

    def write_at(self, chunks: list[bytes] | list[memoryview], offset: int) -> int:
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

    def splice_at(self, pipe: int, size: int, offset: int) -> int:
        """Move ``size`` bytes from ``pipe`` to ``offset`` (a pump's splice, Linux);
        return the end offset."""
        fd = self._fileno()
        position = offset
        try:
            while position < offset + size:
                position += _splice_out(pipe, fd, offset + size - position, position)
        except OSError as exc:
            raise disk_error(exc, self.path) from exc
        return position

    def sync(self) -> None:
        """fsync: every write that had returned before this call is durable after it.

        Raises :class:`PartFileLost` if the file is no longer at its name.
        """
        self._sync_in_place()


def _splice_out(pipe: int, fd: int, size: int, offset: int | None) -> int:
    """Up to ``size`` bytes from ``pipe`` into the file (at ``offset``, else at its position)."""
    moved = os.splice(pipe, fd, size, offset_dst=offset)
    if not moved:  # the pump filled it with these bytes: they are there
        raise OSError(errno.EIO, "the pipe held fewer bytes than it was given")
    return moved


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
