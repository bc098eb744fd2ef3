"""The ``.part`` file: large writes off the event loop, fsync, and the finish rename.

Every blocking call runs in the default executor, one hop per MiB-scale
block; the optional sha256 is updated in the same hop, so hashing costs no
second pass over the file and no time on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import os
import sys
from typing import Any

from drayman.errors import PermanentError

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_BINARY = getattr(os, "O_BINARY", 0)
_READ_BLOCK = 4 * 1024 * 1024
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
    }
    reason = reasons.get(exc.errno or 0, exc.strerror or str(exc))
    return PermanentError(f"cannot write {path}: {reason}")


def full_fsync(fd: int) -> None:
    """Flush to stable storage. On macOS plain fsync stops at the drive's cache."""
    if sys.platform == "darwin":  # pragma: no cover - exercised by the macOS CI workflow
        import fcntl

        try:
            fcntl.fcntl(fd, fcntl.F_FULLFSYNC)
            return
        except OSError:
            pass
    os.fsync(fd)


def fsync_dir(path: str) -> None:
    """Make a rename in ``path`` durable. Windows cannot open folders: skipped there."""
    if sys.platform == "win32":  # pragma: no cover
        return
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class PartFile:
    """An open ``.part`` file positioned at its durable end.

    Two lanes keep the disk busy while the event loop keeps reading the
    socket: at most one write is in flight (the next block is gathered
    meanwhile), and at most one fsync runs beside it. An fsync makes durable
    every write that had *finished* when it started, which is the offset it
    reports; a write still running is simply left for the next one.
    """

    def __init__(self, path: str, fd: int, offset: int, hasher: Any | None) -> None:
        self.path = path
        self._fd: int | None = fd
        #: bytes of finished writes in the file (durable only after a sync)
        self.offset = offset
        #: bytes known to be on disk
        self.synced = offset
        self.hasher = hasher
        self._write: asyncio.Future[None] | None = None
        self._sync: asyncio.Future[int] | None = None

    @classmethod
    async def open(cls, path: str, offset: int, *, create: bool, want_hash: bool) -> PartFile:
        """Open ``path`` and cut it back to ``offset``.

        The offset in the database never exceeds what was fsynced, but the
        file may hold more (written after the last checkpoint): that tail is
        cut. If the file is *shorter* than the offset, something else changed
        it; only what is there is trusted. ``create`` makes a new file and
        refuses an existing one (O_EXCL), so another program's file is never
        reused. A symlink at ``path`` is never followed.
        """
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, cls._open_sync, path, offset, create, want_hash)

    @classmethod
    def _open_sync(cls, path: str, offset: int, create: bool, want_hash: bool) -> PartFile:
        flags = os.O_RDWR | _NOFOLLOW | _BINARY
        flags |= (os.O_CREAT | os.O_EXCL) if create else os.O_CREAT
        try:
            fd = os.open(path, flags, 0o666)
        except OSError as exc:
            raise disk_error(exc, path) from exc
        try:
            size = os.fstat(fd).st_size
            offset = min(offset, size)
            if size != offset:
                os.ftruncate(fd, offset)
            os.lseek(fd, offset, os.SEEK_SET)
            hasher = hashlib.sha256() if want_hash else None
            if hasher is not None and offset:
                cls._hash_prefix(fd, offset, hasher)
        except OSError as exc:
            os.close(fd)
            raise disk_error(exc, path) from exc
        except BaseException:
            os.close(fd)
            raise
        return cls(path, fd, offset, hasher)

    @staticmethod
    def _hash_prefix(fd: int, length: int, hasher: Any) -> None:
        position = 0
        while position < length:
            block = os.pread(fd, min(_READ_BLOCK, length - position), position)
            if not block:
                raise OSError(errno.EIO, "the partial file shrank while it was being read")
            hasher.update(block)
            position += len(block)

    def _fileno(self) -> int:
        if self._fd is None:
            raise ValueError("the part file is closed")
        return self._fd

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
                self.offset += written
                while pending and written >= len(pending[0]):
                    written -= len(pending[0])
                    pending.pop(0)
                if written:
                    pending[0] = pending[0][written:]
        except OSError as exc:
            raise disk_error(exc, self.path) from exc
        if self.hasher is not None:
            for chunk in chunks:
                self.hasher.update(chunk)

    async def write(self, chunks: list[bytes]) -> None:
        """Start writing ``chunks``; returns once the *previous* write is done.

        A failed write raises here at the next call, or from :meth:`sync`.
        """
        await self._finish_write()
        loop = asyncio.get_running_loop()
        self._write = loop.run_in_executor(None, self._write_sync, chunks)

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
        offset = self.offset  # finished writes only: those this fsync covers
        try:
            full_fsync(self._fileno())
        except OSError as exc:
            raise disk_error(exc, self.path) from exc
        self.synced = max(self.synced, offset)
        return offset

    def start_sync(self) -> asyncio.Future[int]:
        """fsync beside the write lane; the future gives the offset now durable."""
        if self._sync is None or self._sync.done():
            loop = asyncio.get_running_loop()
            self._sync = loop.run_in_executor(None, self._sync_sync)
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

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None

    @property
    def closed(self) -> bool:
        return self._fd is None

    def hexdigest(self) -> str | None:
        return None if self.hasher is None else self.hasher.hexdigest()


def sha256_file(path: str) -> str:
    """Hash a whole file (only for recovering an interrupted finish)."""
    hasher = hashlib.sha256()
    fd = os.open(path, os.O_RDONLY | _NOFOLLOW | _BINARY)
    try:
        PartFile._hash_prefix(fd, os.fstat(fd).st_size, hasher)
    finally:
        os.close(fd)
    return hasher.hexdigest()


def place_final(part_path: str, final_path: str) -> None:
    """Give the finished ``.part`` its final name without ever overwriting a file.

    A hard link fails if the name exists, atomically; the ``.part`` name is
    removed afterwards. A crash in between leaves both names on one inode,
    which :func:`finish_interrupted` recognises. File systems without hard
    links (FAT, some network shares) fall back to check-then-rename.
    """
    try:
        os.link(part_path, final_path, follow_symlinks=False)
    except FileExistsError:
        raise
    except OSError as exc:
        if exc.errno not in (
            errno.EPERM,
            errno.ENOTSUP,
            errno.EOPNOTSUPP,
            errno.EXDEV,
            errno.EMLINK,
        ):
            raise
        if os.path.lexists(final_path):
            raise FileExistsError(errno.EEXIST, "file exists", final_path) from exc
        os.replace(part_path, final_path)
        return
    os.unlink(part_path)


def finish_interrupted(part_path: str, final_path: str, size: int) -> bool:
    """Did a crash interrupt :func:`place_final` after the data was complete?

    True when the final file is in place with ``size`` bytes and the ``.part``
    is gone or is the same file (a hard link left by a crash).
    """
    try:
        final = os.stat(final_path, follow_symlinks=False)
    except OSError:
        return False
    if final.st_size != size or not os.path.isfile(final_path) or os.path.islink(final_path):
        return False
    try:
        part = os.stat(part_path, follow_symlinks=False)
    except FileNotFoundError:
        return True
    if (part.st_dev, part.st_ino) == (final.st_dev, final.st_ino):
        os.unlink(part_path)
        return True
    return False
