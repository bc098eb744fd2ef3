"""Servers that ignore Range, served by Python's own http.server (see plainhttp.py).

A 200 to a range request, at any point (the first request, a resume, a later
segment), must bring the download back to one connection from byte 0 once,
never a loop of restarts; the file arrives byte-exact or the job fails with a
clear reason within its attempts.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from conftest import async_wait_until, run_cli
from drayman.jobs import Job, JobState, NewJob
from drayman.queue.engine import Engine, EngineConfig
from drayman.storage import JobStore, SegmentRecord
from filesystems import Mounts
from httpserver import make_body
from plainhttp import PlainHTTPServer
from test_segments import seg_config, sha

KiB, MiB = 1024, 1024 * 1024


@pytest.fixture
def plain(tmp_path: Path) -> Iterator[PlainHTTPServer]:
    root = tmp_path / "served"
    root.mkdir()
    with PlainHTTPServer(root) as server:
        yield server


async def download(db_path: Path, url: str, folder: Path, config: EngineConfig) -> Job:
    """Add ``url`` and run until idle; a download that loops fails the test after 30 s."""
    async with Engine(db_path, config) as engine:
        [job_id] = await engine.queue.add([url], dest_dir=folder)
        await asyncio.wait_for(engine.wait_idle(), 30)
        return await engine.queue.get(job_id)


def done_and_exact(job: Job, path: Path, body: bytes) -> None:
    assert job.state == JobState.DONE, job.error
    assert sha(path.read_bytes()) == sha(body)
    assert [p.name for p in path.parent.iterdir()] == [path.name]


async def test_a_fresh_download_from_http_server_finishes_over_its_first_connection(
    db_path: Path, downloads: Path, plain: PlainHTTPServer
) -> None:
    body = make_body(1 * MiB + 7)
    plain.add("f.bin", body)
    # the first answer is past its first segment before the range request is answered
    plain.ranges_wait_for = 600 * KiB
    job = await download(db_path, plain.url("/f.bin"), downloads, seg_config())
    done_and_exact(job, downloads / "f.bin", body)
    # one GET, one range request answered 200, and the first connection did the rest
    ranges = plain.ranges()
    assert len(ranges) == 2 and ranges[0] is None and ranges[1] is not None
    assert job.attempts == 0


async def seed_crashed_segments(
    db_path: Path, folder: Path, url: str, body: bytes, name: str
) -> int:
    """A job as a crash (or a full disk) left it mid-way through four segments."""
    quarter = len(body) // 4
    records = [
        SegmentRecord(n * quarter, len(body) if n == 3 else (n + 1) * quarter, n * quarter + 1000)
        for n in range(4)
    ]
    part = bytearray(len(body))
    for r in records:
        part[r.start : r.durable] = body[r.start : r.durable]
    (folder / (name + ".part")).write_bytes(part)
    async with await JobStore.open(db_path) as store:
        [job_id] = await store.add([NewJob(url=url, dest_dir=str(folder))])
        await store.set_name(job_id, name)
        await store.record_remote(
            job_id,
            etag=None,
            last_modified=PlainHTTPServer.last_modified(),
            bytes_total=len(body),
            effective_url=None,
            bytes_done=0,
        )
        await store.save_segments(job_id, records, sum(r.durable - r.start for r in records))
    return job_id


async def test_resuming_recorded_segments_from_http_server_starts_over_once_on_one_connection(
    db_path: Path, downloads: Path, plain: PlainHTTPServer
) -> None:
    body = make_body(1 * MiB + 3)
    plain.add("r.bin", body)
    plain.ranges_wait_for = 600 * KiB
    job_id = await seed_crashed_segments(db_path, downloads, plain.url("/r.bin"), body, "r.bin")
    async with Engine(db_path, seg_config()) as engine:
        await asyncio.wait_for(engine.wait_idle(), 30)
        job = await engine.queue.get(job_id)
    done_and_exact(job, downloads / "r.bin", body)
    # the first segment's range request got the whole file: then one GET from byte 0
    assert plain.ranges() == [f"bytes=1000-{len(body) // 4 - 1}", None]
    assert job.attempts == 0


async def test_a_server_that_stops_honouring_range_between_pause_and_resume(
    db_path: Path, downloads: Path, plain: PlainHTTPServer
) -> None:
    body = make_body(2 * MiB)
    plain.add("p.bin", body)
    plain.honour_range = lambda n: True
    plain.rate = 1 * MiB
    async with Engine(db_path, seg_config()) as engine:
        [job_id] = await engine.queue.add([plain.url("/p.bin")], dest_dir=downloads)
        store = engine.queue.store

        async def segments_started() -> bool:
            records = await store.segments(job_id)
            return len(records) >= 3 and sum(r.durable > r.start for r in records) >= 3

        await async_wait_until(segments_started, timeout=20, what="durable bytes in 3 segments")
        await engine.queue.pause([job_id])
        await async_wait_until(lambda: not engine.active_ids, what="the transfer to stop")
        assert 0 < (await engine.queue.get(job_id)).bytes_done < len(body)
        # the server is swapped for a plain http.server (ranges ignored)
        plain.honour_range = None
        plain.rate = None
        plain.ranges_wait_for = 600 * KiB
        seen = len(plain.ranges())
        await engine.queue.resume([job_id])
        await asyncio.wait_for(engine.wait_idle(), 30)
        job = await engine.queue.get(job_id)
    done_and_exact(job, downloads / "p.bin", body)
    after = plain.ranges()[seen:]
    assert after[0] is not None and after[1:] == [None]


async def test_a_later_segment_answered_200_falls_back_to_one_connection_once(
    db_path: Path, downloads: Path, plain: PlainHTTPServer
) -> None:
    body = make_body(2 * MiB + 11)
    plain.add("l.bin", body)
    # the first range requests are honoured, the third and every later one is not
    plain.honour_range = lambda n: n < 3
    plain.rate = 2 * MiB
    plain.ranges_wait_for = 900 * KiB
    job = await download(db_path, plain.url("/l.bin"), downloads, seg_config())
    done_and_exact(job, downloads / "l.bin", body)
    ranges = plain.ranges()
    # GET, two honoured ranges, range requests answered 200 (one, or two when a
    # connection stole work meanwhile), then one GET from byte 0: no loop
    assert ranges[0] is None and ranges[-1] is None and all(ranges[1:-1])
    assert 4 <= len(ranges) <= 6
    assert job.attempts == 0


@pytest.mark.parametrize("honoured", ["odd", "even"])
async def test_a_server_honouring_range_only_sometimes_finishes_byte_exact(
    db_path: Path, downloads: Path, plain: PlainHTTPServer, honoured: str
) -> None:
    body = make_body(2 * MiB + 5)
    plain.add("s.bin", body)
    plain.honour_range = lambda n: n % 2 == (1 if honoured == "odd" else 0)
    plain.rate = 4 * MiB
    plain.ranges_wait_for = 900 * KiB
    job = await download(db_path, plain.url("/s.bin"), downloads, seg_config())
    done_and_exact(job, downloads / "s.bin", body)
    # at most one start over from byte 0, in the attempt itself
    assert plain.ranges()[1:].count(None) <= 1
    assert job.attempts == 0


async def test_restarts_from_byte_0_count_against_the_attempts(
    db_path: Path, downloads: Path, plain: PlainHTTPServer
) -> None:
    # every connection breaks half way and every resume gets the whole file
    # again: the same bytes each time are no progress, so the job gives up
    body = make_body(1 * MiB)
    plain.add("c.bin", body)
    plain.reset_after = 300 * KiB
    # slow enough that checkpoints record bytes before each cut
    plain.rate = 1 * MiB
    job = await download(db_path, plain.url("/c.bin"), downloads, seg_config(split=1))
    assert job.state == JobState.FAILED
    assert job.error is not None and "gave up after 5 attempts" in job.error
    assert "\n" not in job.error
    # each attempt after the first asked to resume and got the whole file; an
    # attempt counts as progress only while it gets further than any before
    ranges = plain.ranges()
    assert ranges[0] is None and all(ranges[1:]) and 5 <= len(ranges) <= 15


# -- the scenario, through the CLI, against the real `python3 -m http.server` --


def start_http_server(root: Path) -> tuple[subprocess.Popen[str], int]:
    process = subprocess.Popen(
        [sys.executable, "-u", "-m", "http.server", "0", "--bind", "127.0.0.1"],
        cwd=root,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert process.stdout is not None
    # "Serving HTTP on 127.0.0.1 port 45678 (http://127.0.0.1:45678/) ..."
    line = process.stdout.readline()
    if "port" not in line:
        process.kill()
        process.wait()
        raise AssertionError(f"http.server did not start: {line!r}")
    return process, int(line.split(" port ")[1].split()[0])


def test_http_server_file_on_a_full_disk_finishes_after_space_is_freed(
    db_path: Path, tmp_path: Path, mounts: Mounts
) -> None:
    root = tmp_path / "served"
    root.mkdir()
    body = make_body(16 * MiB, seed=11)
    (root / "big.bin").write_bytes(body)
    small = mounts.tmpfs("small", 8 * MiB)
    process, port = start_http_server(root)
    try:
        url = f"http://127.0.0.1:{port}/big.bin"
        assert run_cli(db_path, "add", url, "-d", str(small)).returncode == 0
        first = run_cli(db_path, "run", "--until-idle")
        assert first.returncode == 1
        [row] = json.loads(run_cli(db_path, "ls", "--json").stdout)
        assert row["state"] == "failed" and "not enough free space" in row["error"]

        mounts.resize(small, 64 * MiB)
        assert run_cli(db_path, "retry", "--failed").returncode == 0
        assert run_cli(db_path, "resume", "--all").returncode == 0
        # (it used to loop, connection after connection, until this timeout)
        again = run_cli(db_path, "run", "--until-idle", timeout=60)
        assert again.returncode == 0, again.stderr
    finally:
        process.kill()
        process.wait()
    [row] = json.loads(run_cli(db_path, "ls", "--json").stdout)
    assert row["state"] == "done" and row["bytes_done"] == len(body)
    assert [p.name for p in small.iterdir()] == ["big.bin"]
    assert sha((small / "big.bin").read_bytes()) == sha(body)
