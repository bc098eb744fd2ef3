"""Database faults, injected for real: nothing already stored is ever lost.

Another process holding the write lock, a damaged file (header, a page, a
truncation), a newer schema, a kill in the middle of a migration, a full
disk under the database; and the database's files are private whatever the
umask. Real SQLite files, real subprocesses, a real (tmpfs) disk.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import aiosqlite
import pytest

from conftest import (
    KILLED,
    POSIX_SIGNALS,
    async_wait_until,
    run_cli,
    start_cli,
    stop_engine,
    wait_until,
)
from dbfaults import (
    LockHolder,
    fault_config,
    file_state,
    fill_disk,
    held_and_checkpointed,
    job_row,
    lock_held,
    logged,
    mode_of,
)
from drayman.jobs import JobState
from drayman.queue.engine import Engine
from drayman.storage import LATEST_VERSION
from drayman.storage.migrations import MIGRATIONS, migrate
from httpserver import LoopbackServer, make_body

KiB, MiB = 1024, 1024 * 1024
FAST = {"DRAYMAN_BUSY_TIMEOUT": "0.3"}


def ls_json(db_path: Path) -> list[dict[str, Any]]:
    result = run_cli(db_path, "ls", "--json")
    assert result.returncode == 0, result.stderr
    return list(json.loads(result.stdout))


def one_line(stderr: str) -> str:
    lines = stderr.strip().splitlines()
    assert len(lines) == 1, stderr
    assert "Traceback" not in stderr
    return lines[0]


# -- 1. locked by another process for longer than the busy timeout ----------------


def test_commands_exit_3_while_another_process_holds_the_lock_and_change_nothing(
    db_path: Path, downloads: Path
) -> None:
    urls = ["http://127.0.0.1:9/a.bin", "http://127.0.0.1:9/b"]
    assert run_cli(db_path, "add", *urls, "-d", str(downloads)).returncode == 0
    assert run_cli(db_path, "pause", "2").returncode == 0
    before = ls_json(db_path)
    writes = [
        ["add", "http://127.0.0.1:9/c", "-d", str(downloads)],
        ["pause", "1"],
        ["resume", "--all"],
        ["rm", "1", "--delete-files"],
        ["limit", "1M"],
        ["rules", "add", "example.org", "-H", "X-Token: 1"],
        ["run", "--until-idle"],
    ]
    with LockHolder(db_path):
        for args in writes:
            result = run_cli(db_path, *args, env=FAST)
            assert result.returncode == 3, (args, result.stderr)
            line = one_line(result.stderr)
            assert "stayed locked by another program for more than 0.3 s" in line, line
        # a writer does not block readers (WAL): listing still works meanwhile
        assert ls_json(db_path) == before
    assert ls_json(db_path) == before
    assert run_cli(db_path, "rules", "ls", "--json").stdout.strip() == "[]"
    assert run_cli(db_path, "pause", "1").returncode == 0  # and the lock is gone


async def test_engine_downloads_on_while_the_database_is_locked_and_catches_up(
    db_path: Path,
    downloads: Path,
    http_server: LoopbackServer,
    quick_lock: pytest.LogCaptureFixture,
) -> None:
    """Checkpoints that hit the lock fail quietly; the bytes stay; nothing is fetched twice."""
    body = make_body(6 * MiB)
    http_server.add("/big.bin", body, hold_at=[1 * MiB, 3 * MiB, 4 * MiB])
    part = downloads / "big.bin.part"
    async with Engine(db_path, fault_config()) as engine:
        [job_id] = await engine.queue.add([http_server.url("/big.bin")], dest_dir=downloads)
        await async_wait_until(
            held_and_checkpointed(http_server, "/big.bin", 1 * MiB, db_path, job_id),
            timeout=30,
            what="a first checkpoint",
        )
        before = job_row(db_path, job_id)["bytes_done"]
        async with lock_held(db_path):
            http_server.release_hold("/big.bin")
            await async_wait_until(
                lambda: (
                    http_server.held_at("/big.bin") == 3 * MiB
                    and logged(quick_lock, "cannot record progress")
                ),
                timeout=30,
                what="a checkpoint to meet the lock",
            )
            locked_row = job_row(db_path, job_id)
            assert locked_row["bytes_done"] == before  # nothing recorded under the lock
            assert locked_row["state"] == "running"
            assert engine.active_ids == [job_id]  # the transfer goes on
            assert part.stat().st_size >= 2 * MiB  # the bytes are kept on disk
        http_server.release_hold("/big.bin")
        await async_wait_until(
            lambda: (
                http_server.held_at("/big.bin") == 4 * MiB
                and job_row(db_path, job_id)["bytes_done"] >= 3 * MiB
            ),
            timeout=30,
            what="the checkpoints to catch up",
        )
        http_server.release_hold("/big.bin")
        await asyncio.wait_for(engine.wait_idle(), 30)
        done = await engine.queue.get(job_id)
    assert (done.state, done.attempts, done.error) == (JobState.DONE, 0, None)
    assert (downloads / "big.bin").read_bytes() == body
    assert len(http_server.requests_for("/big.bin")) == 1  # never restarted
    assert logged(quick_lock, "progress recorded again")


async def test_a_lock_over_the_finish_requeues_the_job_which_resumes_from_its_safe_offset(
    db_path: Path,
    downloads: Path,
    http_server: LoopbackServer,
    quick_lock: pytest.LogCaptureFixture,
) -> None:
    body = make_body(3 * MiB)
    resource = http_server.add("/end.bin", body, hold_at=[1 * MiB])
    async with Engine(db_path, fault_config()) as engine:
        [job_id] = await engine.queue.add([http_server.url("/end.bin")], dest_dir=downloads)
        await async_wait_until(
            held_and_checkpointed(http_server, "/end.bin", 1 * MiB, db_path, job_id),
            timeout=30,
            what="a first checkpoint",
        )
        before = job_row(db_path, job_id)["bytes_done"]
        async with lock_held(db_path):
            http_server.release_hold("/end.bin")
            # every byte arrives; the last checkpoint and the "done" cannot be written
            await async_wait_until(
                lambda: logged(quick_lock, "cannot record its state yet"),
                timeout=30,
                what="the engine to wait for the database",
            )
            row = job_row(db_path, job_id)
            assert (row["state"], row["bytes_done"], row["attempts"]) == ("running", before, 0)
            assert not (downloads / "end.bin").exists()  # not renamed without a record
        await asyncio.wait_for(engine.wait_idle(), 30)
        done = await engine.queue.get(job_id)
    assert done.state == JobState.DONE and done.attempts == 0
    assert (downloads / "end.bin").read_bytes() == body
    first, second = http_server.requests_for("/end.bin")
    assert "Range" not in first.headers
    assert second.headers["Range"] == f"bytes={before}-"
    assert second.headers["If-Range"] == resource.etag


@pytest.mark.skipif(
    not POSIX_SIGNALS, reason="Windows cannot send SIGINT to another process (Ctrl-C is by hand)"
)
def test_ctrl_c_while_the_database_is_locked_loses_no_job(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    """The engine cannot record its last progress: it still exits, and the next run resumes."""
    body = make_body(8 * MiB)
    resource = http_server.add("/big.bin", body, rate=2 * MiB)
    url = http_server.url("/big.bin")
    assert run_cli(db_path, "add", url, "-d", str(downloads)).returncode == 0
    engine = start_cli(db_path, "run", "--until-idle", "--checkpoint-every", "0.1", env=FAST)
    try:
        wait_until(lambda: ls_json(db_path)[0]["bytes_done"] > 0, timeout=30, what="progress")
        with LockHolder(db_path):
            engine.send_signal(signal.SIGINT)
            _, stderr = engine.communicate(timeout=60)
            assert engine.returncode == 130, stderr
            assert "Traceback" not in stderr and "unhandled" not in stderr, stderr
            [left] = ls_json(db_path)
    finally:
        if engine.poll() is None:
            engine.kill()
    assert left["state"] in ("running", "queued")  # "running": the next start requeues it
    resource.rate = None
    again = run_cli(db_path, "run", "--until-idle")
    assert again.returncode == 0, again.stderr
    assert (downloads / "big.bin").read_bytes() == body
    second = http_server.requests_for("/big.bin")[1]
    assert second.headers["Range"] == f"bytes={left['bytes_done']}-"


# -- 2. a damaged database file ------------------------------------------------------


def _healthy_database(db_path: Path, downloads: Path, jobs: int = 300) -> None:
    urls = "".join(f"http://127.0.0.1:9/file-{n:04d}-of-a-batch.bin\n" for n in range(jobs))
    added = run_cli(db_path, "add", "-i", "-", "-d", str(downloads), input=urls)
    assert added.returncode == 0, added.stderr
    assert sorted(os.listdir(db_path.parent)) == [db_path.name]  # closed cleanly: no journal


def _damage(db_path: Path, how: str) -> None:
    size = db_path.stat().st_size
    with open(db_path, "r+b") as handle:
        if how == "header":
            handle.seek(16)  # the magic string stays; page size, counters... do not
            handle.write(bytes((200 + n) % 256 for n in range(84)))
        elif how == "middle-page":
            page = 4096
            handle.seek((size // page // 2) * page)
            handle.write(b"\xa5" * page)  # not a b-tree page of any kind
        elif how == "truncated":
            handle.truncate(size // 2)
        else:
            raise AssertionError(how)


@pytest.mark.parametrize("how", ["header", "middle-page", "truncated"])
def test_a_damaged_database_is_refused_untouched_and_check_explains(
    db_path: Path, downloads: Path, how: str
) -> None:
    _healthy_database(db_path, downloads)
    _damage(db_path, how)
    before = file_state(db_path)
    for args in (
        ["ls"],
        ["add", "http://127.0.0.1:9/new", "-d", str(downloads)],
        ["pause", "1"],
        ["run", "--until-idle"],
    ):
        result = run_cli(db_path, *args)
        assert result.returncode == 3, (args, result.stderr)
        line = one_line(result.stderr)
        assert "not a usable drayman database" in line and "left untouched" in line
        assert f"drayman --db {db_path} check" in line
    assert file_state(db_path) == before

    check = run_cli(db_path, "check")
    assert check.returncode == 3, check.stderr
    assert check.stdout.startswith(f"{db_path} is damaged:")
    assert "How to recover" in check.stdout
    assert f"mv {db_path} {db_path}.damaged" in check.stdout
    assert "Add the jobs again" in check.stdout and ".part" in check.stdout
    if how == "middle-page":
        # everything before and after the bad page can still be read
        readable = [line for line in check.stdout.splitlines() if " add http://" in line]
        assert 0 < len(readable) < 300
        assert "file-0000-of-a-batch.bin" in check.stdout
        assert "file-0299-of-a-batch.bin" in check.stdout
    assert file_state(db_path) == before  # check only reads


def test_check_says_ok_for_a_sound_database_and_changes_nothing(
    db_path: Path, downloads: Path
) -> None:
    _healthy_database(db_path, downloads, jobs=5)
    before = file_state(db_path)
    check = run_cli(db_path, "check")
    assert (check.returncode, check.stdout) == (0, "ok\n"), check.stderr
    assert file_state(db_path) == before
    # while an engine runs (journal files present) it reads the journal too
    engine = start_cli(db_path, "run")
    try:
        wait_until(lambda: Path(f"{db_path}-wal").exists(), what="the engine's journal")
        assert run_cli(db_path, "pause", "--all").returncode == 0
        check = run_cli(db_path, "check")
        assert (check.returncode, check.stdout) == (0, "ok\n"), check.stderr
    finally:
        stop_engine(engine)


def test_check_finds_a_schema_changed_by_hand(db_path: Path, downloads: Path) -> None:
    _healthy_database(db_path, downloads, jobs=5)
    conn = sqlite3.connect(db_path)
    conn.execute("DROP INDEX jobs_by_host")
    conn.execute("CREATE TABLE notes (x)")
    conn.commit()
    conn.close()
    check = run_cli(db_path, "check")
    assert check.returncode == 3
    assert "index jobs_by_host is missing" in check.stdout
    assert f"table notes is not part of schema version {LATEST_VERSION}" in check.stdout


def test_check_of_a_missing_file_or_another_programs_database(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.db"
    result = run_cli(missing, "check")
    assert result.returncode == 3
    assert "there is no such file" in one_line(result.stderr)
    assert not missing.exists()  # check never creates one

    foreign = tmp_path / "places.sqlite"
    conn = sqlite3.connect(foreign)
    conn.execute("CREATE TABLE bookmarks (url TEXT)")
    conn.execute("INSERT INTO bookmarks VALUES ('https://example.org/')")
    conn.commit()
    conn.close()
    before = file_state(foreign)
    check = run_cli(foreign, "check")
    assert check.returncode == 3 and "another program's SQLite database" in check.stdout
    ls = run_cli(foreign, "ls")
    assert ls.returncode == 3 and "another program's SQLite database" in one_line(ls.stderr)
    assert file_state(foreign) == before  # no drayman table was added to it


def test_a_fresh_database_is_not_started_beside_the_journal_of_a_moved_one(
    db_path: Path, downloads: Path, tmp_path: Path
) -> None:
    """Moving a damaged database away without its -wal must not cost its last commits."""
    _healthy_database(db_path, downloads, jobs=2)
    # a process commits and dies: the commit is only in the -wal
    script = (
        "import os, signal, sqlite3, sys\n"
        "conn = sqlite3.connect(sys.argv[1], isolation_level=None)\n"
        'conn.execute("UPDATE jobs SET bytes_done = 4242 WHERE id = 1")\n'
        "os.kill(os.getpid(), signal.SIGKILL)\n"
    )
    subprocess.run([sys.executable, "-c", script, str(db_path)], check=False)
    wal = Path(f"{db_path}-wal")
    assert wal.stat().st_size > 0
    moved = tmp_path / "kept.db"
    os.rename(db_path, moved)
    wal_before = wal.read_bytes()
    result = run_cli(db_path, "ls")
    assert result.returncode == 3
    assert "holds the last changes of an earlier database" in one_line(result.stderr)
    assert wal.read_bytes() == wal_before and not db_path.exists()
    # with its journal beside it again, the moved database has its last commit
    os.rename(wal, f"{moved}-wal")
    with sqlite3.connect(moved) as conn:
        assert conn.execute("SELECT bytes_done FROM jobs WHERE id = 1").fetchone() == (4242,)
    assert run_cli(db_path, "ls", "--json").stdout.strip() == "[]"  # now a fresh one starts


# -- 3. a newer schema -------------------------------------------------------------


def test_a_newer_schema_is_refused_by_every_command_byte_identical(
    db_path: Path, downloads: Path
) -> None:
    _healthy_database(db_path, downloads, jobs=3)
    conn = sqlite3.connect(db_path)
    conn.execute("CREATE TABLE from_the_future (x)")
    conn.execute(f"PRAGMA user_version = {LATEST_VERSION + 1}")
    conn.commit()
    conn.close()
    before = file_state(db_path)
    for args in (
        ["ls", "--json"],
        ["add", "http://127.0.0.1:9/x", "-d", str(downloads)],
        ["run", "--until-idle"],
    ):
        result = run_cli(db_path, *args)
        assert result.returncode == 3, (args, result.stderr)
        line = one_line(result.stderr)
        assert f"schema version {LATEST_VERSION + 1}" in line and "newer drayman" in line
        assert "left untouched" in line
    check = run_cli(db_path, "check")
    assert check.returncode == 3
    assert "newer drayman" in check.stdout and "not damaged" in check.stdout
    assert file_state(db_path) == before


# -- 4. a kill in the middle of a migration ----------------------------------------


async def _database_at(db_path: Path, version: int, downloads: Path) -> None:
    """A database as an older drayman left it, with a job in each interesting state."""
    db_path.parent.mkdir(parents=True, exist_ok=True)
    async with aiosqlite.connect(db_path, isolation_level=None) as conn:
        await conn.execute("PRAGMA journal_mode = WAL")
        await migrate(conn, target=version)
        if version >= 1:
            # the columns of 0001_init.sql: every later version has them
            await conn.executemany(
                "INSERT INTO jobs (id, url, original_url, host, dest_dir, state, bytes_done, "
                "created_at, updated_at) VALUES (?, ?, ?, '127.0.0.1', ?, ?, ?, 0, 0)",
                [
                    (n, f"http://127.0.0.1:9/{n}", f"http://127.0.0.1:9/{n}", str(downloads), s, b)
                    for n, s, b in ((1, "queued", 0), (2, "running", 12345), (3, "done", 77))
                ],
            )


def _version_and_jobs(db_path: Path) -> tuple[int, list[tuple[Any, ...]]]:
    conn = sqlite3.connect(db_path)
    try:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        try:
            query = "SELECT id, url, state, bytes_done FROM jobs ORDER BY id"
            rows = conn.execute(query).fetchall()
        except sqlite3.OperationalError:  # version 0: no table yet
            rows = []
    finally:
        conn.close()
    return version, rows


@pytest.mark.parametrize("version", [m.version for m in MIGRATIONS])
def test_a_kill_inside_a_migration_leaves_the_previous_version_and_loses_no_job(
    db_path: Path, downloads: Path, version: int
) -> None:
    asyncio.run(_database_at(db_path, version - 1, downloads))
    before = _version_and_jobs(db_path)
    assert before[0] == version - 1
    crashed = run_cli(db_path, "ls", "--json", env={"DRAYMAN_CRASH_AT": f"migration.{version}"})
    assert crashed.returncode == KILLED, crashed.stderr
    assert _version_and_jobs(db_path) == before  # the previous version, every job
    after = run_cli(db_path, "ls", "--json")
    assert after.returncode == 0, after.stderr
    listed = [(j["id"], j["url"], j["state"], j["bytes_done"]) for j in json.loads(after.stdout)]
    assert listed == before[1]
    assert _version_and_jobs(db_path) == (LATEST_VERSION, before[1])
    assert run_cli(db_path, "check").stdout == "ok\n"


# -- 5. permissions ------------------------------------------------------------------


POSIX_MODES = pytest.mark.skipif(
    sys.platform == "win32", reason="POSIX permission bits and umask: Windows has ACLs instead"
)


@POSIX_MODES
def test_database_journals_lock_and_folders_are_private_whatever_the_umask(
    tmp_path: Path, downloads: Path
) -> None:
    db = tmp_path / "made" / "by-drayman" / "jobs.db"
    added = run_cli(db, "add", "http://127.0.0.1:9/x", "-d", str(downloads), umask=0)
    assert added.returncode == 0, added.stderr
    assert run_cli(db, "pause", "--all", umask=0).returncode == 0
    assert mode_of(db) == 0o600
    assert mode_of(db.parent) == mode_of(db.parent.parent) == 0o700
    engine = start_cli(db, "run", umask=0)
    files = [Path(f"{db}{suffix}") for suffix in ("-wal", "-shm", ".engine.lock")]
    try:
        wait_until(lambda: all(f.exists() for f in files), what="the journal and lock files")
        assert {f.name: mode_of(f) for f in files} == {f.name: 0o600 for f in files}
    finally:
        stop_engine(engine)


@POSIX_MODES
def test_the_window_log_is_private_whatever_the_umask(tmp_path: Path) -> None:
    env = dict(os.environ, XDG_STATE_HOME=str(tmp_path / "state"), HOME=str(tmp_path))
    script = "from drayman.ui.app import _log_to_file; print(_log_to_file())"

    def log_file() -> Path:
        result = subprocess.run(
            [sys.executable, "-c", script], env=env, umask=0, capture_output=True, text=True
        )
        assert result.returncode == 0, result.stderr
        return Path(result.stdout.strip())

    path = log_file()
    assert path.parent == tmp_path / "state" / "drayman" / "log"
    assert mode_of(path) == 0o600
    assert mode_of(path.parent) == mode_of(path.parent.parent) == 0o700
    path.chmod(0o644)  # e.g. left by an older version
    assert log_file() == path and mode_of(path) == 0o600


@POSIX_MODES
def test_the_rpc_secret_and_the_window_proxy_are_replaced_whole_and_private_whatever_the_umask(
    tmp_path: Path,
) -> None:
    from drayman.private import write_private
    from drayman.rpc.secret import secret_path, store_secret
    from drayman.ui.proxyfile import read_proxy, store_proxy

    folder = tmp_path / "config"  # the test's DRAYMAN_CONFIG_DIR (conftest)
    previous = os.umask(0)
    try:
        store_secret("first")
        secret_path().chmod(0o644)  # e.g. left by an older version
        store_secret("second")
        store_proxy("http://ann:pw@127.0.0.1:3128")
    finally:
        os.umask(previous)
    assert mode_of(folder) == 0o700
    modes = {f.name: mode_of(f) for f in folder.iterdir()}
    assert modes == {"rpc-secret": 0o600, "window-proxy": 0o600}  # and no temporary file
    assert secret_path().read_text() == "second\n"
    assert read_proxy() == "http://ann:pw@127.0.0.1:3128"
    store_proxy("")  # no proxy chosen: no password left on disk
    assert read_proxy() == "" and [f.name for f in folder.iterdir()] == ["rpc-secret"]
    # a write that cannot land leaves nothing behind, and the old file as it was
    (folder / "taken" / "inside").mkdir(parents=True)
    with pytest.raises(OSError):
        write_private(folder / "taken", "x")
    assert sorted(f.name for f in folder.iterdir()) == ["rpc-secret", "taken"]
    assert secret_path().read_text() == "second\n"


# -- 6. a full disk under the database ---------------------------------------------


def test_a_full_disk_under_the_database_is_a_clear_error_and_loses_nothing(
    small_disk: Path, downloads: Path
) -> None:
    db = small_disk / "jobs.db"
    added = run_cli(db, "add", "http://127.0.0.1:9/a", "http://127.0.0.1:9/b", "-d", str(downloads))
    assert added.returncode == 0, added.stderr
    before = ls_json(db)
    filler = fill_disk(small_disk)
    for args in (
        ["add", "http://127.0.0.1:9/c", "-d", str(downloads)],
        ["pause", "1"],
        ["limit", "1M"],
        ["run", "--until-idle"],
    ):
        result = run_cli(db, *args)
        assert result.returncode == 3, (args, result.stderr)
        assert "the disk is full" in one_line(result.stderr)
    filler.unlink()
    assert ls_json(db) == before
    assert run_cli(db, "check").stdout == "ok\n"


async def test_engine_waits_out_a_full_disk_under_the_database_and_fails_no_job(
    small_disk: Path,
    downloads: Path,
    http_server: LoopbackServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger="drayman")
    db = small_disk / "jobs.db"
    small = make_body(100 * KiB, seed=1)
    body = make_body(4 * MiB)
    http_server.add("/small.bin", small)
    resource = http_server.add("/big.bin", body, hold_at=[1 * MiB, 2 * MiB])
    async with Engine(db, fault_config()) as engine:
        [done_id] = await engine.queue.add([http_server.url("/small.bin")], dest_dir=downloads)
        await asyncio.wait_for(engine.wait_idle(), 30)
        [job_id] = await engine.queue.add([http_server.url("/big.bin")], dest_dir=downloads)
        await async_wait_until(
            held_and_checkpointed(http_server, "/big.bin", 1 * MiB, db, job_id),
            timeout=30,
            what="a first checkpoint",
        )
        before = job_row(db, job_id)["bytes_done"]
        filler = await asyncio.to_thread(fill_disk, small_disk)
        try:
            http_server.release_hold("/big.bin")
            await async_wait_until(
                lambda: (
                    http_server.held_at("/big.bin") == 2 * MiB
                    and logged(caplog, "the disk is full")
                ),
                timeout=30,
                what="a checkpoint to meet the full disk",
            )
            assert job_row(db, job_id)["bytes_done"] == before
            http_server.release_hold("/big.bin")
            await async_wait_until(
                lambda: logged(caplog, "cannot record its state yet"),
                timeout=30,
                what="the finish to meet the full disk",
            )
            row = job_row(db, job_id)
            assert (row["state"], row["bytes_done"], row["attempts"]) == ("running", before, 0)
        finally:
            filler.unlink()
        await asyncio.wait_for(engine.wait_idle(), 30)
        jobs = {job.id: job for job in await engine.queue.jobs()}
    assert jobs[done_id].state == JobState.DONE and jobs[job_id].state == JobState.DONE
    assert not any(job.state == JobState.FAILED for job in jobs.values())
    assert (downloads / "small.bin").read_bytes() == small
    assert (downloads / "big.bin").read_bytes() == body
    second = http_server.requests_for("/big.bin")[1]
    assert (second.headers["Range"], second.headers["If-Range"]) == (
        f"bytes={before}-",
        resource.etag,
    )
    assert shutil.disk_usage(small_disk).free > 0
