"""The job store on real SQLite files: schema, refusal of bad files, transitions."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import os
import sqlite3
import stat
import threading
from pathlib import Path

import pytest

from drayman.errors import (
    DatabaseLocked,
    DatabaseTooNew,
    IllegalTransition,
    NotADatabase,
    UnknownJob,
)
from drayman.jobs import TRANSITIONS, JobState, NewJob, check_transition, sources_of
from drayman.storage import LATEST_VERSION, JobStore
from drayman.storage.migrations import MIGRATIONS, split_statements

SCHEMA_SNAPSHOT = Path(__file__).with_name("schema.sql")


def dump_schema(path: Path) -> str:
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute(
            "SELECT type, name, sql FROM sqlite_master WHERE sql IS NOT NULL ORDER BY type, name"
        ).fetchall()
        version = conn.execute("PRAGMA user_version").fetchone()[0]
    finally:
        conn.close()
    body = "\n".join(f"-- {kind} {name}\n{sql};" for kind, name, sql in rows)
    return f"-- user_version {version}\n{body}\n"


def file_state(path: Path) -> tuple[str, list[str]]:
    """The file's hash and the names beside it: to prove nothing was touched."""
    return hashlib.sha256(path.read_bytes()).hexdigest(), sorted(os.listdir(path.parent))


def new_job(folder: Path, url: str = "http://127.0.0.1:1/a.bin") -> NewJob:
    return NewJob(url=url, dest_dir=str(folder))


async def test_migrations_reproduce_the_schema_snapshot(db_path: Path) -> None:
    store = await JobStore.open(db_path)
    await store.close()
    schema = dump_schema(db_path)
    if os.environ.get("DRAYMAN_UPDATE_SCHEMA"):
        SCHEMA_SNAPSHOT.write_text(schema)
    assert schema == SCHEMA_SNAPSHOT.read_text(), (
        "migrations no longer produce tests/schema.sql; if the change is intended, "
        "rerun with DRAYMAN_UPDATE_SCHEMA=1 and commit the new snapshot"
    )
    assert f"-- user_version {LATEST_VERSION}" in schema


async def test_database_is_wal_private_and_waits_for_locks(db_path: Path) -> None:
    store = await JobStore.open(db_path)
    await store.close()
    conn = sqlite3.connect(db_path)
    try:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        conn.close()
    if os.name == "posix":
        assert stat.S_IMODE(db_path.stat().st_mode) == 0o600


async def test_reopening_is_idempotent(db_path: Path, downloads: Path) -> None:
    async with await JobStore.open(db_path) as store:
        [job_id] = await store.add([new_job(downloads)])
    async with await JobStore.open(db_path) as store:
        job = await store.get(job_id)
    assert job.state == JobState.QUEUED
    assert job.url == job.original_url


async def test_newer_database_is_refused_untouched(db_path: Path) -> None:
    db_path.parent.mkdir(parents=True)
    conn = sqlite3.connect(db_path)
    conn.execute("CREATE TABLE future (x)")
    conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 5}")
    conn.commit()
    conn.close()
    before = file_state(db_path)
    with pytest.raises(DatabaseTooNew, match="newer drayman") as info:
        await JobStore.open(db_path)
    assert "left untouched" in str(info.value)
    assert file_state(db_path) == before


@pytest.mark.parametrize(
    "content",
    [
        b"this is a text file, not a database\n" * 10,
        b"SQLite format 3\x00" + b"\xff" * 4000,
        os.urandom(8192),
    ],
    ids=["text", "sqlite-header-garbage", "random"],
)
async def test_corrupt_or_foreign_file_is_refused_untouched(db_path: Path, content: bytes) -> None:
    db_path.parent.mkdir(parents=True)
    db_path.write_bytes(content)
    before = file_state(db_path)
    with pytest.raises(NotADatabase, match="left untouched"):
        await JobStore.open(db_path)
    assert file_state(db_path) == before


def test_transition_table_is_enforced() -> None:
    for current, target in itertools.product(JobState, JobState):
        if target in TRANSITIONS[current]:
            check_transition(1, current, target)
        else:
            with pytest.raises(IllegalTransition):
                check_transition(1, current, target)
    assert sources_of(JobState.PAUSED) == {JobState.QUEUED, JobState.RUNNING}
    assert TRANSITIONS[JobState.DONE] == frozenset()


