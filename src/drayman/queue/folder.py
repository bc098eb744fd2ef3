"""A job's folder, opened so that no file operation can leave the chosen folder.

A job's folder is the folder the user chose (``-d``, a rule's, or Downloads)
plus the subfolders a template or a batch entry made (``{author}/``). The
chosen folder is the user's: a symbolic link *there* is followed, because
they asked for it. Below it nothing is followed: if someone replaces
``Ann Example/`` with a link to ``~/.ssh``, following it would write outside
the chosen folder.

On POSIX the folder is opened one level at a time (``O_DIRECTORY |
O_NOFOLLOW``, each level relative to the one above), and every later
operation on the job's files is relative to that open directory (the
``dir_fd`` argument of :mod:`os` functions): a folder swapped for a link after
we opened it changes nothing, since names are no longer looked up through
the path. Where ``dir_fd`` is missing (Windows), each level is checked not to
be a link or junction, and the resolved folder to lie inside the resolved
chosen folder, before use and again at every checkpoint.
"""

from __future__ import annotations

import contextlib
import errno
import os
import shutil
import stat
import sys

from drayman.errors import FolderEscape

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
#: every call JobFolder makes relative to its directory
_DIR_FD_CALLS = (os.open, os.stat, os.mkdir, os.link, os.unlink, os.rename)
#: this OS can do all of them (Linux, macOS, the BSDs; not Windows)
DIR_FD_SUPPORTED = all(call in os.supports_dir_fd for call in _DIR_FD_CALLS) and bool(_DIRECTORY)
_REPARSE_POINT = getattr(stat, "FILE_ATTRIBUTE_REPARSE_POINT", 0x400)


def can_open_folders(platform: str = sys.platform) -> bool:
    """Whether a folder can be opened (to fsync it, or as a ``dir_fd``). Not on Windows."""
    return platform != "win32"


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


def _is_link(info: os.stat_result) -> bool:
    """A symbolic link, or a Windows junction/mount point (reparse point)."""
    attributes = getattr(info, "st_file_attributes", 0)
    return stat.S_ISLNK(info.st_mode) or bool(attributes & _REPARSE_POINT)


def subfolders_of(base: str, dest: str) -> list[str]:
    """The levels of ``dest`` below ``base`` (``[]`` when they are the same folder).

    Raises :class:`FolderEscape` if ``dest`` is not below ``base`` at all
    (which only a hand-edited database could say).
    """
    relative = os.path.relpath(os.path.normpath(dest), os.path.normpath(base))
    if relative == os.curdir:
        return []
    parts = relative.split(os.sep)
    if os.pardir in parts or os.path.isabs(relative):
        raise FolderEscape(f"refusing to write in {dest}: it is not inside {base}")
    return parts


