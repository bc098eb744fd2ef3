"""The blocking lane and the coalesced folder fsyncs, on real threads and folders."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
from pathlib import Path

import pytest

from drayman.queue.blocking import BlockingLane, run_blocking
from drayman.queue.durable import FolderSyncs, sync_folder
from drayman.queue.folder import JobFolder


async def test_the_lane_returns_results_and_raises_errors_in_the_caller() -> None:
    assert await run_blocking(sum, [1, 2, 3]) == 6
    assert await run_blocking(threading.current_thread) is not threading.current_thread()
    with pytest.raises(FileNotFoundError):
        await run_blocking(os.stat, "/nonexistent/drayman/path")


async def test_the_lane_runs_calls_side_by_side_up_to_its_thread_limit() -> None:
    lane = BlockingLane(max_threads=3)
    inside, release = threading.Semaphore(0), threading.Event()
    names: set[str] = set()

    def blocker(n: int) -> int:
        names.add(threading.current_thread().name + str(threading.get_ident()))
        inside.release()
        release.wait(30)
        return n

    futures = [lane.run(blocker, n) for n in range(5)]
    # three calls are in their threads at once; the other two wait for a free one
    for _ in range(3):
        assert await asyncio.to_thread(inside.acquire, True, 30)
    release.set()
    assert await asyncio.gather(*futures) == [0, 1, 2, 3, 4]
    assert len(names) == 3


async def test_a_cancelled_caller_leaves_the_lane_working() -> None:
    lane = BlockingLane(max_threads=1)
    started, release = threading.Event(), threading.Event()

    def slow() -> str:
        started.set()
        release.wait(30)
        return "done"

    first = lane.run(slow)
    assert await asyncio.to_thread(started.wait, 30)
    first.cancel()
    release.set()
    # the cancelled call's result is dropped; the next call gets its own
    assert await lane.run(str.upper, "next") == "NEXT"
    assert first.cancelled()


def open_folder(path: Path) -> JobFolder:
    return JobFolder.open(str(path.parent), str(path), create=True)


async def test_folder_fsyncs_are_shared_by_callers_that_arrive_together(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[str] = []
    real = JobFolder.sync

    def counting(self: JobFolder, platform: str = sys.platform) -> None:
        synced.append(self.path)
        real(self, platform)

    monkeypatch.setattr(JobFolder, "sync", counting)
    syncs = FolderSyncs()
    # forty transfers, each with the folder open, finish at once: the first
    # starts an fsync, which may predate the others' renames, so they share
    # one more that starts after it
    folders = [open_folder(tmp_path / "downloads") for _ in range(40)]
    try:
        await asyncio.gather(*(syncs.sync(folder) for folder in folders))
        assert synced == [folders[0].path, folders[0].path]
        assert syncs.count == 2
        # a caller after that gets an fsync of its own
        await syncs.sync(folders[-1])
        assert syncs.count == 3
    finally:
        for folder in folders:
            folder.close()


async def test_a_folder_replaced_under_its_path_gets_its_own_fsync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    synced: list[int] = []
    real = JobFolder.sync

    def counting(self: JobFolder, platform: str = sys.platform) -> None:
        assert self.fd is not None
        synced.append(os.fstat(self.fd).st_ino)
        real(self, platform)

    monkeypatch.setattr(JobFolder, "sync", counting)
    old = open_folder(tmp_path / "downloads")
    (tmp_path / "downloads").rename(tmp_path / "moved")
    new, first = open_folder(tmp_path / "downloads"), open_folder(tmp_path / "downloads")
    assert old.fd is not None and new.fd is not None
    old_inode, new_inode = os.fstat(old.fd).st_ino, os.fstat(new.fd).st_ino
    try:
        syncs = FolderSyncs()
        # the first caller's round runs alone; the other two share the next:
        # one path, but two directories, each of which had a rename in it
        await asyncio.gather(syncs.sync(first), syncs.sync(old), syncs.sync(new))
        assert syncs.count == 2
        assert synced == [new_inode, old_inode, new_inode]
    finally:
        for folder in (old, new, first):
            folder.close()


async def test_a_failed_folder_fsync_reaches_its_callers_and_the_next_one_runs(
    tmp_path: Path,
) -> None:
    gone = tmp_path / "removed"
    # a folder known by path only (where folders cannot be held open)
    vanished = JobFolder(str(gone), str(tmp_path), None)
    with pytest.raises(FileNotFoundError):
        await asyncio.gather(sync_folder(vanished), sync_folder(vanished))
    gone.mkdir()
    await sync_folder(vanished)