async def test_illegal_transition_raises_and_changes_nothing(
    db_path: Path, downloads: Path
) -> None:
    async with await JobStore.open(db_path) as store:
        a, b = await store.add([new_job(downloads), new_job(downloads, "http://127.0.0.1:1/b")])
        assert await store.claim(b)
        assert await store.finish(b, 10)
        with pytest.raises(IllegalTransition, match=f"job {b} is done"):
            await store.change_state([a, b], JobState.PAUSED)
        assert (await store.get(a)).state == JobState.QUEUED
        with pytest.raises(UnknownJob, match="no job with id 999"):
            await store.change_state([a, 999], JobState.PAUSED)
        assert (await store.get(a)).state == JobState.QUEUED
        assert await store.change_state([a], JobState.PAUSED) == [a]
        # idempotent: pausing a paused job changes nothing and is no error
        assert await store.change_state([a], JobState.PAUSED) == []


async def test_guarded_updates_respect_a_concurrent_pause(db_path: Path, downloads: Path) -> None:
    async with await JobStore.open(db_path) as engine_store, await JobStore.open(db_path) as cli:
        [job_id] = await engine_store.add([new_job(downloads)])
        assert await engine_store.claim(job_id)
        assert not await engine_store.claim(job_id)  # already running
        before = await engine_store.data_version()
        await cli.change_state([job_id], JobState.PAUSED)
        assert await engine_store.data_version() != before  # the engine can notice
        # the engine's transient-failure bookkeeping must not undo the pause
        assert not await engine_store.requeue(job_id, error="x", attempts=1, next_attempt_at=0)
        assert (await cli.get(job_id)).state == JobState.PAUSED


async def test_recover_running_and_checkpoint(db_path: Path, downloads: Path) -> None:
    async with await JobStore.open(db_path) as store:
        [job_id] = await store.add([new_job(downloads)])
        await store.claim(job_id)
        await store.checkpoint(job_id, 12345)
    # the process died with the job running
    async with await JobStore.open(db_path) as store:
        assert await store.recover_running() == 1
        job = await store.get(job_id)
    assert (job.state, job.bytes_done) == (JobState.QUEUED, 12345)


async def test_names_are_unique_per_folder_ignoring_case(db_path: Path, downloads: Path) -> None:
    async with await JobStore.open(db_path) as store:
        a, b = await store.add([new_job(downloads), new_job(downloads)])
        assert await store.set_name(a, "Movie.mp4")
        assert await store.name_taken(b, str(downloads), "movie.MP4")
        assert not await store.set_name(b, "movie.mp4")
        assert await store.set_name(b, "movie (1).mp4")
        # a name, once fixed, is kept
        assert not await store.set_name(a, "other.mp4")
        assert (await store.get(a)).file_name == "Movie.mp4"


def test_every_migration_splits_into_complete_statements() -> None:
    for migration in MIGRATIONS:
        statements = split_statements(migration.sql)
        assert statements, migration.name
        assert all(sqlite3.complete_statement(s) for s in statements)


async def test_segments_are_dropped_by_new_validators_by_done_and_by_removal(
    db_path: Path, downloads: Path
) -> None:
    from drayman.storage import SegmentRecord

    records = [SegmentRecord(0, 10, 4), SegmentRecord(10, 20, 15)]
    async with await JobStore.open(db_path) as store:
        ids = await store.add([new_job(downloads), new_job(downloads), new_job(downloads)])
        for job_id in ids:
            await store.save_segments(job_id, records, 9)
            assert await store.segments(job_id) == records
            assert (await store.get(job_id)).bytes_done == 9
        await store.record_remote(
            ids[0], etag='"b"', last_modified=None, bytes_total=20, effective_url=None, bytes_done=0
        )
        await store.claim(ids[1])
        await store.finish(ids[1], 20)
        await store.remove([ids[2]])
        assert [await store.segments(job_id) for job_id in ids] == [[], [], []]
        # an offset alone (a checkpoint) keeps them
        [other] = await store.add([new_job(downloads)])
        await store.save_segments(other, records, 9)
        await store.checkpoint(other, 9)
        assert await store.segments(other) == records


