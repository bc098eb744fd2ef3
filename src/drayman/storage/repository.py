"""The job repository: every read and write of the job table.

Every write is atomic and durable when its method returns. Writes take
``BEGIN IMMEDIATE`` so two processes (a GUI and a ``drayman pause`` in a
terminal) serialize on SQLite's lock instead of failing half way; writes made
while a commit is in flight share the next transaction (group commit, see
:meth:`JobStore._write`). State changes are guarded UPDATEs whose allowed
source states come from :data:`drayman.jobs.TRANSITIONS`.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import functools
import json
import os
import re
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from importlib import resources
from typing import Any, NamedTuple, TypeVar, cast

import aiosqlite

from drayman.errors import UnknownJob
from drayman.jobs import Job, JobState, NewJob, check_transition, sources_of
from drayman.rules import Rule
from drayman.schedules import Band
from drayman.storage.database import default_busy_timeout, open_database, sqlite_errors
from drayman.storage.onthread import on_connection_thread
from drayman.urls import host_of


def _load_queries() -> dict[str, str]:
    text = resources.files("drayman.storage").joinpath("queries.sql").read_text("utf-8")
    queries: dict[str, str] = {}
    for block in re.split(r"^-- name: ", text, flags=re.MULTILINE)[1:]:
        name, _, body = block.partition("\n")
        queries[name.strip()] = body.strip()
    return queries


Q = _load_queries()

T = TypeVar("T")


class Claimed(NamedTuple):
    """A job just claimed (queued -> running), as stored by the claim, and its cookies."""

    job: Job
    #: the job's cookies as stored (drayman.cookies JSON); None if it has none
    cookies: str | None


class ClaimRound(NamedTuple):
    """What one :meth:`JobStore.claim_runnable` did and saw, in one transaction."""

    #: the jobs claimed, in the order chosen
    claimed: list[Claimed]
    #: SQLite's data_version then (see :meth:`JobStore.data_version`)
    data_version: int
    #: the earliest retry due (see :meth:`JobStore.next_attempt_at`)
    next_attempt_at: float | None


#: ``runnable(limit, busy_hosts)``: what :meth:`JobStore.runnable` answers, on the
#: database's thread; a :data:`Pick` chooses from it the ids to claim, best first
Runnable = Callable[[int, Iterable[str]], list[Job]]
Pick = Callable[[Runnable], list[int]]


class SegmentRecord(NamedTuple):
    """One piece of a segmented download: [start, durable) is fsynced, up to stop."""

    start: int
    stop: int
    durable: int


def file_key(name: str) -> str:
    """Names that differ only in case are one file on Windows and macOS."""
    return name.casefold()


def _headers(stored: str) -> tuple[tuple[str, str], ...]:
    if stored == "[]":  # nearly every job: no JSON to parse
        return ()
    return tuple((str(n), str(v)) for n, v in json.loads(stored))


def _row_to_job(found: sqlite3.Row) -> Job:
    # a Row looks a name up by comparing it with every column's: one dict instead
    row = dict(zip(found.keys(), found, strict=True))
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
        headers=_headers(row["headers"]),
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
        proxy=row["proxy"],
        max_filesize=row["max_filesize"],
        page_url=row["page_url"],
        sort_by_type=bool(row["sort_by_type"]),
        ignore_schedule=bool(row["ignore_schedule"]),
        split=row["split"],
    )


async def _to_jobs(rows: list[sqlite3.Row]) -> list[Job]:
    """Build Job objects; a big table is built off the event loop (a window's loop)."""
    if len(rows) < 2000:
        return [_row_to_job(row) for row in rows]
    return await asyncio.to_thread(lambda: [_row_to_job(row) for row in rows])


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
        #: writes waiting for a group commit (taken on the database's thread,
        #: see :class:`_Intake`), and the task that commits them
        self._pending: collections.deque[_Write] = collections.deque()
        self._committer: asyncio.Task[None] | None = None
        #: transactions committed by this store (the benchmarks count them)
        self.commits = 0
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
        # writes already queued are committed first: their callers are waiting
        committer = self._committer
        if committer is not None and not committer.done():
            with contextlib.suppress(Exception):
                await asyncio.shield(committer)
        await self._conn.close()

    async def __aenter__(self) -> JobStore:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    # -- plumbing ----------------------------------------------------------

    def _errors(self) -> contextlib.AbstractContextManager[None]:
        return sqlite_errors(self.path, self._busy_timeout)

    async def _in_thread(self, fn: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``fn`` on the connection's own thread: one hop, however many
        statements (:mod:`.onthread`); a job's transition costs one hop."""
        with self._errors():
            return await on_connection_thread(self._conn, fn)

    async def _write(self, op: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``op`` in a durable write transaction; return once it is committed.

        Group commit: the writes that arrive while a transaction runs its
        statements join it before its COMMIT (:class:`_Intake`), and those
        that arrive during the COMMIT (an fsync under ``synchronous=FULL``)
        share the next one, so sixteen transfers finishing at once cost one
        fsync, not sixteen. A write that raises is rolled back alone and its
        caller gets the error, while the others of its batch still commit
        (see :func:`_run_batch`). If the transaction as a whole fails (BEGIN
        or COMMIT: a lock held too long, a full disk), every caller of that
        batch gets the error and nothing of it is stored.

        A caller cancelled before its batch takes its write is dropped from
        it; one cancelled later cannot take its write back (it commits with
        the rest).
        """
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        self._pending.append((op, future))
        if self._committer is None or self._committer.done():
            self._committer = loop.create_task(self._commit_pending(), name="drayman-db-commit")
        with self._errors():
            return cast(T, await future)

    async def _commit_pending(self) -> None:
        while self._pending:
            intake = _Intake(self._pending)
            try:
                outcomes = await self._in_thread(functools.partial(_run_batch, intake.take))
            except BaseException as exc:
                # nothing more joins this batch; its callers learn what happened
                for _, future in intake.close():
                    if not future.done():
                        if isinstance(exc, asyncio.CancelledError):
                            future.cancel()
                        else:
                            future.set_exception(exc)
                if isinstance(exc, asyncio.CancelledError):
                    while self._pending:
                        self._pending.popleft()[1].cancel()
                    raise
                continue
            if intake.taken:
                self.commits += 1
            for (_, future), (ok, value) in zip(intake.taken, outcomes, strict=True):
                if not future.done():
                    if ok:
                        future.set_result(value)
                    else:
                        future.set_exception(value)

    async def _fetchall(self, query: str, params: dict[str, Any] | None = None) -> list[Any]:
        # one call on the connection's thread: a cursor stepped there and fetched
        # later would hold a read snapshot while another coroutine's BEGIN
        # IMMEDIATE runs, and SQLite then fails that write at once (SQLITE_BUSY
        # or BUSY_SNAPSHOT) instead of waiting out another process's lock
        with self._errors():
            return list(await self._conn.execute_fetchall(Q[query], params or {}))

    async def _fetchone(self, query: str, params: dict[str, Any] | None = None) -> Any:
        rows = await self._fetchall(query, params)
        return rows[0] if rows else None

    # -- reads ---------------------------------------------------------------

    async def data_version(self) -> int:
        """Changes whenever *another* connection commits (SQLite's data_version)."""
        with self._errors():
            rows = list(await self._conn.execute_fetchall("PRAGMA data_version"))
        return int(rows[0][0]) if rows else 0

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

    async def job_batches(
        self, state: JobState | None = None, *, batch: int = 1000
    ) -> AsyncIterator[list[Job]]:
        """The jobs of :meth:`jobs`, ``batch`` at a time, without holding them all.

        One statement stepped across awaits: it holds a read snapshot until the
        iteration ends, so it suits a connection nothing else writes through
        meanwhile (``drayman ls --json``); a writer on the same connection would
        be refused at once instead of waiting (see ``_fetchall``).
        """
        if state is None:
            query, params = Q["list_jobs"], {}
        else:
            query, params = Q["list_jobs_in_state"], {"state": state.value}
        with self._errors():
            cursor = await self._conn.execute(query, params)
        try:
            while True:
                with self._errors():
                    rows = await cursor.fetchmany(batch)
                if not rows:
                    return
                yield [_row_to_job(row) for row in rows]
        finally:
            await cursor.close()

    async def jobs_updated_since(self, since: float) -> list[Job]:
        """Jobs written at or after ``since`` (a viewer's incremental refresh)."""
        return await _to_jobs(await self._fetchall("jobs_updated_since", {"since": since}))

    async def waiting(self, limit: int | None = None, offset: int = 0) -> list[Job]:
        """Queued and paused jobs in the order they will start, a page of them."""
        params = {"limit": -1 if limit is None else limit, "offset": offset}
        return await _to_jobs(await self._fetchall("waiting_jobs", params))

    async def latest_stopped(self, limit: int) -> list[Job]:
        """The ``limit`` most recently done or failed jobs, the least recent first."""
        return await _to_jobs(await self._fetchall("latest_stopped", {"limit": limit}))

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
        self,
        limit: int,
        *,
        busy_hosts: Iterable[str] = (),
        now: float | None = None,
        held: bool = False,
        own_proxy_only: bool = False,
    ) -> list[Job]:
        """Queued jobs whose time has come, best first, skipping hosts at their limit.

        ``held`` (a pause band of the schedule): only jobs that ignore the schedule.
        ``own_proxy_only`` (the run's proxy is lost): only jobs with a proxy of their own.
        """
        now = self._clock() if now is None else now
        params = {
            "now": now,
            "limit": limit,
            "busy_hosts": json.dumps(sorted(busy_hosts)),
            "held": int(held),
            "own_proxy_only": int(own_proxy_only),
        }
        rows = await self._fetchall("runnable_jobs", params)
        return [_row_to_job(row) for row in rows]

    async def poll(self) -> tuple[int, float | None]:
        """:meth:`data_version` and :meth:`next_attempt_at` in one call to the
        database's thread (what the engine reads after each reconciliation)."""

        def read(conn: sqlite3.Connection) -> tuple[int, float | None]:
            version = int(conn.execute("PRAGMA data_version").fetchone()[0])
            due = conn.execute(Q["next_attempt_at"]).fetchone()
            return version, None if due is None or due[0] is None else float(due[0])

        return await self._in_thread(read)

    async def next_attempt_at(self) -> float | None:
        row = await self._fetchone("next_attempt_at")
        return None if row is None or row[0] is None else float(row[0])

    async def has_work(self) -> bool:
        """Is any job queued or running? (An index lookup, unlike counting.)"""
        row = await self._fetchone("has_work")
        return bool(row and row[0])

    async def count_by_state(self) -> dict[JobState, int]:
        counts = dict.fromkeys(JobState, 0)
        for state, count in await self._fetchall("count_by_state"):
            counts[JobState(state)] = count
        return counts

    # -- writes --------------------------------------------------------------
    # Each write is a plain function of the sqlite3 connection, run by _write
    # on the database thread inside the group-commit transaction.

    async def add(self, new_jobs: Sequence[NewJob], *, at: int | None = None) -> list[int]:
        """Insert all jobs in one transaction: all of them are added, or none.

        ``at``: the new jobs go to this index of the waiting queue (aria2's
        position; past its end is at its end), in the same transaction.
        """
        now = self._clock()
        rows = [
            {
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
                "proxy": job.proxy,
                "max_filesize": job.max_filesize,
                "page_url": job.page_url,
                "sort_by_type": int(job.sort_by_type),
                "ignore_schedule": int(job.ignore_schedule),
                "split": job.split,
                "max_speed": job.max_speed,
                "state": (JobState.PAUSED if job.paused else JobState.QUEUED).value,
                "now": now,
            }
            for job in new_jobs
        ]

        def op(conn: sqlite3.Connection) -> list[int]:
            # inside the write transaction nobody else inserts: ids follow on
            row = conn.execute(Q["last_id_and_position"]).fetchone()
            last_id, last_position = (int(row[0]), int(row[1])) if row else (0, 0)
            for n, values in enumerate(rows, start=1):
                values["id"] = last_id + n
                values["position"] = last_position + n
            conn.executemany(Q["insert_job"], rows)
            if rows:
                conn.execute(Q["raise_high_water"], {"name": "jobs", "high": rows[-1]["id"]})
            conn.executemany(
                Q["save_cookies"],
                [
                    {"id": values["id"], "cookies": job.cookies}
                    for values, job in zip(rows, new_jobs, strict=True)
                    if job.cookies is not None
                ],
            )
            ids = list(range(last_id + 1, last_id + 1 + len(rows)))
            if at is not None and ids:
                new = set(ids)
                rest = [row[0] for row in conn.execute(Q["waiting_ids"]) if row[0] not in new]
                place = min(at, len(rest))
                order = [*rest[:place], *ids, *rest[place:]]
                conn.execute(Q["put_in_order"], {"ids": json.dumps(order), "now": now})
            return ids

        return await self._write(op)

    async def cookies(self, job_id: int) -> str | None:
        """The job's cookies as stored (drayman.cookies JSON); None if it has none."""
        row = await self._fetchone("get_cookies", {"id": job_id})
        return None if row is None else str(row[0])

    async def save_cookies(self, job_id: int, cookies: str) -> None:
        await self._write(_statement("save_cookies", {"id": job_id, "cookies": cookies}))

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
        now = self._clock()

        def op(conn: sqlite3.Connection) -> list[int]:
            rows = conn.execute(Q["job_states"], {"ids": json.dumps(ids)}).fetchall()
            current = {row[0]: JobState(row[1]) for row in rows}
            changing = []
            for job_id in ids:
                if job_id not in current:
                    raise UnknownJob(job_id=job_id)
                if current[job_id] != target:
                    check_transition(job_id, current[job_id], target)
                    changing.append(job_id)
            if changing:
                conn.execute(
                    Q["change_state"],
                    {
                        "target": target.value,
                        "now": now,
                        "ids": json.dumps(changing),
                        "sources": json.dumps([s.value for s in sources_of(target)]),
                        "keep_error": keep_error,
                        "reset_attempts": reset_attempts,
                    },
                )
            return changing

        return await self._write(op)

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
        await self._write(_statement("set_setting", {"key": key, "value": value}))

    async def set_settings(self, values: dict[str, str]) -> None:
        """Several settings in one transaction: all of them change, or none."""

        def op(conn: sqlite3.Connection) -> None:
            for key, value in values.items():
                conn.execute(Q["set_setting"], {"key": key, "value": value})

        await self._write(op)

    async def set_job_speed(self, ids: Sequence[int], rate: int | None) -> None:
        params = {"ids": json.dumps(list(ids)), "rate": rate, "now": self._clock()}
        await self._write(_statement("set_job_speed", params))

    async def job_speeds(self, ids: Iterable[int]) -> dict[int, int | None]:
        rows = await self._fetchall("job_speeds", {"ids": json.dumps(list(ids))})
        return {row[0]: row[1] for row in rows}

    async def bump_priority(self, ids: Sequence[int], delta: int) -> None:
        """Raise (or lower) jobs in the queue: higher priority starts first."""
        params = {"ids": json.dumps(list(ids)), "delta": delta, "now": self._clock()}
        await self._write(_statement("bump_priority", params))

    async def put_in_order(self, ids: Sequence[int]) -> None:
        """Priorities that make ``ids`` start in this order, before jobs not listed."""
        params = {"ids": json.dumps(list(ids)), "now": self._clock()}
        await self._write(_statement("put_in_order", params))

    async def claim(self, job_id: int) -> bool:
        """queued -> running, unless someone changed the job meanwhile."""
        return bool(await self.claim_many([job_id]))

    async def claim_many(self, ids: Sequence[int]) -> set[int]:
        """queued -> running for each of ``ids`` still queued; return those claimed."""
        return {claimed.job.id for claimed in await self.claim_jobs(ids)}

    async def claim_runnable(
        self, pick: Pick, *, held: bool = False, own_proxy_only: bool = False
    ) -> ClaimRound:
        """Choose runnable jobs and claim them, with what a reconciliation reads
        after (data_version, the next retry due), in one call to the database's
        thread instead of four.

        ``pick`` runs there, inside the write transaction: it asks
        ``runnable(limit, busy_hosts)`` (:meth:`runnable`, ``held`` and
        ``own_proxy_only`` as given)
        as often as it needs, and returns the ids to claim, best first. It
        must not touch anything another thread changes.
        """
        now = self._clock()

        def op(conn: sqlite3.Connection) -> ClaimRound:
            def runnable(limit: int, busy_hosts: Iterable[str]) -> list[Job]:
                params = {
                    "now": now,
                    "limit": limit,
                    "busy_hosts": json.dumps(sorted(busy_hosts)),
                    "held": int(held),
                    "own_proxy_only": int(own_proxy_only),
                }
                return [_row_to_job(row) for row in conn.execute(Q["runnable_jobs"], params)]

            ids = pick(runnable)
            claimed = {c.job.id: c for c in _claim(conn, ids, now)} if ids else {}
            version = int(conn.execute("PRAGMA data_version").fetchone()[0])
            due = conn.execute(Q["next_attempt_at"]).fetchone()
            return ClaimRound(
                [claimed[i] for i in ids if i in claimed],
                version,
                None if due is None or due[0] is None else float(due[0]),
            )

        return await self._write(op)

    async def claim_jobs(self, ids: Sequence[int]) -> list[Claimed]:
        """queued -> running for each of ``ids`` still queued: those claimed, as
        the claim stored them, with their cookies.

        One write for all the jobs a reconciliation starts; a transfer starts
        from these rows without reading its job (and its cookies) again: two
        hops to the database's thread less per file.
        """
        now = self._clock()
        return await self._write(lambda conn: _claim(conn, ids, now))

    async def checkpoint(
        self,
        job_id: int,
        bytes_done: int,
        *,
        part_tail: str | None = None,
        part_identity: str | None = None,
    ) -> None:
        """Record the durable offset. Call only after the bytes are fsynced.

        ``part_tail`` is the digest of the bytes just before it (see
        :class:`drayman.queue.partcheck.KnownPart`); None when not known.
        ``part_identity``: the ``.part``'s identity, if it is new (see
        :meth:`set_part_identity`); None leaves the recorded one.
        """
        params = {
            "id": job_id,
            "bytes_done": bytes_done,
            "part_tail": part_tail,
            "part_identity": part_identity,
            "now": self._clock(),
        }
        await self._write(_statement("checkpoint", params))

    async def set_part_identity(self, job_id: int, identity: str | None) -> None:
        """Remember which file the job's ``.part`` is (a new one, or one adopted)."""
        params = {"id": job_id, "part_identity": identity, "now": self._clock()}
        await self._write(_statement("set_part_identity", params))

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
        rows = [
            {"job_id": job_id, "start": s.start, "stop": s.stop, "durable": s.durable}
            for s in segments
        ]
        # part_tail is the digest before a prefix's end: segments have none
        checkpoint = {
            "id": job_id,
            "bytes_done": bytes_done,
            "part_tail": None,
            "part_identity": None,
            "now": self._clock(),
        }

        def op(conn: sqlite3.Connection) -> None:
            conn.execute(Q["delete_segments"], {"job_id": job_id})
            conn.executemany(Q["insert_segment"], rows)
            conn.execute(Q["checkpoint"], checkpoint)

        await self._write(op)

    async def set_link(self, job_id: int, url: str, headers: Sequence[tuple[str, str]]) -> bool:
        """A running job's fresh media URL and headers (its page gave them again)."""
        params = {
            "id": job_id,
            "url": url,
            "host": host_of(url),
            "headers": json.dumps([list(h) for h in headers]),
            "now": self._clock(),
        }
        return await self._write(lambda conn: conn.execute(Q["set_link"], params).rowcount == 1)

    async def record_remote(
        self,
        job_id: int,
        *,
        etag: str | None,
        last_modified: str | None,
        bytes_total: int | None,
        effective_url: str | None,
        bytes_done: int,
    ) -> Job:
        """Remember what the server said about the file (validators and size).

        ``bytes_done`` is a single stream's prefix: any segments are dropped
        (by a trigger, see 0007_segments.sql). Returns the job as now stored
        (with what other steps wrote, and the tail digest the UPDATE keeps or
        drops), read in the same transaction.
        """
        params = {
            "id": job_id,
            "etag": etag,
            "last_modified": last_modified,
            "bytes_total": bytes_total,
            "effective_url": effective_url,
            "bytes_done": bytes_done,
            "now": self._clock(),
        }

        def op(conn: sqlite3.Connection) -> Job:
            rows = conn.execute(Q["record_remote"], params).fetchall()
            if not rows:
                raise UnknownJob(job_id=job_id)
            return _row_to_job(rows[0])

        return await self._write(op)

    async def name_taken(self, job_id: int, dest_dir: str, name: str) -> bool:
        """Is ``name`` another job's target in ``dest_dir``?"""
        row = await self._fetchone(
            "name_taken", {"dest_dir": dest_dir, "file_key": file_key(name), "id": job_id}
        )
        return row is not None

    async def set_name(
        self, job_id: int, name: str, *, replace: bool = False, dest_dir: str | None = None
    ) -> bool:
        """Fix the job's file name; False if another job took it first.

        Without ``replace`` a name that is already set is kept (a resume never
        renames); ``dest_dir`` (a job sorted by file type: its category's
        folder) is fixed in the same write. The unique index on (dest_dir,
        file_key) settles races between processes.
        """
        assert dest_dir is None or not replace, "a name is moved to another folder only once"
        query = Q["rename_target" if replace else "reserve_name"]
        params = {
            "id": job_id,
            "file_name": name,
            "file_key": file_key(name),
            "now": self._clock(),
            "dest_dir": dest_dir,
        }

        def op(conn: sqlite3.Connection) -> bool:
            try:
                return conn.execute(query, params).rowcount == 1
            except sqlite3.IntegrityError:
                return False

        return await self._write(op)

    async def name_and_remote(
        self,
        job_id: int,
        name: str,
        *,
        dest_dir: str | None,
        etag: str | None,
        last_modified: str | None,
        bytes_total: int | None,
        effective_url: str | None,
    ) -> Job | None:
        """:meth:`set_name` and :meth:`record_remote` (from byte 0) in one write, for a
        name chosen after the server's answer: the job as now stored, or None
        (nothing written) if another job took the name first."""
        params = {
            "id": job_id,
            "file_name": name,
            "file_key": file_key(name),
            "dest_dir": dest_dir,
            "etag": etag,
            "last_modified": last_modified,
            "bytes_total": bytes_total,
            "effective_url": effective_url,
            "now": self._clock(),
        }

        def op(conn: sqlite3.Connection) -> Job | None:
            try:
                rows = conn.execute(Q["reserve_name_and_remote"], params).fetchall()
            except sqlite3.IntegrityError:
                return None  # the unique index: another job holds the name
            # no row: the job has a name already (a resume never renames), or is gone
            return _row_to_job(rows[0]) if rows else None

        return await self._write(op)

    async def finish(self, job_id: int, bytes_done: int) -> bool:
        """Mark the job done (its file is complete and renamed); its segments go."""
        params = {
            "id": job_id,
            "bytes_done": bytes_done,
            "now": self._clock(),
            "sources": json.dumps([s.value for s in sources_of(JobState.DONE)]),
        }
        return await self._write(_changes_one("finish_job", params))

    async def requeue(
        self, job_id: int, *, error: str, attempts: int, next_attempt_at: float
    ) -> bool:
        """running -> queued after a transient failure, to try again later."""
        params = {
            "id": job_id,
            "error": error,
            "attempts": attempts,
            "next_attempt_at": next_attempt_at,
            "now": self._clock(),
        }
        return await self._write(_changes_one("requeue_job", params))

    async def fail(
        self, job_id: int, *, error: str, attempts: int, bytes_total: int | None = None
    ) -> bool:
        """running -> failed; ``bytes_total``: the size the server told, if none is recorded."""
        params = {
            "id": job_id,
            "error": error,
            "attempts": attempts,
            "bytes_total": bytes_total,
            "now": self._clock(),
        }
        return await self._write(_changes_one("fail_job", params))

    async def release(self, job_id: int) -> bool:
        """running -> queued at shutdown, without counting an attempt."""
        return await self._write(_changes_one("release_job", {"id": job_id, "now": self._clock()}))

    async def recover_running(self) -> int:
        """Jobs left ``running`` belong to a dead engine: queue them again."""
        params = {"now": self._clock()}

        def op(conn: sqlite3.Connection) -> int:
            return conn.execute(Q["recover_running"], params).rowcount

        return await self._write(op)

    async def remove(self, ids: Sequence[int]) -> list[Job]:
        """Delete the rows (all or none) and return them."""
        ids = list(dict.fromkeys(ids))

        def op(conn: sqlite3.Connection) -> list[Job]:
            rows = conn.execute(Q["delete_jobs"], {"ids": json.dumps(ids)}).fetchall()
            jobs = [_row_to_job(row) for row in rows]
            found = {job.id for job in jobs}
            for job_id in ids:
                if job_id not in found:
                    raise UnknownJob(job_id=job_id)
            return jobs

        return await self._write(op)

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
        proxy: str | None = None,
        max_filesize: int | None = None,
    ) -> int:
        """Add a rule, or replace the one with the same pattern."""
        params = {
            "pattern": pattern,
            "headers": json.dumps([list(h) for h in headers]),
            "dest_dir": dest_dir,
            "template": template,
            "max_connections": max_connections,
            "insecure": int(insecure),
            "proxy": proxy,
            "max_filesize": max_filesize,
            "now": self._clock(),
        }

        def op(conn: sqlite3.Connection) -> int:
            rule_id = int(conn.execute(Q["insert_rule"], params).fetchone()[0])
            conn.execute(Q["raise_high_water"], {"name": "rules", "high": rule_id})
            return rule_id

        return await self._write(op)

    async def rules(self) -> list[Rule]:
        return [
            Rule(
                id=row["id"],
                pattern=row["pattern"],
                headers=_headers(row["headers"]),
                dest_dir=row["dest_dir"],
                template=row["template"],
                max_connections=row["max_connections"],
                insecure=bool(row["insecure"]),
                proxy=row["proxy"],
                max_filesize=row["max_filesize"],
            )
            for row in await self._fetchall("list_rules")
        ]

    async def remove_rule(self, id_or_pattern: str) -> bool:
        rule_id = int(id_or_pattern) if id_or_pattern.isdigit() else -1
        params = {"id": rule_id, "pattern": id_or_pattern.lower()}

        def op(conn: sqlite3.Connection) -> bool:
            return bool(conn.execute(Q["delete_rule"], params).fetchall())

        return await self._write(op)

    # -- schedules -------------------------------------------------------------------

    async def schedules(self) -> list[Band]:
        return [
            Band(
                id=row["id"],
                days=row["days"],
                start=row["start_minute"],
                end=row["end_minute"],
                rate=row["max_speed"],
            )
            for row in await self._fetchall("list_schedules")
        ]

    async def add_schedule(self, band: Band) -> int:
        params = {
            "days": band.days,
            "start": band.start,
            "end": band.end,
            "rate": band.rate,
            "now": self._clock(),
        }

        def op(conn: sqlite3.Connection) -> int:
            return int(conn.execute(Q["insert_schedule"], params).fetchone()[0])

        return await self._write(op)

    async def remove_schedule(self, schedule_id: int) -> bool:
        def op(conn: sqlite3.Connection) -> bool:
            return bool(conn.execute(Q["delete_schedule"], {"id": schedule_id}).fetchall())

        return await self._write(op)


# -- the write transaction --------------------------------------------------------


def _claim(conn: sqlite3.Connection, ids: Sequence[int], now: float) -> list[Claimed]:
    """queued -> running for each of ``ids`` still queued: those claimed, as stored, with
    their cookies (in a write transaction)."""
    params = {"ids": json.dumps(list(ids)), "now": now}
    jobs = [_row_to_job(row) for row in conn.execute(Q["claim_jobs"], params)]
    if not jobs:
        return []
    found = json.dumps([job.id for job in jobs])
    cookies = dict(conn.execute(Q["cookies_of"], {"ids": found}).fetchall())
    return [Claimed(job, cookies.get(job.id)) for job in jobs]


def _statement(query: str, params: dict[str, Any]) -> Callable[[sqlite3.Connection], None]:
    def op(conn: sqlite3.Connection) -> None:
        conn.execute(Q[query], params)

    return op


def _changes_one(query: str, params: dict[str, Any]) -> Callable[[sqlite3.Connection], bool]:
    """A guarded UPDATE of one job: True if the guard let it through."""

    def op(conn: sqlite3.Connection) -> bool:
        return conn.execute(Q[query], params).rowcount == 1

    return op


Outcome = tuple[bool, Any]


_Op = Callable[[sqlite3.Connection], Any]
_Write = tuple[_Op, asyncio.Future[Any]]
#: how often a transaction takes, before its COMMIT, the writes that arrived
#: while its statements ran: bounded, so a steady stream of writes cannot hold
#: back the commit its first callers wait for
LATE_TAKES = 2


class _Intake:
    """The writes one transaction carries, taken from the queue on the
    database's thread: those waiting when it begins, and those that arrive
    while its statements run (:data:`LATE_TAKES`).

    A write that arrives while a transaction runs would otherwise wait for
    that whole transaction and then a whole one of its own; at sixteen
    downloads of small files, a download waits for three in a row.
    """

    def __init__(self, queue: collections.deque[_Write]) -> None:
        self._queue = queue
        self._lock = threading.Lock()
        self._closed = False
        #: what was taken, in the order the transaction runs it
        self.taken: list[_Write] = []

    def take(self) -> list[_Op]:
        """On the database's thread: the writes waiting now, those cancelled left out."""
        with self._lock:
            if self._closed:
                return []
            ops: list[_Op] = []
            while self._queue:
                op, future = self._queue.popleft()
                if future.done():
                    continue  # its caller was cancelled before a batch took it
                self.taken.append((op, future))
                ops.append(op)
            return ops

    def close(self) -> list[_Write]:
        """On the event loop, when the batch failed or was cancelled: nothing more
        is taken; what was taken already."""
        with self._lock:
            self._closed = True
            return list(self.taken)


def _run_batch(take: Callable[[], list[_Op]], conn: sqlite3.Connection) -> list[Outcome]:
    """One transaction for a batch of writes; a write that raises is rolled back alone.

    Runs on the database thread; ``take`` gives the writes to run (:class:`_Intake`).
    Returns (True, result) or (False, exception) per write taken, in order;
    raises (and stores nothing) if the transaction itself fails.

    Nearly every batch has no failing write: it runs straight through, its
    writes' own statements and nothing more (each statement hands the GIL
    over and back, which is what a commit mostly waits for). Only if one
    raises is the whole transaction rolled back and the batch run again with
    each write in its own SAVEPOINT (:func:`_run_isolated`).
    """
    ops: list[_Op] = []
    outcomes = _run_straight(take, ops, conn)
    return _run_isolated(ops, conn) if outcomes is None else outcomes


def _run_straight(
    take: Callable[[], list[_Op]], ops: list[_Op], conn: sqlite3.Connection
) -> list[Outcome] | None:
    """The batch in one transaction without savepoints, the writes it takes added
    to ``ops``; None (nothing stored) if a write of a batch of several raised."""
    more = take()
    if not more:
        return []  # every caller was cancelled: no transaction at all
    conn.execute("BEGIN IMMEDIATE")
    outcomes: list[Outcome] = []
    try:
        late = 0
        while more:
            ops.extend(more)
            for op in more:
                try:
                    outcomes.append((True, op(conn)))
                except Exception as exc:
                    _roll_back(conn)
                    if len(ops) == 1:
                        return [(False, exc)]  # all it did is undone: its caller's error
                    return None
            late += 1
            # never taken unless run: past the last round, nothing more is taken
            more = take() if late <= LATE_TAKES else []
        # the COMMIT is where a full disk shows (the WAL grows here)
        conn.execute("COMMIT")
    except BaseException:
        _roll_back(conn)
        raise
    return outcomes


def _run_isolated(ops: Sequence[_Op], conn: sqlite3.Connection) -> list[Outcome]:
    """The batch in one transaction, each write isolated by a SAVEPOINT."""
    conn.execute("BEGIN IMMEDIATE")
    outcomes: list[Outcome] = []
    try:
        for op in ops:
            conn.execute("SAVEPOINT one_write")
            try:
                result = op(conn)
            except Exception as exc:
                if not conn.in_transaction:
                    # SQLite rolled the whole transaction back (a full disk, an
                    # I/O error): the batch cannot commit; every caller learns why
                    raise
                conn.execute("ROLLBACK TO one_write")
                conn.execute("RELEASE one_write")
                outcomes.append((False, exc))
            else:
                conn.execute("RELEASE one_write")
                outcomes.append((True, result))
        # the COMMIT is where a full disk shows (the WAL grows here)
        conn.execute("COMMIT")
    except BaseException:
        _roll_back(conn)
        raise
    return outcomes


def _roll_back(conn: sqlite3.Connection) -> None:
    """Leave no transaction open, so the next batch can begin.

    SQLite may have rolled back already (a failed COMMIT on a full disk
    does), and a failing ROLLBACK must not hide the error that brought us here.
    """
    if conn.in_transaction:
        with contextlib.suppress(sqlite3.Error):
            conn.execute("ROLLBACK")
