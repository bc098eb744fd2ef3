"""Load: 1,000 queued jobs, 50 slow origins, one real ``drayman run -j 32``.

What only shows at scale: every file byte-exact, every job done, no file
descriptor left behind by a thousand transfers, memory that does not grow
with the number of jobs. The engine is a real subprocess, so its descriptors
and memory are its own (the 50 servers live in this process). Figures are
printed (``pytest -s tests/test_load.py``); the only assertions on them are
bounds that a leak per job would break, never timings.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import sys
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import psutil
import pytest

from conftest import (
    POSIX_SIGNALS,
    async_wait_until,
    lock_holder_pid,
    start_cli,
    stop_engine,
    wait_until,
)
from drayman.jobs import JobState
from drayman.queue.jobqueue import JobQueue
from drayman.queue.transferconfig import TransferConfig
from httpserver import LoopbackServer, loopback_host, make_body

KiB, MiB = 1024, 1024 * 1024
ORIGINS = 50
JOBS = 1000
CONCURRENCY = 32
#: each response is paced at this rate: a few tenths of a second per file
RATE = 512 * KiB
SIZES = (16 * KiB, 256 * KiB)


def open_descriptors(process: psutil.Process) -> int:
    """Open file descriptors; on Windows, open files and sockets (its handle
    count also holds threads and events, which the executor creates lazily)."""
    if sys.platform == "win32":
        return len(process.open_files()) + len(process.net_connections(kind="all"))
    return process.num_fds()


def descriptor_names(process: psutil.Process) -> list[str]:
    """What the descriptors point at, for the failure message."""
    proc_fd = Path(f"/proc/{process.pid}/fd")
    if proc_fd.is_dir():  # Linux: everything, deleted files and pipes included
        names = []
        for link in proc_fd.iterdir():
            with contextlib.suppress(OSError):  # closed meanwhile
                names.append(os.readlink(link))
        return sorted(names)
    files = [f.path for f in process.open_files()]
    sockets = [f"socket {c.laddr}->{c.raddr} {c.status}" for c in process.net_connections("all")]
    return sorted(files + sockets)


class MemoryWatch:
    """Peak resident memory of a process: the kernel's own high-water mark on
    Linux and Windows; elsewhere the highest of the samples taken."""

    def __init__(self, process: psutil.Process) -> None:
        self.process = process
        self.sampled_peak = 0

    def sample(self) -> int:
        rss = int(self.process.memory_info().rss)
        self.sampled_peak = max(self.sampled_peak, rss)
        return rss

    def peak(self) -> int:
        if sys.platform.startswith("linux"):
            status = Path(f"/proc/{self.process.pid}/status").read_text()
            for line in status.splitlines():
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        if sys.platform == "win32":
            return max(int(self.process.memory_info().peak_wset), self.sampled_peak)
        return self.sampled_peak


@pytest.fixture
def origins() -> Iterator[list[LoopbackServer]]:
    # a short keep-alive: idle connections close soon after the last job, so
    # the engine's descriptor count can come back to where it started
    servers = [LoopbackServer(loopback_host(n), keepalive_timeout=1.0) for n in range(ORIGINS)]
    try:
        for server in servers:
            server.start()
        yield servers
    finally:
        for server in servers:
            server.stop()


@pytest.mark.timeout(600)
async def test_a_thousand_jobs_on_fifty_slow_origins(
    db_path: Path, downloads: Path, origins: list[LoopbackServer], tmp_path: Path
) -> None:
    rng = random.Random(6)
    origins[0].add("/warm-up.bin", make_body(64 * KiB, seed=-1))
    expected: dict[str, str] = {}
    urls = []
    for n in range(JOBS):
        # job n on origin n % 50: the head of the queue spans every origin
        server = origins[n % ORIGINS]
        body = make_body(rng.randint(*SIZES), seed=n)
        server.add(f"/f{n}.bin", body, rate=RATE)
        url = server.url(f"/f{n}.bin")
        urls.append(url)
        expected[url] = hashlib.sha256(body).hexdigest()
    assert len({s.base_url for s in origins}) == ORIGINS

    queue = await JobQueue.open(db_path)  # creates the database
    log = tmp_path / "engine.log"
    engine = start_cli(db_path, "run", "-j", str(CONCURRENCY), log=log)
    try:
        await async_wait_until(
            lambda: lock_holder_pid(db_path) == str(engine.pid),
            timeout=30,
            what="the engine to take its lock",
        )
        process = psutil.Process(engine.pid)
        memory = MemoryWatch(process)
        # one download first: the engine (its event loop, uvloop's included)
        # opens a few descriptors once, at its first connection; the level to
        # come back to is that of an idle engine that has downloaded
        [warm_up] = await queue.add([origins[0].url("/warm-up.bin")], dest_dir=downloads)

        async def warmed_up() -> bool:
            if (await queue.get(warm_up)).state != JobState.DONE:
                return False
            # and its kept-alive connection closed by the server
            return not process.net_connections(kind="inet")

        await async_wait_until(warmed_up, timeout=60, what="the warm-up download")
        fds_before = open_descriptors(process)
        names_before = descriptor_names(process)
        rss_before = memory.sample()
        fds_peak = fds_before

        ids = await queue.add(urls, dest_dir=downloads)
        assert len(ids) == JOBS

        async def finished() -> bool:
            nonlocal fds_peak
            memory.sample()
            fds_peak = max(fds_peak, open_descriptors(process))
            counts = await queue.counts()
            if counts[JobState.FAILED]:
                failed = await queue.jobs(JobState.FAILED)
                raise AssertionError(f"{len(failed)} job(s) failed, e.g. {failed[0].error}")
            assert engine.poll() is None, log.read_text()[-2000:]
            return counts[JobState.DONE] == JOBS + 1

        await async_wait_until(finished, timeout=480, what="all 1,000 jobs to be done")

        jobs = [j for j in await queue.jobs() if j.id != warm_up]
        assert [j.state for j in jobs] == [JobState.DONE] * JOBS
        for job in jobs:
            assert job.final_path is not None
            data = Path(job.final_path).read_bytes()
            assert hashlib.sha256(data).hexdigest() == expected[job.url], job
            assert job.bytes_done == job.bytes_total == len(data)
        assert sorted(p.name for p in downloads.iterdir()) == sorted(
            [*(f"f{n}.bin" for n in range(JOBS)), "warm-up.bin"]
        )

        def back_to_start() -> bool:
            memory.sample()
            return open_descriptors(process) <= fds_before

        try:
            wait_until(back_to_start, timeout=60, what="the engine's descriptors to close")
        except AssertionError:
            leaked = list((Counter(descriptor_names(process)) - Counter(names_before)).elements())
            raise AssertionError(
                f"{open_descriptors(process)} descriptors open, {fds_before} at the start; "
                f"new: {leaked[:20]}"
            ) from None
        fds_after = open_descriptors(process)
        peak = memory.peak()
    finally:
        code = stop_engine(engine, timeout=30)
        await queue.close()
    if POSIX_SIGNALS:
        assert code == 0, log.read_text()[-2000:]

    # A leak of one transfer's buffer per job would cost 1,000 x 1 MiB; even a
    # leak of each job's body (~136 KiB on average) would add ~130 MiB. 32
    # transfers at once may hold a block each: allow that and 32 MiB more.
    block = TransferConfig().block_size
    growth = peak - rss_before
    print(
        f"\nload: {JOBS} jobs, {ORIGINS} origins, -j {CONCURRENCY}: "
        f"fds {fds_before} at start, {fds_peak} peak, {fds_after} after; "
        f"RSS {rss_before / MiB:.1f} MiB at start, {peak / MiB:.1f} MiB peak "
        f"(+{growth / MiB:.1f} MiB)"
    )
    assert fds_peak > fds_before  # the sampling saw the transfers' sockets and files
    assert growth < CONCURRENCY * block + 32 * MiB, f"peak RSS grew by {growth / MiB:.0f} MiB"