async def test_record_remote_returns_the_row_as_stored(db_path: Path, downloads: Path) -> None:
    """The transfer reads nothing back after it: the row comes from the same write."""
    async with await JobStore.open(db_path) as store:
        [job_id] = await store.add([new_job(downloads)])
        await store.set_part_identity(job_id, "1:2:3")
        job = await store.record_remote(
            job_id,
            etag='"e"',
            last_modified="then",
            bytes_total=50,
            effective_url=None,
            bytes_done=7,
        )
        assert job == await store.get(job_id)
        assert (job.etag, job.bytes_total, job.bytes_done, job.part_identity) == (
            '"e"',
            50,
            7,
            "1:2:3",
        )
        with pytest.raises(UnknownJob):
            await store.record_remote(
                999,
                etag=None,
                last_modified=None,
                bytes_total=None,
                effective_url=None,
                bytes_done=0,
            )


# -- group commit --------------------------------------------------------------


def rows_on_disk(db_path: Path) -> dict[int, tuple[str, int]]:
    """(state, bytes_done) per job, read by a separate connection: what was committed."""
    conn = sqlite3.connect(db_path)
    try:
        return {
            row[0]: (row[1], row[2])
            for row in conn.execute("SELECT id, state, bytes_done FROM jobs").fetchall()
        }
    finally:
        conn.close()


async def test_a_claim_returns_the_rows_as_stored_and_their_cookies(
    db_path: Path, downloads: Path
) -> None:
    async with await JobStore.open(db_path) as store:
        with_cookies = NewJob(
            url="http://127.0.0.1:1/c.bin", dest_dir=str(downloads), cookies='[{"name":"a"}]'
        )
        a, b, c = await store.add([new_job(downloads), new_job(downloads), with_cookies])
        await store.change_state([b], JobState.PAUSED)
        await store.checkpoint(a, 0)
        claimed = {one.job.id: one for one in await store.claim_jobs([a, b, c])}
        # the paused one is not claimed; the others come back running, as stored
        assert set(claimed) == {a, c}
        assert claimed[a].job == await store.get(a)
        assert claimed[a].job.state is JobState.RUNNING
        assert (claimed[a].cookies, claimed[c].cookies) == (None, '[{"name":"a"}]')
        assert await store.claim_jobs([a, b, c]) == []  # running already: nothing twice


async def test_writes_given_together_share_a_transaction_and_all_land(
    db_path: Path, downloads: Path
) -> None:
    async with await JobStore.open(db_path) as store:
        ids = await store.add([new_job(downloads, f"http://127.0.0.1:1/{n}") for n in range(40)])
        assert await store.claim_many(ids) == set(ids)
        before = store.commits
        # forty transfers checkpointing at once: each call returns when *its*
        # write is committed, and the forty need far fewer transactions
        await asyncio.gather(*(store.checkpoint(job_id, 1000 + job_id) for job_id in ids))
        assert store.commits - before < len(ids)
        # every write is durable: another connection sees all of them
        on_disk = rows_on_disk(db_path)
    assert all(on_disk[job_id] == ("running", 1000 + job_id) for job_id in ids)


async def test_a_write_that_arrives_while_a_transaction_runs_joins_it(
    db_path: Path, downloads: Path
) -> None:
    """One fsync for both: the second write waits for the first's COMMIT only."""
    async with await JobStore.open(db_path) as store:
        a, b = await store.add([new_job(downloads), new_job(downloads, "http://127.0.0.1:1/b")])
        loop = asyncio.get_running_loop()
        running, queued = threading.Event(), threading.Event()

        def first(conn: sqlite3.Connection) -> None:
            conn.execute("UPDATE jobs SET bytes_done = 1 WHERE id = ?", (a,))
            running.set()
            # the second write is in the queue before this transaction commits
            assert queued.wait(10)

        before = store.commits
        first_write = asyncio.ensure_future(store._write(first))
        assert await loop.run_in_executor(None, running.wait, 10)
        second_write = asyncio.ensure_future(store.checkpoint(b, 2))
        await asyncio.sleep(0)  # the checkpoint's write is queued now
        queued.set()
        await asyncio.gather(first_write, second_write)
        assert store.commits - before == 1
    assert rows_on_disk(db_path) == {a: ("queued", 1), b: ("queued", 2)}


