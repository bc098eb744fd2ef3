"""Files and folders only the user can read: the database, its journals, logs,
and what drayman keeps in its config folder (the RPC secret, the window's proxy).

Job rows hold request headers (cookies, tokens) and the URLs of everything
downloaded; a log holds URLs and tracebacks. Modes are given at creation, so
the umask can only take permissions away, never add them; a file found with
wider permissions than ours is narrowed when we open it (it is ours: we made
it, or the user pointed us at it as our database or log).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from pathlib import Path

PRIVATE_FILE = 0o600
PRIVATE_DIR = 0o700
#: the config folder, instead of the platform's (tests, portable installs)
CONFIG_DIR_ENV = "DRAYMAN_CONFIG_DIR"


def config_path(name: str) -> Path:
    """``name`` in drayman's config folder: ``$DRAYMAN_CONFIG_DIR``, else the platform's."""
    folder = os.environ.get(CONFIG_DIR_ENV)
    if folder:
        return Path(folder) / name
    import platformdirs

    return platformdirs.user_config_path("drayman", appauthor=False) / name


def make_private_dirs(folder: str | os.PathLike[str]) -> None:
    """``mkdir -p`` where every folder created (not those found) is 0700.

    ``Path.mkdir(parents=True, mode=...)`` gives the mode to the last folder
    only; the parents would get 0777 minus the umask.
    """
    path = Path(folder)
    missing = []
    while not path.exists():
        missing.append(path)
        if path.parent == path:
            break
        path = path.parent
    for each in reversed(missing):
        with contextlib.suppress(FileExistsError):  # another process made it meanwhile
            each.mkdir(mode=PRIVATE_DIR)


def narrow(fd: int) -> None:
    """Take group and other permissions off an open file (POSIX only)."""
    if os.name != "posix":  # pragma: no cover - Windows ACLs follow the user's profile folder
        return
    mode = os.fstat(fd).st_mode
    if stat.S_IMODE(mode) & 0o077 and stat.S_ISREG(mode):
        os.fchmod(fd, stat.S_IMODE(mode) & ~0o077)


def open_private(path: str | os.PathLike[str], flags: int) -> int:
    """``os.open`` with O_CREAT and mode 0600, narrowing a file found wider."""
    fd = os.open(path, flags | os.O_CREAT, PRIVATE_FILE)
    try:
        narrow(fd)
    except OSError:
        os.close(fd)
        raise
    return fd


def write_private(path: str | os.PathLike[str], text: str) -> None:
    """Replace ``path`` with ``text``, readable by the user only, all at once.

    The text goes to a new file beside it (made 0600 and exclusive by
    ``mkstemp``, on Windows too), flushed to disk, then renamed over
    ``path``: a reader, or a crash, finds the old file or the new one, never
    half of one, and never a moment when a wider file holds the text. The
    folders are made 0700 where missing.
    """
    target = Path(path)
    make_private_dirs(target.parent)
    fd, temporary = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise
