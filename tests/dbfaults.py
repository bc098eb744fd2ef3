"""Database faults for tests, injected for real: another process's lock, a full disk.

- :class:`LockHolder` is a second process holding a write transaction
  (``BEGIN IMMEDIATE``) until told to let go.
- :func:`small_disk` mounts a small tmpfs for the test (see
  :mod:`filesystems`) and :func:`fill_disk` fills it.
- :func:`file_state` and :func:`job_row` look at a database without
  changing it; :func:`held_and_checkpointed` waits for a download to stop
  at a hold point with some bytes recorded.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import hashlib
import logging
import os
import shutil
import sqlite3
import stat
import subprocess
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

from drayman.queue.engine import EngineConfig
from drayman.queue.retry import RetryPolicy
from drayman.queue.transferconfig import TransferConfig
from filesystems import Mounts
from httpserver import LoopbackServer

__all__ = [
    "LockHolder",
    "fault_config",
    "file_state",
    "fill_disk",
    "held_and_checkpointed",
    "job_row",
    "lock_held",
    "logged",
    "mode_of",
    "small_disk",
]

KiB = 1024

_HOLD = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)
conn.execute("BEGIN IMMEDIATE")
print("locked", flush=True)
sys.stdin.readline()
conn.execute("ROLLBACK")
conn.close()
"""


class LockHolder:
    """Another process holding the database's write lock (``with LockHolder(db):``)."""

    def __init__(self, db_path: Path) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", _HOLD, str(db_path)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        line = self.process.stdout.readline()  # EOF (not a hang) if the script failed
        if line.strip() != "locked":
            self.process.kill()
            raise AssertionError(f"could not lock {db_path}: {self.process.stderr.read()}")  # type: ignore[union-attr]

    def release(self) -> None:
        if self.process.poll() is None:
            assert self.process.stdin is not None
            self.process.stdin.write("\n")
            self.process.stdin.flush()
            self.process.wait(timeout=10)
        assert self.process.returncode == 0

    def __enter__(self) -> LockHolder:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


@contextlib.asynccontextmanager
async def lock_held(db_path: Path) -> AsyncIterator[LockHolder]:
    """:class:`LockHolder` for async code: taken and let go in a thread (both wait)."""
    holder = await asyncio.to_thread(LockHolder, db_path)
    try:
        yield holder
    finally:
        await asyncio.to_thread(holder.release)


def file_state(path: Path) -> tuple[str, str | None, list[str]]:
    """Hashes of the file and its -wal (its last commits), and the names beside
    it: to prove nothing was touched. (The -shm is only an index SQLite rebuilds.)"""
    wal = Path(f"{path}-wal")
    return (
        hashlib.sha256(path.read_bytes()).hexdigest(),
        hashlib.sha256(wal.read_bytes()).hexdigest() if wal.exists() else None,
        sorted(os.listdir(path.parent)),
    )


def job_row(db_path: Path, job_id: int) -> dict[str, Any]:
    """One job's row, read from another (read-only) connection, as another process would."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=10)
    conn.row_factory = sqlite3.Row
    try:
        row = conn.execute("SELECT * FROM jobs WHERE id = ?", (job_id,)).fetchone()
    finally:
        conn.close()
    assert row is not None, f"no job {job_id}"
    return dict(row)


def held_and_checkpointed(
    server: LoopbackServer, path: str, offset: int, db_path: Path, job_id: int
) -> Callable[[], bool]:
    """For a wait: the answer for ``path`` is held at ``offset``, and the job has
    recorded some bytes (so its ``.part`` is open and written)."""
    return lambda: server.held_at(path) == offset and job_row(db_path, job_id)["bytes_done"] > 0


def mode_of(path: Path) -> int:
    return stat.S_IMODE(os.lstat(path).st_mode)


@pytest.fixture
def small_disk(mounts: Mounts) -> Path:
    """A 4 MiB file system of its own (tmpfs), so that it can be filled up.

    Mounted by :mod:`filesystems` (as root; otherwise the test runs inside
    ``unshare -rm``), and unmounted after the test even when it fails.
    """
    return mounts.tmpfs("small-disk", 4 * 1024 * KiB, mode=0o700)


def fill_disk(folder: Path) -> Path:
    """Write a file in ``folder`` until its file system has no byte left; return it."""
    filler = folder / "filler"
    with open(filler, "wb", buffering=0) as handle:
        for size in (1 << 20, 1 << 14, 1 << 10, 1 << 6, 1):
            block = b"\0" * size
            try:
                while handle.write(block):
                    pass
            except OSError as exc:
                if exc.errno != errno.ENOSPC:
                    raise
    assert shutil.disk_usage(folder).free == 0, shutil.disk_usage(folder)
    return filler


def fault_config() -> EngineConfig:
    """Checkpoints often and blocks small, so faults land mid-file; no stall timeouts."""
    return EngineConfig(
        concurrency=2,
        per_host=2,
        retry=RetryPolicy(base_delay=0.01, max_delay=0.05, max_attempts=3),
        transfer=TransferConfig(read_timeout=60, checkpoint_seconds=0.05, block_size=64 * KiB),
        poll_interval=0.05,
        progress_interval=0.05,
    )


@pytest.fixture
def quick_lock(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> pytest.LogCaptureFixture:
    """A lock held by another process is given up on after 0.3 s, not 10, and
    the engine's INFO lines are captured: what the lock tests wait on."""
    monkeypatch.setenv("DRAYMAN_BUSY_TIMEOUT", "0.3")
    caplog.set_level(logging.INFO, logger="drayman")
    return caplog


def logged(caplog: pytest.LogCaptureFixture, text: str) -> bool:
    return any(text in record.getMessage() for record in caplog.records)