async def test_a_steady_stream_of_writes_cannot_hold_back_a_commit(
    db_path: Path, downloads: Path
) -> None:
    """Each write brings another before its transaction commits; the first still
    returns, after a bounded number of joins."""
    async with await JobStore.open(db_path) as store:
        [a] = await store.add([new_job(downloads)])
        loop = asyncio.get_running_loop()
        writes: list[asyncio.Future[None]] = []

        def queue_one() -> None:
            writes.append(asyncio.ensure_future(store._write(one)))

        def one(conn: sqlite3.Connection) -> None:
            conn.execute("UPDATE jobs SET bytes_done = bytes_done + 1 WHERE id = ?", (a,))
            if len(writes) < 50:
                # the next write is queued (on the event loop) before this one returns
                done = threading.Event()
                loop.call_soon_threadsafe(lambda: (queue_one(), done.set()))
                assert done.wait(10)

        queue_one()
        await writes[0]
        # committed before the stream ran dry: later writes were left for later batches
        assert len(writes) < 50
        assert store.commits >= 1
        while not all(w.done() for w in writes):
            await asyncio.gather(*writes)
        assert len(writes) == 50
    assert rows_on_disk(db_path) == {a: ("queued", 50)}


async def test_a_failing_write_is_rolled_back_alone(db_path: Path, downloads: Path) -> None:
    async with await JobStore.open(db_path) as store:
        a, b, c, d = await store.add(
            [new_job(downloads, f"http://127.0.0.1:1/{n}") for n in range(4)]
        )
        assert await store.claim_many([b])
        assert await store.set_name(d, "taken.bin")
        before = store.commits
        results = await asyncio.gather(
            store.checkpoint(b, 4096),
            # deletes a, then finds 999 missing: all or none, so a must stay
            store.remove([a, 999]),
            store.change_state([c], JobState.PAUSED),
            # the unique index refuses the name: False, not an error
            store.set_name(c, "TAKEN.bin"),
            # a transition the table forbids raises in its own write only
            store.change_state([d], JobState.FAILED),
            return_exceptions=True,
        )
        assert store.commits - before < len(results)
    assert results[0] is None
    assert isinstance(results[1], UnknownJob)
    assert results[2] == [c]
    assert results[3] is False
    assert isinstance(results[4], IllegalTransition)
    on_disk = rows_on_disk(db_path)
    assert on_disk[a] == ("queued", 0)
    assert on_disk[b] == ("running", 4096)
    assert on_disk[c] == ("paused", 0)
    assert on_disk[d] == ("queued", 0)


async def test_a_write_alone_that_fails_half_way_leaves_nothing(
    db_path: Path, downloads: Path
) -> None:
    async with await JobStore.open(db_path) as store:
        [a] = await store.add([new_job(downloads)])
        # deletes a, then finds 999 missing: in a batch of its own, all or none too
        with pytest.raises(UnknownJob):
            await store.remove([a, 999])
        assert (await store.get(a)).state == JobState.QUEUED
        assert await store.set_name(a, "a.bin")  # the next write works
    assert rows_on_disk(db_path)[a] == ("queued", 0)


async def test_a_name_is_stored_with_the_answer_or_not_at_all(
    db_path: Path, downloads: Path
) -> None:
    async with await JobStore.open(db_path) as store:
        a, b = await store.add([new_job(downloads), new_job(downloads)])
        await store.checkpoint(a, 5)
        answer = {"etag": '"e"', "last_modified": None, "bytes_total": 9, "effective_url": "u"}
        job = await store.name_and_remote(a, "x.bin", dest_dir=None, **answer)
        assert job == await store.get(a)
        assert job is not None
        assert (job.file_name, job.etag, job.bytes_total, job.bytes_done) == ("x.bin", '"e"', 9, 0)
        # taken by another job (names differing in case are one file): nothing written
        assert await store.name_and_remote(b, "X.BIN", dest_dir=None, **answer) is None
        other = await store.get(b)
        assert (other.file_name, other.etag, other.bytes_total) == (None, None, None)


