"""Opening the database: refuse what we must not touch, then WAL and migrations.

Order matters. Nothing is written before the file is known to be a sound
SQLite database of a schema this code understands: switching to WAL mode
rewrites the header, a migration would change a newer schema we know nothing
of, and even a read-write connection that only reads writes when it closes
(it checkpoints the -wal into the file and deletes the -wal). So the verdict
comes from a read-only look first (:func:`_refuse_unusable`), and a refused
file, with its journal, is left byte for byte as it was.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import sqlite3
from collections.abc import Iterator
from pathlib import Path

import aiosqlite

from drayman.errors import (
    DatabaseLocked,
    DatabaseTooNew,
    DatabaseUnavailable,
    DraymanError,
    NotADatabase,
)
from drayman.private import make_private_dirs
from drayman.storage.migrations import LATEST_VERSION, migrate, user_version

SQLITE_MAGIC = b"SQLite format 3\x00"

#: how long a write waits for another process's transaction before giving up
DEFAULT_BUSY_TIMEOUT = 10.0

#: the environment variable that overrides :data:`DEFAULT_BUSY_TIMEOUT` (seconds)
BUSY_TIMEOUT_ENV = "DRAYMAN_BUSY_TIMEOUT"

#: less free space than this under a failed write means the disk is full
_NEARLY_FULL = 256 * 1024


def default_busy_timeout() -> float:
    """``$DRAYMAN_BUSY_TIMEOUT`` if it is a number of seconds, else the default."""
    try:
        value = float(os.environ.get(BUSY_TIMEOUT_ENV, ""))
    except ValueError:
        return DEFAULT_BUSY_TIMEOUT
    return value if value >= 0 else DEFAULT_BUSY_TIMEOUT


def _disk_is_full(path: str | os.PathLike[str]) -> bool:
    """SQLite reports a full disk under the -shm or -wal as a plain I/O error."""
    try:
        return shutil.disk_usage(os.path.dirname(os.path.abspath(path))).free < _NEARLY_FULL
    except OSError:
        return False


@contextlib.contextmanager
def sqlite_errors(path: str | os.PathLike[str], busy_timeout: float) -> Iterator[None]:
    """Turn sqlite3's errors about the file into drayman's typed errors."""
    try:
        yield
    except DraymanError:
        raise
    except sqlite3.OperationalError as exc:
        text = str(exc)
        if "locked" in text or "busy" in text:
            raise DatabaseLocked(path=str(path), seconds=busy_timeout) from exc
        # "database or disk is full" (SQLITE_FULL), or an I/O error on a disk
        # with no room left (extending the -shm or -wal)
        if "full" in text or ("disk I/O" in text and _disk_is_full(path)):
            raise DatabaseUnavailable(
                path=str(path), detail="the disk is full; free some space and try again"
            ) from exc
        if "unable to open" in text or "readonly" in text or "disk I/O" in text:
            raise DatabaseUnavailable(path=str(path), detail=text) from exc
        raise
    except sqlite3.IntegrityError:
        raise
    except sqlite3.DatabaseError as exc:
        text = str(exc)
        # "file is not a database", "database disk image is malformed"
        if "not a database" in text or "malformed" in text or "corrupt" in text:
            raise NotADatabase(path=str(path), detail=text) from exc
        raise


def _check_file(path: Path) -> bool:
    """Return whether the file exists; refuse anything that is not SQLite."""
    try:
        with open(path, "rb") as handle:
            header = handle.read(len(SQLITE_MAGIC))
    except FileNotFoundError:
        return False
    except IsADirectoryError as exc:
        raise DatabaseUnavailable(path=str(path), detail="it is a folder") from exc
    except OSError as exc:
        raise DatabaseUnavailable(path=str(path), detail=exc.strerror or str(exc)) from exc
    if header and header != SQLITE_MAGIC:
        raise NotADatabase(path=str(path), detail="not an SQLite file")
    return True


def _create_private(path: Path) -> None:
    """Create an empty database file readable by its owner only.

    SQLite gives the -wal and -shm files the database file's mode, so they
    are private too, whatever the umask. Folders we create are 0700.
    """
    try:
        make_private_dirs(path.parent)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
    except FileExistsError:
        pass
    except OSError as exc:
        raise DatabaseUnavailable(path=str(path), detail=exc.strerror or str(exc)) from exc


def _refuse_stray_wal(path: Path) -> None:
    """A -wal without its database holds that database's last commits.

    It is left when someone moves a (damaged) database away without its
    journal. SQLite would delete it when the new database switches to WAL
    mode, losing those commits for good; so a new database is not started
    beside it.
    """
    wal = Path(f"{path}-wal")
    try:
        size = wal.stat().st_size
    except OSError:
        return
    if size > 0:
        raise DatabaseUnavailable(
            path=str(path),
            detail=f"{wal} holds the last changes of an earlier database; move it to where "
            "that database went (or delete it) before a new one is started here",
        )


def has_journal(path: Path) -> bool:
    """Does the -wal beside ``path`` hold anything (commits not yet in the file)?"""
    try:
        return Path(f"{path}-wal").stat().st_size > 0
    except OSError:
        return False


def read_only_uri(path: Path, *, immutable: bool) -> str:
    """A URI that reads ``path`` without writing it or anything beside it.

    ``mode=ro`` reads the -wal's commits, never checkpoints them into the
    file and never deletes the -wal (a read-write connection closing last
    does both); ``immutable`` also creates no -wal or -shm, and takes no
    lock, so it is only right when there is no journal to read.
    """
    return path.as_uri() + ("?mode=ro&immutable=1" if immutable else "?mode=ro")


def _inspect(path: Path, *, immutable: bool, busy_timeout: float) -> None:
    conn = sqlite3.connect(read_only_uri(path, immutable=immutable), uri=True, timeout=busy_timeout)
    try:
        with sqlite_errors(path, busy_timeout):
            # reading the schema is what makes SQLite notice a damaged header
            objects = int(conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0])
            found = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if found > LATEST_VERSION:
                raise DatabaseTooNew(path=str(path), found=found, known=LATEST_VERSION)
            if found == 0 and objects:
                # our first migration sets user_version with its tables, in one
                # transaction: tables without a version are another program's
                raise NotADatabase(path=str(path), detail="another program's SQLite database")
            # every page is read (40 ms of CPU for 100,000 jobs, see
            # bench/db_open.py): a damaged
            # page, a truncated file or a broken free list is found here, not
            # by a write that might spread the damage
            row = conn.execute("PRAGMA quick_check(1)").fetchone()
    finally:
        conn.close()
    result = "" if row is None else str(row[0])
    if result != "ok":
        first = " ".join(result.replace("*** in database main ***", "").split())
        raise NotADatabase(path=str(path), detail=f"damaged: {first or 'quick_check failed'}")


def _refuse_unusable(path: Path, busy_timeout: float) -> None:
    """Look at an existing database read-only; refuse it before anything could write it.

    A damaged, newer or foreign file must be left exactly as it is, and so
    must its -wal, which may hold its last commits: so the verdict comes
    from a read-only connection, never from the read-write one.
    """
    if not has_journal(path):
        try:
            _inspect(path, immutable=True, busy_timeout=busy_timeout)
            return
        except NotADatabase:
            pass
        # an immutable read takes no lock: another process's first write at
        # this very moment could look like damage; a locking read decides
    created = [Path(f"{path}{s}") for s in ("-wal", "-shm") if not os.path.lexists(f"{path}{s}")]
    try:
        _inspect(path, immutable=False, busy_timeout=busy_timeout)
    except NotADatabase:
        # leave the folder as found: remove the empty journal this read made
        if not has_journal(path):
            for made in created:
                with contextlib.suppress(OSError):
                    made.unlink()
        raise


def _prepare(path: str | os.PathLike[str], busy_timeout: float) -> Path:
    """Refuse an unusable file, or create a private one; return the absolute path."""
    absolute = Path(path).expanduser().absolute()
    exists = _check_file(absolute)
    if exists and absolute.stat().st_size > 0:
        _refuse_unusable(absolute, busy_timeout)
    else:
        _refuse_stray_wal(absolute)
    if not exists:
        _create_private(absolute)
    return absolute


async def open_database(
    path: str | os.PathLike[str],
    *,
    busy_timeout: float | None = None,
) -> aiosqlite.Connection:
    """Open (creating if needed) and migrate a drayman database."""
    if busy_timeout is None:
        busy_timeout = default_busy_timeout()
    path = await asyncio.to_thread(_prepare, path, busy_timeout)
    conn = await aiosqlite.connect(path, isolation_level=None, timeout=busy_timeout)
    try:
        with sqlite_errors(path, busy_timeout):
            await conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            found = await user_version(conn)
            if found > LATEST_VERSION:  # a newer drayman upgraded it just now
                raise DatabaseTooNew(path=str(path), found=found, known=LATEST_VERSION)
            async with conn.execute("PRAGMA journal_mode") as cursor:
                row = await cursor.fetchone()
            if row is None or str(row[0]).lower() != "wal":
                await conn.execute("PRAGMA journal_mode = WAL")
            # FULL: a commit is on disk when it returns, so "done" and the
            # offsets survive a power cut, not only a crash.
            await conn.execute("PRAGMA synchronous = FULL")
            await conn.execute("PRAGMA foreign_keys = ON")
            await migrate(conn)
    except BaseException:
        await conn.close()
        raise
    return conn
