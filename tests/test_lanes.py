"""The blocking lane and the coalesced folder fsyncs, on real threads and folders."""

from __future__ import annotations

import asyncio
import os
import sys
import threading
import time
from collections.abc import Callable
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


def wait_for(predicate: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + 10
    while not predicate():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.005)


class HeldSyncs:
    """JobFolder.sync recorded, the first fsync held until released (real fsyncs)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.synced: list[tuple[str, int]] = []
        self.release = threading.Event()
        real = JobFolder.sync

        def held(folder: JobFolder, platform: str = sys.platform) -> None:
            inode = os.fstat(folder.fd).st_ino if folder.fd is not None else 0
            self.synced.append((folder.path, inode))
            if len(self.synced) == 1:
                assert self.release.wait(10)
            real(folder, platform)

        monkeypatch.setattr(JobFolder, "sync", held)


def in_threads(calls: list[Callable[[], None]]) -> list[BaseException | None]:
    """Run each call in a thread of its own; what each raised (None: nothing)."""
    outcomes: list[BaseException | None] = [None] * len(calls)

    def run(n: int) -> None:
        try:
            calls[n]()
        except BaseException as exc:
            outcomes[n] = exc

    threads = [threading.Thread(target=run, args=(n,)) for n in range(len(calls))]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
        assert not thread.is_alive()
    return outcomes


def test_folder_fsyncs_are_shared_by_callers_that_arrive_together(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = HeldSyncs(monkeypatch)
    syncs = FolderSyncs()
    # forty transfers, each with the folder open, finish at once: the first
    # starts an fsync, which may predate the others' renames, so they share
    # one more that starts after it (one of them runs it)
    folders = [open_folder(tmp_path / "downloads") for _ in range(40)]
    first = threading.Thread(target=syncs.sync, args=(folders[0],))
    try:
        first.start()
        wait_for(lambda: held.synced != [], "the first fsync runs")

        def release_when_all_wait() -> None:
            wait_for(lambda: syncs.waiting(folders[0]) == 39, "the others wait")
            held.release.set()

        outcomes = in_threads(
            [release_when_all_wait] + [lambda f=f: syncs.sync(f) for f in folders[1:]]
        )
        first.join(10)
        assert outcomes == [None] * 40
        assert [path for path, _ in held.synced] == [folders[0].path, folders[0].path]
        assert syncs.count == 2
        # a caller after that gets an fsync of its own
        syncs.sync(folders[-1])
        assert syncs.count == 3
    finally:
        held.release.set()
        first.join(10)
        for folder in folders:
            folder.close()


def test_a_folder_replaced_under_its_path_gets_its_own_fsync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    held = HeldSyncs(monkeypatch)
    old = open_folder(tmp_path / "downloads")
    (tmp_path / "downloads").rename(tmp_path / "moved")
    new, first = open_folder(tmp_path / "downloads"), open_folder(tmp_path / "downloads")
    assert old.fd is not None and new.fd is not None
    old_inode, new_inode = os.fstat(old.fd).st_ino, os.fstat(new.fd).st_ino
    syncs = FolderSyncs()
    runner = threading.Thread(target=syncs.sync, args=(first,))
    try:
        # the first caller's round runs alone; the other two share the next:
        # one path, but two directories, each of which had a rename in it
        runner.start()
        wait_for(lambda: held.synced != [], "the first fsync runs")

        def release_when_both_wait() -> None:
            wait_for(lambda: syncs.waiting(first) == 2, "the other two wait")
            held.release.set()

        outcomes = in_threads(
            [release_when_both_wait, lambda: syncs.sync(old), lambda: syncs.sync(new)]
        )
        runner.join(10)
        assert outcomes == [None, None, None]
        assert syncs.count == 2
        assert held.synced[0][1] == new_inode
        assert sorted(inode for _, inode in held.synced[1:]) == sorted([old_inode, new_inode])
    finally:
        held.release.set()
        runner.join(10)
        for folder in (old, new, first):
            folder.close()


def test_a_failed_folder_fsync_reaches_its_callers_and_the_next_one_runs(
    tmp_path: Path,
) -> None:
    gone = tmp_path / "removed"
    # a folder known by path only (where folders cannot be held open)
    vanished = JobFolder(str(gone), str(tmp_path), None)
    outcomes = in_threads([lambda: sync_folder(vanished), lambda: sync_folder(vanished)])
    assert all(isinstance(outcome, FileNotFoundError) for outcome in outcomes)
    gone.mkdir()
    sync_folder(vanished)
