"""Knowing our own ``.part``: which file it is, what its bytes were, and whether it is still there.

The database keeps, beside a job's durable offset, the ``.part``'s identity
(device, inode, birth time) and a digest of its last bytes before that
offset (:class:`KnownPart`). Reopening the file for a resume trusts only
what they vouch for (:func:`trusted_length`); at every checkpoint the open
file is checked to still be the one at its name (:func:`check_in_place`).
"""

from __future__ import annotations

import errno
import hashlib
import os
import sys
from dataclasses import dataclass
from typing import Any

from drayman.errors import PartFileLost
from drayman.queue.folder import JobFolder, locate

#: bytes before the durable offset whose digest is kept with it (see KnownPart)
TAIL_BYTES = 64 * 1024
#: how much a read-back (hashing, comparing) takes at a time
READ_BLOCK = 4 * 1024 * 1024


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


def read_at(fd: int, length: int, offset: int) -> bytes:
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


def digest(data: bytes) -> str:
    """The tail digest of ``data`` (see :class:`KnownPart`)."""
    return hashlib.sha256(data).hexdigest()[:32]


def read_tail(fd: int, offset: int) -> bytes | None:
    """The :data:`TAIL_BYTES` before ``offset``; None if the file is shorter."""
    start = max(offset - TAIL_BYTES, 0)
    data = read_at(fd, offset - start, start)
    return data if len(data) == offset - start else None


def tail_digest(fd: int, offset: int) -> str | None:
    """A digest of the :data:`TAIL_BYTES` before ``offset`` in the file (None at 0)."""
    if offset <= 0:
        return None
    data = read_tail(fd, offset)
    # "short" is never equal to a digest: the file is shorter than offset
    return "short" if data is None else digest(data)


def check_in_place(fd: int, path: str, folder: JobFolder | None) -> None:
    """Raise :class:`PartFileLost` unless ``path`` still names the open file ``fd``.

    On POSIX an open file outlives its name: with its folder deleted (or
    its drive unmounted) every write still "succeeds" into an inode no
    one can reach. Checked at every checkpoint, so the database never
    commits bytes that went nowhere, and a job never "finishes" there.
    """
    name, dir_fd = locate(path, folder)
    here = os.fstat(fd)
    try:
        there = os.stat(name, dir_fd=dir_fd, follow_symlinks=False)
        if folder is not None:
            folder.verify()
    except FileNotFoundError:
        raise PartFileLost(path=path) from None
    if here.st_nlink == 0 or (here.st_dev, here.st_ino) != (there.st_dev, there.st_ino):
        raise PartFileLost(path=path)


def trusted_length(
    fd: int,
    info: os.stat_result,
    offset: int,
    created: bool,
    known: KnownPart | None,
    path: str,
) -> tuple[int, str]:
    """How much of a reopened ``.part`` to keep, and what was found, in words.

    The database's ``offset`` never exceeds what was fsynced, but the file may
    hold more (written after the last checkpoint) or less (cut short). With
    ``known``, a file that is not the one we wrote raises :class:`PartNotOurs`
    unless its bytes before ``offset`` are ours (a copy of it), and a file of
    ours whose bytes before ``offset`` changed starts again from zero.
    """
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


def hash_prefix(fd: int, length: int, hasher: Any) -> None:
    """Feed the file's first ``length`` bytes to ``hasher`` (OSError if it is shorter)."""
    position = 0
    while position < length:
        block = read_at(fd, min(READ_BLOCK, length - position), position)
        if not block:
            raise OSError(errno.EIO, "the partial file shrank while it was being read")
        hasher.update(block)
        position += len(block)