class JobFolder:
    """An open job folder. Use :meth:`at` to name a file in it for an ``os`` call
    that also gets ``dir_fd=folder.fd``."""

    def __init__(self, path: str, base: str, fd: int | None) -> None:
        #: the folder's path, as stored in the job (for messages and the Windows checks)
        self.path = path
        self.base = base
        #: the open directory (POSIX), or None where dir_fd is not supported
        self.fd = fd

    @classmethod
    def open(
        cls, base: str, dest: str, *, create: bool, use_dir_fd: bool | None = None
    ) -> JobFolder:
        """Open (with ``create``, first make) ``dest``, reached from ``base`` without
        following any link below ``base``. Raises OSError or FolderEscape.

        ``use_dir_fd`` defaults to :data:`DIR_FD_SUPPORTED`; tests pass False
        to run the checks Windows gets.
        """
        parts = subfolders_of(base, dest)
        if use_dir_fd is None:
            use_dir_fd = DIR_FD_SUPPORTED
        if not use_dir_fd:
            if create:
                os.makedirs(dest, exist_ok=True)
            folder = cls(dest, base, None)
            folder.verify()
            return folder
        if create:
            os.makedirs(base, exist_ok=True)
        # the chosen folder itself may be a link: the user chose it
        fd = os.open(base, os.O_RDONLY | _DIRECTORY)
        try:
            level = base
            for part in parts:
                level = os.path.join(level, part)
                if create:
                    with contextlib.suppress(FileExistsError):
                        os.mkdir(part, 0o777, dir_fd=fd)
                try:
                    below = os.open(part, os.O_RDONLY | _DIRECTORY | _NOFOLLOW, dir_fd=fd)
                except OSError as exc:
                    if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
                        info = os.stat(part, dir_fd=fd, follow_symlinks=False)
                        if _is_link(info):
                            raise FolderEscape(path=level, part=part, base=base) from None
                    exc.filename = level
                    raise
                os.close(fd)
                fd = below
        except BaseException:
            os.close(fd)
            raise
        return cls(dest, base, fd)

    def at(self, name: str) -> str:
        """``name`` as the ``os`` call with ``dir_fd=self.fd`` wants it."""
        return name if self.fd is not None else os.path.join(self.path, name)

    def full(self, name: str) -> str:
        """The path of ``name`` in this folder (for messages and the database)."""
        return os.path.join(self.path, name)

    def lstat(self, name: str) -> os.stat_result:
        return os.stat(self.at(name), dir_fd=self.fd, follow_symlinks=False)

    def exists(self, name: str) -> bool:
        try:
            self.lstat(name)
        except FileNotFoundError:
            return False
        return True

    def remove_file(self, name: str) -> None:
        """Remove the regular file ``name``, if there is one: never a link, never a folder."""
        try:
            if stat.S_ISREG(self.lstat(name).st_mode):
                os.unlink(self.at(name), dir_fd=self.fd)
        except FileNotFoundError:
            pass

    def verify(self) -> None:
        """Raise unless :attr:`path` still leads to this folder, inside the chosen one.

        Catches a folder deleted, moved or replaced by a link while we work in
        it, and a drive unmounted under us (its path then names the empty
        mount point): writes through the open directory would land nowhere.
        """
        if self.fd is not None:
            here, there = os.fstat(self.fd), os.stat(self.path)
            if (here.st_dev, here.st_ino) != (there.st_dev, there.st_ino) or here.st_nlink == 0:
                raise FileNotFoundError(errno.ENOENT, "the folder was moved or deleted", self.path)
            return
        level = self.base
        for part in subfolders_of(self.base, self.path):
            level = os.path.join(level, part)
            if _is_link(os.lstat(level)):
                raise FolderEscape(path=level, part=part, base=self.base)
        real_base, real = os.path.realpath(self.base), os.path.realpath(self.path)
        try:
            inside = os.path.commonpath([real_base, real]) == real_base
        except ValueError:  # another drive (Windows)
            inside = False
        if not inside:
            raise FolderEscape(path=self.path, part=self.path, base=self.base)

    def sync(self, platform: str = sys.platform) -> None:
        """Make renames and new names in this folder durable (where folders can be opened)."""
        if not can_open_folders(platform):
            return
        if self.fd is not None:
            os.fsync(self.fd)
            return
        fsync_dir(self.path, platform=platform)

    def statvfs_free(self) -> int:
        """Bytes a normal user may still write in this folder."""
        if self.fd is not None and sys.platform != "win32" and os.statvfs in os.supports_fd:
            info = os.statvfs(self.fd)
            return info.f_bavail * info.f_frsize
        return shutil.disk_usage(self.path).free

    def close(self) -> None:
        if self.fd is not None and self.fd >= 0:
            os.close(self.fd)
            # not None: that would switch to path mode; -1 makes a late call fail (EBADF)
            self.fd = -1


def locate(path: str, folder: JobFolder | None) -> tuple[str, int | None]:
    """(name for the ``os`` call, its ``dir_fd``) of ``path``: inside ``folder`` when given."""
    if folder is None:
        return path, None
    return folder.at(os.path.basename(path)), folder.fd
