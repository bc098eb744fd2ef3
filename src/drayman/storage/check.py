"""``drayman check``: is the database sound, and if not, how to recover.

The check only reads (:func:`drayman.storage.database.read_only_uri`): a
database without a journal is opened ``immutable``, so SQLite creates no -wal
or -shm beside it; one with a journal is opened read-only, so its last
commits are read but nothing is checkpointed into the file. A damaged file
is left exactly as it was found, for the user to keep.

It runs SQLite's full ``integrity_check``, then compares the schema with the
one our migrations build for the file's ``user_version``, so a table altered
by hand or a half-applied upgrade shows up as well as a damaged page.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import shlex
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiosqlite

from drayman.errors import DatabaseUnavailable
from drayman.storage.database import SQLITE_MAGIC, has_journal, read_only_uri
from drayman.storage.migrations import LATEST_VERSION, migrate

#: at most this many problems are listed (integrity_check can find thousands)
MAX_PROBLEMS = 20

#: the files that make up one database in WAL mode (the first is the database)
DATABASE_FILES = ("", "-wal", "-shm")


@dataclass(frozen=True)
class ReadableJob:
    """An unfinished job still readable from a damaged database."""

    url: str
    dest_dir: str
    state: str


@dataclass
class CheckReport:
    path: Path
    version: int | None = None
    jobs: int | None = None
    problems: list[str] = field(default_factory=list)
    #: the database is fine but was written by a newer drayman
    too_new: bool = False
    #: nothing in the file is readable as SQLite
    unreadable: bool = False
    #: a sound SQLite database, but another program's
    other_program: bool = False
    #: a file that never was a database (a text file given to --db by mistake)
    not_drayman: bool = False
    readable_jobs: list[ReadableJob] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    def text(self) -> str:
        """What ``drayman check`` prints."""
        if self.ok:
            if self.version is not None and self.version < LATEST_VERSION:
                return (
                    f"ok (schema version {self.version}; the next drayman command "
                    f"upgrades it to {LATEST_VERSION})\n"
                )
            return "ok\n"
        if self.too_new:
            return (
                f"{self.path} was written by a newer drayman: {self.problems[0]}.\n"
                "It is not damaged. Upgrade drayman to use it; this version leaves it untouched.\n"
            )
        if self.not_drayman:
            return (
                f"{self.path} is not a drayman database (not a database at all: text or "
                "another kind of file); drayman leaves it untouched. Give --db the path of "
                "your drayman database, or a new file name for a fresh one.\n"
            )
        if self.other_program:
            return (
                f"{self.path} is another program's SQLite database, not drayman's; "
                "drayman leaves it untouched. Use --db with another file name.\n"
            )
        return _recovery_text(self)


def _recovery_text(report: CheckReport) -> str:
    path = report.path
    lines = [f"{path} is damaged:"]
    lines += [f"  - {problem}" for problem in report.problems]
    present = [f"{path}{suffix}" for suffix in DATABASE_FILES if os.path.lexists(f"{path}{suffix}")]
    moves = [
        f"       mv {shlex.quote(name)} {shlex.quote(f'{path}.damaged{name[len(str(path)) :]}')}"
        for name in present
    ]
    lines += [
        "",
        "How to recover (every .part file in your download folders is still there):",
        "  1. Keep the damaged database: stop drayman (the window, `drayman run`), then move",
        "     the database away together with its journal files, e.g.",
        *moves,
        f"  2. Start a fresh database: the next drayman command creates an empty one at {path}.",
        "  3. Add the jobs again with the same folders (drayman add URL -d DIR). A download",
        "     whose .part file is still in its folder resumes from it, if the server still",
        "     has the same file; otherwise it starts again under a new name.",
    ]
    if report.readable_jobs:
        db = shlex.quote(str(path))
        lines += [
            "",
            f"{len(report.readable_jobs)} unfinished job(s) could still be read from it "
            "(their request headers are not shown: add them with -H):",
            *(
                f"  drayman --db {db} add {shlex.quote(job.url)} -d {shlex.quote(job.dest_dir)}"
                for job in report.readable_jobs
            ),
        ]
    elif report.unreadable:
        lines += ["", "No job could be read from it."]
    return "\n".join(lines) + "\n"


def _never_a_database(path: str | os.PathLike[str]) -> bool:
    """Whether ``path`` looks like it never was an SQLite file (rather than one
    whose first page was damaged): a database is whole pages, with zero bytes
    in them; a text file is neither."""
    try:
        size = os.path.getsize(path)
        with open(path, "rb") as handle:
            head = handle.read(4096)
    except OSError:
        return False
    return size % 512 != 0 or b"\0" not in head


def _normalize(sql: str | None) -> str:
    return " ".join((sql or "").split())


#: every table, index and trigger, less SQLite's own
_SCHEMA_SQL = "SELECT type, name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%'"


def _schema_of(rows: Iterable[Any]) -> dict[tuple[str, str], str]:
    """(type, name) -> its SQL, white space folded: two schemas compare as dicts."""
    return {(str(kind), str(name)): _normalize(sql) for kind, name, sql in rows}


def _schema(conn: sqlite3.Connection) -> dict[tuple[str, str], str]:
    return _schema_of(conn.execute(_SCHEMA_SQL).fetchall())


async def expected_schema(version: int) -> dict[tuple[str, str], str]:
    """The schema our migrations build up to ``version``."""
    async with aiosqlite.connect(":memory:", isolation_level=None) as conn:
        await migrate(conn, target=version)
        async with conn.execute(_SCHEMA_SQL) as cursor:
            return _schema_of(await cursor.fetchall())


def _schema_problems(
    found: dict[tuple[str, str], str], expected: dict[tuple[str, str], str], version: int
) -> list[str]:
    problems = []
    for key in sorted(expected.keys() - found.keys()):
        problems.append(f"{key[0]} {key[1]} is missing (schema version {version} has it)")
    for key in sorted(found.keys() - expected.keys()):
        problems.append(f"{key[0]} {key[1]} is not part of schema version {version}")
    for key in sorted(found.keys() & expected.keys()):
        if found[key] != expected[key]:
            problems.append(f"{key[0]} {key[1]} differs from schema version {version}")
    return problems


_PAGE_NOISE = re.compile(r"\*\*\* in database \w+ \*\*\*\s*")


def _integrity(conn: sqlite3.Connection) -> list[str]:
    rows = conn.execute(f"PRAGMA integrity_check({MAX_PROBLEMS})").fetchall()
    messages = [_PAGE_NOISE.sub("", str(row[0])).strip() for row in rows]
    lines = [line for message in messages for line in message.splitlines() if line.strip()]
    return [] if lines == ["ok"] else lines[:MAX_PROBLEMS]


def _readable_jobs(conn: sqlite3.Connection) -> list[ReadableJob]:
    """The unfinished jobs still readable: scanned from both ends up to a bad page."""
    found: dict[int, ReadableJob] = {}
    for order in ("ASC", "DESC"):
        try:
            cursor = conn.execute(
                f"SELECT rowid, url, dest_dir, state FROM jobs ORDER BY rowid {order}"
            )
            for rowid, url, folder, state in cursor:
                if rowid in found:
                    break  # the scans met: every row was readable
                if state != "done" and isinstance(url, str) and isinstance(folder, str):
                    found[int(rowid)] = ReadableJob(url, folder, str(state))
        except sqlite3.DatabaseError:
            pass
    return [found[rowid] for rowid in sorted(found)]


def _inspect(report: CheckReport) -> dict[tuple[str, str], str] | None:
    """The file-reading part (blocking); returns the schema found, if readable."""
    report.path = path = report.path.expanduser().absolute()
    try:
        with open(path, "rb") as handle:
            header = handle.read(len(SQLITE_MAGIC))
    except FileNotFoundError:
        raise DatabaseUnavailable(path=str(path), detail="there is no such file") from None
    except IsADirectoryError:
        raise DatabaseUnavailable(path=str(path), detail="it is a folder") from None
    except OSError as exc:
        raise DatabaseUnavailable(path=str(path), detail=exc.strerror or str(exc)) from exc
    if not header:
        return {}  # empty: a database not set up yet; the next command does it
    if header != SQLITE_MAGIC:
        report.unreadable = True
        if _never_a_database(path):
            report.not_drayman = True
            report.problems.append("it is not a database at all")
            return None
        report.problems.append("it is not an SQLite database (its first bytes are wrong)")
        return None
    conn = sqlite3.connect(read_only_uri(path, immutable=not has_journal(path)), uri=True)
    try:
        try:
            report.version = int(conn.execute("PRAGMA user_version").fetchone()[0])
            schema = _schema(conn)
        except sqlite3.DatabaseError as exc:
            report.unreadable = True
            report.problems.append(f"SQLite cannot read it: {exc}")
            return None
        if report.version == 0 and schema:
            report.other_program = True
            report.problems.append("tables without a drayman schema version")
            return None
        if report.version > LATEST_VERSION:
            report.too_new = True
            report.problems.append(
                f"schema version {report.version}, this drayman knows up to {LATEST_VERSION}"
            )
            return None
        try:
            report.problems += _integrity(conn)
        except sqlite3.DatabaseError as exc:
            report.problems.append(f"the integrity check stopped: {exc}")
        if report.problems:
            report.readable_jobs = _readable_jobs(conn)
        else:
            # a missing table is named by the schema comparison
            with contextlib.suppress(sqlite3.DatabaseError):
                report.jobs = int(conn.execute("SELECT count(*) FROM jobs").fetchone()[0])
        return schema
    finally:
        conn.close()


async def check_database(path: str | os.PathLike[str]) -> CheckReport:
    """Check the database at ``path`` without changing it."""
    report = CheckReport(Path(path))
    schema = await asyncio.to_thread(_inspect, report)
    if schema and report.version is not None and not report.too_new:
        expected = await expected_schema(report.version)
        report.problems += _schema_problems(schema, expected, report.version)
    return report
