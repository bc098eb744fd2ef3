"""The finish: give a complete ``.part`` its final name, never over another file.

:func:`place_final` links (or, where there are no hard links, renames
without replacing; across devices, copies) the ``.part`` to its name, then
removes the ``.part`` name. A crash between any two steps is recognised by
:func:`finish_interrupted` on the next run. Every function takes full paths
(for messages) and, optionally, the job's open folder, through which the
files are then reached.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import os
import stat
import sys

from drayman.faults import crash_point
from drayman.jobs import PART_SUFFIX
from drayman.queue.durable import full_fsync
from drayman.queue.folder import JobFolder, locate
from drayman.queue.partcheck import READ_BLOCK, hash_prefix, read_at

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_BINARY = getattr(os, "O_BINARY", 0)
#: link() errors meaning "no hard links here" (FAT, exFAT, some network shares)
_NO_HARD_LINKS = frozenset(
    {errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EMLINK, errno.ENOSYS}
)


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
    part, dir_fd = locate(part_path, folder)
    final, _ = locate(final_path, folder)
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
    part, dir_fd = locate(part_path, folder)
    copy, _ = locate(copy_path, folder)
    final, _ = locate(final_path, folder)
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
            while block := os.read(source, READ_BLOCK):
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
        length = min(READ_BLOCK, size - position)
        block = read_at(first, length, position)
        if not block or block != read_at(second, length, position):
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
    part, dir_fd = locate(part_path, folder)
    final, _ = locate(final_path, folder)
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


def sha256_file(path: str, *, folder: JobFolder | None = None) -> str:
    """Hash a whole file (only for recovering an interrupted finish)."""
    hasher = hashlib.sha256()
    name, dir_fd = locate(path, folder)
    fd = os.open(name, os.O_RDONLY | _NOFOLLOW | _BINARY, dir_fd=dir_fd)
    try:
        hash_prefix(fd, os.fstat(fd).st_size, hasher)
    finally:
        os.close(fd)
    return hasher.hexdigest()