async def test_a_batch_that_cannot_commit_fails_every_caller_and_the_next_one_works(
    db_path: Path, downloads: Path
) -> None:
    async with await JobStore.open(db_path, busy_timeout=0.2) as store:
        a, b = await store.add([new_job(downloads), new_job(downloads, "http://127.0.0.1:1/b")])
        # another program holds the write lock longer than our busy timeout
        other = sqlite3.connect(db_path, isolation_level=None)
        other.execute("BEGIN IMMEDIATE")
        try:
            results = await asyncio.gather(
                store.checkpoint(a, 1), store.checkpoint(b, 2), return_exceptions=True
            )
        finally:
            other.execute("ROLLBACK")
            other.close()
        assert all(isinstance(r, DatabaseLocked) for r in results), results
        assert rows_on_disk(db_path) == {a: ("queued", 0), b: ("queued", 0)}
        # the queue of writes is not stuck behind the failure
        await store.checkpoint(a, 7)
        assert (await store.get(a)).bytes_done == 7


async def test_close_commits_writes_still_queued(db_path: Path, downloads: Path) -> None:
    store = await JobStore.open(db_path)
    [job_id] = await store.add([new_job(downloads)])
    # gather starts the checkpoint first: its write is queued when close() runs
    await asyncio.gather(store.checkpoint(job_id, 99), store.close())
    assert rows_on_disk(db_path)[job_id] == ("queued", 99)


async def test_scheduler_queries_use_their_indexes(db_path: Path, downloads: Path) -> None:
    """After every transfer the engine asks these; none may read the whole table."""
    from drayman.storage.repository import Q

    async with await JobStore.open(db_path) as store:
        await store.add([new_job(downloads)])
    conn = sqlite3.connect(db_path)
    try:
        for name, params in [
            ("next_attempt_at", {}),
            ("has_work", {}),
            *(
                (
                    "runnable_jobs",
                    {"now": 0, "limit": 4, "busy_hosts": "[]", "held": held, "own_proxy_only": own},
                )
                for held in (0, 1)
                for own in (0, 1)
            ),
            ("claim_jobs", {"ids": "[1]", "now": 0}),
            # the whole waiting queue at once (a move to the top): once per job, not once per pair
            ("put_in_order", {"ids": "[1]", "now": 0}),
        ]:
            plan = " / ".join(
                row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + Q[name], params)
            )
            assert "SCAN jobs" not in plan, f"{name}: {plan}"
            assert "TEMP B-TREE" not in plan, f"{name}: {plan}"
            assert "CORRELATED" not in plan, f"{name}: {plan}"
    finally:
        conn.close()


async def test_a_write_waits_for_another_process_even_while_reads_run(
    db_path: Path, downloads: Path
) -> None:
    """Reads on the shared connection must not leave a statement open across
    another coroutine's BEGIN IMMEDIATE: SQLite then fails that write at once
    (SQLITE_BUSY, or SQLITE_BUSY_SNAPSHOT) instead of waiting for the lock.
    Found by bench/soak.py: a job failed with "stayed locked ... for more than
    10 s" a few milliseconds after a `drayman add` took the lock."""
    async with await JobStore.open(db_path) as store:
        [job_id] = await store.add([new_job(downloads)])
        other = sqlite3.connect(db_path, isolation_level=None)  # another program
        try:
            other.execute("BEGIN IMMEDIATE")
            reads = [asyncio.create_task(store.get(job_id)) for _ in range(20)]
            write = asyncio.create_task(store.checkpoint(job_id, 5))
            # reads are never blocked by a writer in WAL mode
            assert all(job.id == job_id for job in await asyncio.gather(*reads))
            assert not write.done(), write.exception()  # waiting for the lock, not failed
            other.execute("COMMIT")
            await write
        finally:
            other.close()
        assert (await store.get(job_id)).bytes_done == 5
