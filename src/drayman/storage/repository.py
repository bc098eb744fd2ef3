"""The job repository: every read and write of the job table.

One method, one transaction. Writes take ``BEGIN IMMEDIATE`` so two processes
(a GUI and a ``drayman pause`` in a terminal) serialize on SQLite's lock
instead of failing half way; state changes are guarded UPDATEs whose allowed
source states come from :data:`drayman.jobs.TRANSITIONS`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from importlib import resources
from typing import Any, NamedTuple

import aiosqlite

from drayman.errors import UnknownJob
from drayman.jobs import Job, JobState, NewJob, check_transition, sources_of
from drayman.rules import Rule
from drayman.storage.database import default_busy_timeout, open_database, sqlite_errors
from drayman.urls import host_of


def _load_queries() -> dict[str, str]:
    text = resources.files("drayman.storage").joinpath("queries.sql").read_text("utf-8")
    queries: dict[str, str] = {}
    for block in re.split(r"^-- name: ", text, flags=re.MULTILINE)[1:]:
        name, _, body = block.partition("\n")
        queries[name.strip()] = body.strip()
    return queries


Q = _load_queries()


class SegmentRecord(NamedTuple):
    """One piece of a segmented download: [start, durable) is fsynced, up to stop."""

    start: int
    stop: int
    durable: int


def file_key(name: str) -> str:
    """Names that differ only in case are one file on Windows and macOS."""
    return name.casefold()


def _row_to_job(row: sqlite3.Row) -> Job:
    return Job(
        id=row["id"],
        url=row["url"],
        host=row["host"],
        original_url=row["original_url"],
        effective_url=row["effective_url"],
        dest_dir=row["dest_dir"],
        requested_name=row["requested_name"],
        file_name=row["file_name"],
        state=JobState(row["state"]),
        bytes_done=row["bytes_done"],
        bytes_total=row["bytes_total"],
        etag=row["etag"],
        last_modified=row["last_modified"],
        headers=tuple((str(n), str(v)) for n, v in json.loads(row["headers"])),
        sha256=row["sha256"],
        attempts=row["attempts"],
        next_attempt_at=row["next_attempt_at"],
        error=row["error"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        finished_at=row["finished_at"],
        priority=row["priority"],
        position=row["position"],
        title=row["title"],
        author=row["author"],
        thumbnail_url=row["thumbnail_url"],
        name_template=row["name_template"],
        max_speed=row["max_speed"],
        insecure=bool(row["insecure"]),
        base_dir=row["base_dir"],
        part_identity=row["part_identity"],
        part_tail=row["part_tail"],
    )


async def _to_jobs(rows: list[sqlite3.Row]) -> list[Job]:
    """Build Job objects; a big table is built off the event loop (a window's loop)."""
    if len(rows) < 2000:
        return [_row_to_job(row) for row in rows]
    return await asyncio.to_thread(lambda: [_row_to_job(row) for row in rows])


async def _rollback(conn: aiosqlite.Connection) -> None:
    """Leave no transaction open after a failure, so the next write can begin.

    SQLite may have rolled back already (a failed COMMIT on a full disk does);
    a failing ROLLBACK must not hide the error that brought us here.
    """
    if conn.in_transaction:
        with contextlib.suppress(sqlite3.Error, ValueError):
            await conn.execute("ROLLBACK")


class JobStore:
    """Async access to one drayman database."""

    def __init__(
        self,
        conn: aiosqlite.Connection,
        path: str,
        *,
        busy_timeout: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._conn = conn
        self.path = path
        self._busy_timeout = default_busy_timeout() if busy_timeout is None else busy_timeout
        self._clock = clock
        self._write_lock = asyncio.Lock()
        conn.row_factory = sqlite3.Row

    @classmethod
    async def open(
        cls,
        path: str | os.PathLike[str],
        *,
        busy_timeout: float | None = None,
        clock: Callable[[], float] = time.time,
    ) -> JobStore:
        """Open the database; ``busy_timeout`` defaults to ``$DRAYMAN_BUSY_TIMEOUT``, else 10 s."""
        if busy_timeout is None:
            busy_timeout = default_busy_timeout()
        conn = await open_database(path, busy_timeout=busy_timeout)
        return cls(conn, os.fspath(path), busy_timeout=busy_timeout, clock=clock)

    async def close(self) -> None:
        await self._conn.close()

    async def __aenter__(self) -> JobStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- plumbing ----------------------------------------------------------

    def _errors(self) -> contextlib.AbstractContextManager[None]:
        return sqlite_errors(self.path, self._busy_timeout)

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._write_lock:
            with self._errors():
                await self._conn.execute("BEGIN IMMEDIATE")
                try:
                    yield self._conn
                    # the COMMIT is where a full disk shows (the WAL grows here)
                    await self._conn.execute("COMMIT")
                except BaseException:
                    await _rollback(self._conn)
                    raise

    async def _fetchall(self, query: str, params: dict[str, Any] | None = None) -> list[Any]:
        with self._errors():
            async with self._conn.execute(Q[query], params or {}) as cursor:
                return list(await cursor.fetchall())

    async def _fetchone(self, query: str, params: dict[str, Any] | None = None) -> Any:
        with self._errors():
            async with self._conn.execute(Q[query], params or {}) as cursor:
                return await cursor.fetchone()

    # -- reads ---------------------------------------------------------------

    async def data_version(self) -> int:
        """Changes whenever *another* connection commits (SQLite's data_version)."""
        with self._errors():
            async with self._conn.execute("PRAGMA data_version") as cursor:
                row = await cursor.fetchone()
        return int(row[0]) if row else 0

    async def get(self, job_id: int) -> Job:
        row = await self._fetchone("get_job", {"id": job_id})
        if row is None:
            raise UnknownJob(job_id=job_id)
        return _row_to_job(row)

    async def find(self, job_id: int) -> Job | None:
        row = await self._fetchone("get_job", {"id": job_id})
        return None if row is None else _row_to_job(row)

    async def jobs(self, state: JobState | None = None) -> list[Job]:
        if state is None:
            rows = await self._fetchall("list_jobs")
        else:
            rows = await self._fetchall("list_jobs_in_state", {"state": state.value})
        return await _to_jobs(rows)

    async def jobs_updated_since(self, since: float) -> list[Job]:
        """Jobs written at or after ``since`` (a viewer's incremental refresh)."""
        return await _to_jobs(await self._fetchall("jobs_updated_since", {"since": since}))

    async def count(self) -> int:
        row = await self._fetchone("count_jobs")
        return int(row[0]) if row else 0

    async def urls_in_queue(self, urls: Iterable[str]) -> set[str]:
        rows = await self._fetchall("urls_in_queue", {"urls": json.dumps(list(urls))})
        return {str(row[0]) for row in rows}

    async def first_jobs(self, limit: int) -> list[Job]:
        """The first ``limit`` jobs in queue order (a window paints these first)."""
        return [_row_to_job(row) for row in await self._fetchall("first_jobs", {"limit": limit})]

    async def states(self, ids: Iterable[int]) -> dict[int, JobState]:
        rows = await self._fetchall("job_states", {"ids": json.dumps(list(ids))})
        return {row[0]: JobState(row[1]) for row in rows}

    async def ids_in(self, states: Iterable[JobState]) -> list[int]:
        rows = await self._fetchall(
            "ids_in_states", {"states": json.dumps([s.value for s in states])}
        )
        return [row[0] for row in rows]

    async def runnable(
        self, limit: int, *, busy_hosts: Iterable[str] = (), now: float | None = None
    ) -> list[Job]:
        """Queued jobs whose time has come, best first, skipping hosts at their limit."""
        now = self._clock() if now is None else now
        params = {"now": now, "limit": limit, "busy_hosts": json.dumps(sorted(busy_hosts))}
        rows = await self._fetchall("runnable_jobs", params)
        return [_row_to_job(row) for row in rows]

    async def next_attempt_at(self) -> float | None:
        row = await self._fetchone("next_attempt_at")
        return None if row is None or row[0] is None else float(row[0])

    async def count_by_state(self) -> dict[JobState, int]:
        counts = dict.fromkeys(JobState, 0)
        for state, count in await self._fetchall("count_by_state"):
            counts[JobState(state)] = count
        return counts

    # -- writes --------------------------------------------------------------

    async def add(self, new_jobs: Sequence[NewJob]) -> list[int]:
        """Insert all jobs in one transaction: all of them are added, or none."""
        now = self._clock()
        async with self._transaction() as conn:
            async with conn.execute(Q["last_id_and_position"]) as cursor:
                row = await cursor.fetchone()
            last_id, last_position = (int(row[0]), int(row[1])) if row else (0, 0)
            ids = list(range(last_id + 1, last_id + 1 + len(new_jobs)))
            rows = [
                {
                    "id": job_id,
                    "position": last_position + n,
                    "url": job.url,
                    "host": host_of(job.url),
                    "dest_dir": job.dest_dir,
                    "requested_name": job.requested_name,
                    "headers": json.dumps([list(h) for h in job.headers]),
                    "sha256": job.sha256,
                    "priority": job.priority,
                    "title": job.title,
                    "author": job.author,
                    "thumbnail_url": job.thumbnail_url,
                    "name_template": job.name_template,
                    "insecure": int(job.insecure),
                    "base_dir": job.base_dir,
                    "now": now,
                }
                for n, (job_id, job) in enumerate(zip(ids, new_jobs, strict=True), start=1)
            ]
            # one executemany: one hop to SQLite's thread for the whole batch
            await conn.executemany(Q["insert_job"], rows)
        return ids

    async def change_state(
        self,
        ids: Sequence[int],
        target: JobState,
        *,
        reset_attempts: bool = False,
        keep_error: bool = False,
    ) -> list[int]:
        """Move the given jobs to ``target``, all or none.

        Jobs already in ``target`` are left alone (pausing a paused job is not
        an error). An unknown id raises :class:`UnknownJob`; a job whose state
        may not become ``target`` raises :class:`IllegalTransition`. Returns
        the ids that changed.
        """
        ids = list(dict.fromkeys(ids))
        async with self._transaction() as conn:
            async with conn.execute(Q["job_states"], {"ids": json.dumps(ids)}) as cursor:
                current = {row[0]: JobState(row[1]) for row in await cursor.fetchall()}
            changing = []
            for job_id in ids:
                if job_id not in current:
                    raise UnknownJob(job_id=job_id)
                if current[job_id] != target:
                    check_transition(job_id, current[job_id], target)
                    changing.append(job_id)
            if changing:
                await conn.execute(
                    Q["change_state"],
                    {
                        "target": target.value,
                        "now": self._clock(),
                        "ids": json.dumps(changing),
                        "sources": json.dumps([s.value for s in sources_of(target)]),
                        "keep_error": keep_error,
                        "reset_attempts": reset_attempts,
                    },
                )
        return changing

    async def change_all(
        self,
        target: JobState,
        *,
        only_from: Iterable[JobState] | None = None,
        reset_attempts: bool = False,
    ) -> list[int]:
        """Move every job that may become ``target`` (optionally only from some states)."""
        sources = sources_of(target)
        if only_from is not None:
            sources = sources & frozenset(only_from)
        ids = await self.ids_in(sources)
        if not ids:
            return []
        return await self.change_state(ids, target, reset_attempts=reset_attempts)

    async def get_setting(self, key: str) -> str | None:
        row = await self._fetchone("get_setting", {"key": key})
        return None if row is None else str(row[0])

    async def set_setting(self, key: str, value: str) -> None:
        async with self._transaction() as conn:
            await conn.execute(Q["set_setting"], {"key": key, "value": value})

    async def set_job_speed(self, ids: Sequence[int], rate: int | None) -> None:
        async with self._transaction() as conn:
            params = {"ids": json.dumps(list(ids)), "rate": rate, "now": self._clock()}
            await conn.execute(Q["set_job_speed"], params)

    async def job_speeds(self, ids: Iterable[int]) -> dict[int, int | None]:
        rows = await self._fetchall("job_speeds", {"ids": json.dumps(list(ids))})
        return {row[0]: row[1] for row in rows}

    async def bump_priority(self, ids: Sequence[int], delta: int) -> None:
        """Raise (or lower) jobs in the queue: higher priority starts first."""
        async with self._transaction() as conn:
            params = {"ids": json.dumps(list(ids)), "delta": delta, "now": self._clock()}
            await conn.execute(Q["bump_priority"], params)

    async def claim(self, job_id: int) -> bool:
        """queued -> running, unless someone changed the job meanwhile."""
        async with self._transaction() as conn:
            cursor = await conn.execute(Q["claim_job"], {"id": job_id, "now": self._clock()})
            return cursor.rowcount == 1

    async def checkpoint(
        self, job_id: int, bytes_done: int, *, part_tail: str | None = None
    ) -> None:
        """Record the durable offset. Call only after the bytes are fsynced.

        ``part_tail`` is the digest of the bytes just before it (see
        :class:`drayman.queue.partfile.KnownPart`); None when not known.
        """
        async with self._transaction() as conn:
            await conn.execute(
                Q["checkpoint"],
                {
                    "id": job_id,
                    "bytes_done": bytes_done,
                    "part_tail": part_tail,
                    "now": self._clock(),
                },
            )

    async def set_part_identity(self, job_id: int, identity: str | None) -> None:
        """Remember which file the job's ``.part`` is (a new one, or one adopted)."""
        async with self._transaction() as conn:
            params = {"id": job_id, "part_identity": identity, "now": self._clock()}
            await conn.execute(Q["set_part_identity"], params)

    async def segments(self, job_id: int) -> list[SegmentRecord]:
        """The job's segments in file order (none for a single-stream download)."""
        rows = await self._fetchall("list_segments", {"job_id": job_id})
        return [SegmentRecord(row[0], row[1], row[2]) for row in rows]

    async def save_segments(
        self, job_id: int, segments: Sequence[SegmentRecord], bytes_done: int
    ) -> None:
        """Record every segment's durable offset and their sum, in one transaction.

        Call only after the bytes are fsynced. An empty list makes the job a
        single stream again, with ``bytes_done`` as its prefix.
        """
        async with self._transaction() as conn:
            await conn.execute(Q["delete_segments"], {"job_id": job_id})
            await conn.executemany(
                Q["insert_segment"],
                [
                    {"job_id": job_id, "start": s.start, "stop": s.stop, "durable": s.durable}
                    for s in segments
                ],
            )
            # part_tail is the digest before a prefix's end: segments have none
            await conn.execute(
                Q["checkpoint"],
                {"id": job_id, "bytes_done": bytes_done, "part_tail": None, "now": self._clock()},
            )

    async def record_remote(
        self,
        job_id: int,
        *,
        etag: str | None,
        last_modified: str | None,
        bytes_total: int | None,
        effective_url: str | None,
        bytes_done: int,
    ) -> None:
        """Remember what the server said about the file (validators and size).

        ``bytes_done`` is a single stream's prefix: any segments are dropped
        (by a trigger, see 0005_segments.sql).
        """
        async with self._transaction() as conn:
            await conn.execute(
                Q["record_remote"],
                {
                    "id": job_id,
                    "etag": etag,
                    "last_modified": last_modified,
                    "bytes_total": bytes_total,
                    "effective_url": effective_url,
                    "bytes_done": bytes_done,
                    "now": self._clock(),
                },
            )

    async def name_taken(self, job_id: int, dest_dir: str, name: str) -> bool:
        """Is ``name`` another job's target in ``dest_dir``?"""
        row = await self._fetchone(
            "name_taken", {"dest_dir": dest_dir, "file_key": file_key(name), "id": job_id}
        )
        return row is not None

    async def set_name(self, job_id: int, name: str, *, replace: bool = False) -> bool:
        """Fix the job's file name; False if another job took it first.

        Without ``replace`` a name that is already set is kept (a resume never
        renames). The unique index on (dest_dir, file_key) settles races
        between processes.
        """
        query = "rename_target" if replace else "reserve_name"
        try:
            async with self._transaction() as conn:
                cursor = await conn.execute(
                    Q[query],
                    {
                        "id": job_id,
                        "file_name": name,
                        "file_key": file_key(name),
                        "now": self._clock(),
                    },
                )
                return cursor.rowcount == 1
        except sqlite3.IntegrityError:
            return False

    async def finish(self, job_id: int, bytes_done: int) -> bool:
        """Mark the job done (its file is complete and renamed); its segments go."""
        async with self._transaction() as conn:
            cursor = await conn.execute(
                Q["finish_job"],
                {
                    "id": job_id,
                    "bytes_done": bytes_done,
                    "now": self._clock(),
                    "sources": json.dumps([s.value for s in sources_of(JobState.DONE)]),
                },
            )
            return cursor.rowcount == 1

    async def requeue(
        self, job_id: int, *, error: str, attempts: int, next_attempt_at: float
    ) -> bool:
        """running -> queued after a transient failure, to try again later."""
        async with self._transaction() as conn:
            cursor = await conn.execute(
                Q["requeue_job"],
                {
                    "id": job_id,
                    "error": error,
                    "attempts": attempts,
                    "next_attempt_at": next_attempt_at,
                    "now": self._clock(),
                },
            )
            return cursor.rowcount == 1

    async def fail(self, job_id: int, *, error: str, attempts: int) -> bool:
        async with self._transaction() as conn:
            cursor = await conn.execute(
                Q["fail_job"],
                {"id": job_id, "error": error, "attempts": attempts, "now": self._clock()},
            )
            return cursor.rowcount == 1

    async def release(self, job_id: int) -> bool:
        """running -> queued at shutdown, without counting an attempt."""
        async with self._transaction() as conn:
            cursor = await conn.execute(Q["release_job"], {"id": job_id, "now": self._clock()})
            return cursor.rowcount == 1

    async def recover_running(self) -> int:
        """Jobs left ``running`` belong to a dead engine: queue them again."""
        async with self._transaction() as conn:
            cursor = await conn.execute(Q["recover_running"], {"now": self._clock()})
            return cursor.rowcount

    async def remove(self, ids: Sequence[int]) -> list[Job]:
        """Delete the rows (all or none) and return them."""
        ids = list(dict.fromkeys(ids))
        async with self._transaction() as conn:
            async with conn.execute(Q["delete_jobs"], {"ids": json.dumps(ids)}) as cursor:
                rows = [_row_to_job(row) for row in await cursor.fetchall()]
            found = {job.id for job in rows}
            for job_id in ids:
                if job_id not in found:
                    raise UnknownJob(job_id=job_id)
        return rows

    # -- per-host rules ------------------------------------------------------------

    async def add_rule(
        self,
        pattern: str,
        *,
        headers: Sequence[tuple[str, str]] = (),
        dest_dir: str | None = None,
        template: str | None = None,
        max_connections: int | None = None,
        insecure: bool = False,
    ) -> int:
        """Add a rule, or replace the one with the same pattern."""
        async with self._transaction() as conn:
            params = {
                "pattern": pattern,
                "headers": json.dumps([list(h) for h in headers]),
                "dest_dir": dest_dir,
                "template": template,
                "max_connections": max_connections,
                "insecure": int(insecure),
                "now": self._clock(),
            }
            async with conn.execute(Q["insert_rule"], params) as cursor:
                row = await cursor.fetchone()
        assert row is not None
        return int(row[0])

    async def rules(self) -> list[Rule]:
        return [
            Rule(
                id=row["id"],
                pattern=row["pattern"],
                headers=tuple((str(n), str(v)) for n, v in json.loads(row["headers"])),
                dest_dir=row["dest_dir"],
                template=row["template"],
                max_connections=row["max_connections"],
                insecure=bool(row["insecure"]),
            )
            for row in await self._fetchall("list_rules")
        ]

    async def remove_rule(self, id_or_pattern: str) -> bool:
        rule_id = int(id_or_pattern) if id_or_pattern.isdigit() else -1
        async with self._transaction() as conn:
            params = {"id": rule_id, "pattern": id_or_pattern.lower()}
            async with conn.execute(Q["delete_rule"], params) as cursor:
                return bool(await cursor.fetchall())
