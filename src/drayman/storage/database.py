"""Opening the database: refuse what we must not touch, then WAL and migrations.

Order matters. Nothing is written before the file is known to be an SQLite
database of a schema this code understands: switching to WAL mode rewrites
the header, and a migration would change a newer schema we know nothing of.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
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
from drayman.storage.migrations import LATEST_VERSION, migrate, user_version

SQLITE_MAGIC = b"SQLite format 3\x00"

#: how long a write waits for another process's transaction before giving up
DEFAULT_BUSY_TIMEOUT = 10.0


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
        if "unable to open" in text or "readonly" in text or "disk I/O" in text:
            raise DatabaseUnavailable(path=str(path), detail=text) from exc
        if "full" in text:
            raise DatabaseUnavailable(path=str(path), detail="the disk is full") from exc
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
    """Create an empty database file readable by its owner only."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        os.close(fd)
    except FileExistsError:
        pass
    except OSError as exc:
        raise DatabaseUnavailable(path=str(path), detail=exc.strerror or str(exc)) from exc


def _prepare(path: str | os.PathLike[str]) -> Path:
    """Refuse a foreign file, or create a private one; return the absolute path."""
    absolute = Path(path).expanduser().absolute()
    if not _check_file(absolute):
        _create_private(absolute)
    return absolute


async def open_database(
    path: str | os.PathLike[str],
    *,
    busy_timeout: float = DEFAULT_BUSY_TIMEOUT,
) -> aiosqlite.Connection:
    """Open (creating if needed) and migrate a drayman database."""
    path = await asyncio.to_thread(_prepare, path)
    conn = await aiosqlite.connect(path, isolation_level=None, timeout=busy_timeout)
    try:
        with sqlite_errors(path, busy_timeout):
            await conn.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
            # reading the schema is what makes SQLite notice a damaged header
            await conn.execute("SELECT count(*) FROM sqlite_master")
            found = await user_version(conn)
            if found > LATEST_VERSION:
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
