"""Apply the numbered ``.sql`` files of :mod:`drayman.migrations` in order.

The pending ones run in one ``BEGIN IMMEDIATE`` transaction together with
their ``PRAGMA user_version`` bumps, so a process killed mid-migration leaves
the database at the version it had and the next start simply runs them again.
"""

from __future__ import annotations

import contextlib
import functools
import re
import sqlite3
from dataclasses import dataclass
from importlib import resources

import aiosqlite

from drayman.faults import crash_point
from drayman.storage.onthread import on_connection_thread

_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


@dataclass(frozen=True)
class Migration:
    version: int
    name: str
    sql: str


def load_migrations() -> list[Migration]:
    found = []
    for entry in resources.files("drayman.migrations").iterdir():
        match = _NAME.match(entry.name)
        if match:
            found.append(Migration(int(match.group(1)), entry.name, entry.read_text("utf-8")))
    found.sort(key=lambda m: m.version)
    expected = list(range(1, len(found) + 1))
    if [m.version for m in found] != expected:
        raise RuntimeError(f"migrations are not numbered 1..n: {[m.name for m in found]}")
    return found


MIGRATIONS = load_migrations()
LATEST_VERSION = MIGRATIONS[-1].version


def split_statements(script: str) -> list[str]:
    """Split a script into statements.

    ``executescript`` would COMMIT any open transaction first (CPython 3.11),
    which defeats one-transaction-per-migration; so statements run one by one.
    """
    statements, buffer = [], ""
    for line in script.splitlines(keepends=True):
        buffer += line
        if sqlite3.complete_statement(buffer):
            if buffer.strip():
                statements.append(buffer.strip())
            buffer = ""
    if buffer.strip() and not all(
        part.strip().startswith("--") or not part.strip() for part in buffer.splitlines()
    ):
        raise ValueError(f"incomplete SQL statement at the end of a migration: {buffer!r}")
    return statements


async def user_version(conn: aiosqlite.Connection) -> int:
    async with conn.execute("PRAGMA user_version") as cursor:
        row = await cursor.fetchone()
    return int(row[0]) if row else 0


async def migrate(conn: aiosqlite.Connection, target: int | None = None) -> int:
    """Bring the schema up to ``target`` (default: the latest); return the version reached.

    Every pending migration runs in one ``BEGIN IMMEDIATE`` transaction with
    its ``PRAGMA user_version`` bump, on the connection's thread in one call:
    a new database takes one commit (one fsync) and one thread hop, not one
    commit per migration and one hop per statement (16 and ~60 of them: most
    of a first ``drayman add``). A process killed mid-way leaves the database
    as it found it, and the next start runs them again.
    """
    wanted = [m for m in MIGRATIONS if target is None or m.version <= target]
    reached = await user_version(conn)
    if not wanted or reached >= wanted[-1].version:
        return reached
    await conn.execute("BEGIN IMMEDIATE")
    try:
        # another process may have migrated while we waited for the lock
        reached = await user_version(conn)
        pending = [m for m in wanted if m.version > reached]
        if pending:
            await on_connection_thread(conn, functools.partial(_apply, pending))
            await conn.execute("COMMIT")
        else:
            await conn.execute("ROLLBACK")
    except BaseException:
        if conn.in_transaction:
            with contextlib.suppress(sqlite3.Error, ValueError):
                await conn.execute("ROLLBACK")
        raise
    return await user_version(conn)


def _apply(pending: list[Migration], conn: sqlite3.Connection) -> None:
    """On the connection's thread, inside the open transaction."""
    for migration in pending:
        for statement in split_statements(migration.sql):
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {migration.version:d}")
        crash_point(f"migration.{migration.version}")
