"""Segmented downloads against real loopback servers: bytes exact, never spliced.

Each test checks the sha256 of the result and what the server was asked
(Range, If-Range), since "it finished" proves little about a download that
could have stitched two versions of a file together.
"""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import os
import shutil
import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from conftest import async_wait_until, run_cli, start_cli, wait_until
from dbfaults import LockHolder, held_and_checkpointed, job_row, lock_held, logged
from drayman.jobs import Job, JobState, NewJob
from drayman.queue.engine import Engine, EngineConfig
from drayman.queue.retry import RetryPolicy
from drayman.queue.transferconfig import PUMP_MIN_SPEED_ENV, TransferConfig
from drayman.storage import JobStore, SegmentRecord
from httpserver import LoopbackServer, RecordedRequest, make_body

KiB, MiB = 1024, 1024 * 1024
#: bodies at least this large are moved by a pump thread (both_readers runs a test both ways)
PUMP_MIN_SIZE = TransferConfig().pump_min_size


def seg_config(split: int = 4, **transfer: Any) -> EngineConfig:
    """Segments from 256 KiB files on, 64 KiB pieces: faults land mid-segment."""
    options: dict[str, Any] = {
        "read_timeout": 10.0,
        "checkpoint_seconds": 0.05,
        "block_size": 64 * KiB,
        "pump_min_size": PUMP_MIN_SIZE,
        "pump_min_speed": 0,
        "split": split,
        "split_min_size": 256 * KiB,
        "min_segment": 64 * KiB,
    }
    options.update(transfer)
    return EngineConfig(
        concurrency=4,
        per_host=4,
        retry=RetryPolicy(base_delay=0.01, max_delay=0.05, max_attempts=5),
        transfer=TransferConfig(**options),
        poll_interval=0.05,
        progress_interval=0.05,
    )


async def download(db_path: Path, url: str, folder: Path, config: EngineConfig, **add: Any) -> Job:
    async with Engine(db_path, config) as engine:
        [job_id] = await engine.queue.add([url], dest_dir=folder, **add)
        await asyncio.wait_for(engine.wait_idle(), 60)
        return await engine.queue.get(job_id)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def byte_range(request: RecordedRequest) -> tuple[int, int] | None:
    """(first, last) of a ``Range: bytes=a-b`` header; None without one."""
    value = request.headers.get("Range")
    if value is None:
        return None
    first, _, last = value.removeprefix("bytes=").partition("-")
    return int(first), int(last) if last else -1


def on_request(index: int, **faults: Any) -> Callable[[int, RecordedRequest], dict[str, Any]]:
    """A hook that gives the ``index``-th answer (0 = first) the given faults."""
    return lambda n, _request: faults if n == index else {}


@pytest.mark.usefixtures("both_readers")
async def test_a_large_file_comes_over_several_connections_byte_exact(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    body = make_body(2 * MiB + 123)
    res = http_server.add("/big.bin", body, rate=4 * MiB)
    job = await download(db_path, http_server.url("/big.bin"), downloads, seg_config(split=4))
    assert job.state == JobState.DONE, job.error
    assert sha((downloads / "big.bin").read_bytes()) == sha(body)
    assert (job.bytes_done, job.bytes_total) == (len(body), len(body))
    assert not list(downloads.glob("*.part"))
    requests = http_server.requests_for("/big.bin")
    assert "Range" not in requests[0].headers
    assert all(r.headers["If-Range"] == res.etag for r in requests[1:])
    # four equal pieces: the first answer's, then the three asked for
    quarter = len(body) // 4
    assert [byte_range(r) for r in requests[1:4]] == [
        (quarter, 2 * quarter - 1),
        (2 * quarter, 3 * quarter - 1),
        (3 * quarter, len(body) - 1),
    ]
    # any later request is work stolen inside those pieces
    assert all(byte_range(r) is not None for r in requests[4:])
    async with await JobStore.open(db_path) as store:
        assert await store.segments(job.id) == []


async def test_small_files_stay_on_one_connection(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    body = make_body(200 * KiB)
    http_server.add("/small.bin", body)
    job = await download(db_path, http_server.url("/small.bin"), downloads, seg_config(split=8))
    assert job.state == JobState.DONE, job.error
    assert (downloads / "small.bin").read_bytes() == body
    [request] = http_server.requests_for("/small.bin")
    assert "Range" not in request.headers


async def test_an_empty_last_modified_is_no_validator_and_splits_nothing(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    """Nothing pins the file down (a weak ETag, an empty Last-Modified): one connection."""
    body = make_body(1 * MiB)
    http_server.add("/blank.bin", body, etag='W/"weak"', last_modified="")
    job = await download(db_path, http_server.url("/blank.bin"), downloads, seg_config(split=4))
    assert job.state == JobState.DONE, job.error
    assert (downloads / "blank.bin").read_bytes() == body
    [request] = http_server.requests_for("/blank.bin")
    assert "Range" not in request.headers and "If-Range" not in request.headers


@pytest.mark.usefixtures("both_readers")
async def test_a_reset_segment_resumes_from_its_own_offset(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    body = make_body(4 * MiB)
    # the broken answer is paced (0.4 s for its 100 KiB): the client has read
    # most of it when the reset comes, whatever the load on the machine
    res = http_server.add(
        "/reset.bin",
        body,
        rate=8 * MiB,
        hook=on_request(2, reset_after=100 * KiB, rate=256 * KiB),
    )
    job = await download(db_path, http_server.url("/reset.bin"), downloads, seg_config(split=4))
    assert job.state == JobState.DONE, job.error
    assert sha((downloads / "reset.bin").read_bytes()) == sha(body)
    requests = http_server.requests_for("/reset.bin")
    broken = byte_range(requests[2])
    assert broken is not None
    # a later request picks the broken segment up where its bytes end, same validator
    again = [
        r
        for r in requests[3:]
        if (rng := byte_range(r)) is not None
        and broken[0] < rng[0] <= broken[0] + 100 * KiB
        and rng[1] <= broken[1]
    ]
    assert again, [r.headers.get("Range") for r in requests]
    assert all(r.headers["If-Range"] == res.etag for r in again)
    # the file crossed the wire about once: nothing was fetched from the start again
    assert http_server.bytes_sent["/reset.bin"] <= len(body) + 2 * MiB
    assert job.attempts == 0


@pytest.mark.parametrize("if_range", ["honoured", "ignored"])
@pytest.mark.usefixtures("both_readers")
async def test_a_file_changed_mid_way_restarts_from_zero_and_is_never_spliced(
    db_path: Path, downloads: Path, http_server: LoopbackServer, if_range: str
) -> None:
    """A server honouring If-Range answers 200 with the new file; one that
    ignores it (a broken cache) sends a 206 of the new file: its validators
    are all that tells the client, and must."""
    old, new = make_body(2 * MiB, seed=1), make_body(2 * MiB, seed=2)
    changed = threading.Event()

    def change_on_third(index: int, _request: RecordedRequest) -> dict[str, Any]:
        if index == 2:
            http_server.replace_body("/c.bin", new)
            changed.set()
        return {"ignore_if_range": if_range == "ignored" and index >= 2}

    res = http_server.add("/c.bin", old, rate=2 * MiB, hook=change_on_third)
    old_etag = res.etag
    job = await download(db_path, http_server.url("/c.bin"), downloads, seg_config(split=4))
    assert changed.is_set()
    assert job.state == JobState.DONE, job.error
    assert sha((downloads / "c.bin").read_bytes()) == sha(new)
    assert job.etag == res.etag != old_etag
    requests = http_server.requests_for("/c.bin")
    # the changed answer was to a range request asking for the old version...
    assert requests[2].headers["If-Range"] == old_etag
    # ...then the whole job started again from byte 0, asking only for the new one
    restart = next(n for n, r in enumerate(requests) if n > 2 and "Range" not in r.headers)
    after = [r for r in requests[restart + 1 :] if "Range" in r.headers]
    assert after and all(r.headers["If-Range"] == res.etag for r in after)


async def first_answer_held_until(
    db_path: Path,
    downloads: Path,
    server: LoopbackServer,
    path: str,
    body: bytes,
    second: dict[str, Any],
    config: EngineConfig,
) -> Job:
    """Download ``path`` whose second answer gets ``second``; the first answer
    holds at 64 KiB until the second one is over, so the first connection is
    still inside its own segment when the client learns of it."""
    server.add(path, body, rate=8 * MiB, hook=on_request(1, **second), hold_at=[64 * KiB])
    try:
        async with Engine(db_path, config) as engine:
            [job_id] = await engine.queue.add([server.url(path)], dest_dir=downloads)
            await async_wait_until(
                lambda: (
                    server.held_at(path) == 64 * KiB
                    and len(server.requests_for(path)) >= 2
                    and server.in_flight.get(path) == 1
                ),
                timeout=30,
                what="the second answer to be over",
            )
            server.release_hold(path)
            await asyncio.wait_for(engine.wait_idle(), 60)
            return await engine.queue.get(job_id)
    finally:
        server.release_hold(path)


def finished_by_the_first_connection(
    job: Job, downloads: Path, server: LoopbackServer, name: str, body: bytes
) -> None:
    """The extra connection's answer was not used: the first one fetched the rest,
    over two requests in all, without a restart."""
    assert job.state == JobState.DONE, job.error
    assert sha((downloads / name).read_bytes()) == sha(body)
    assert len(server.requests_for("/" + name)) == 2
    assert job.attempts == 0


@pytest.mark.usefixtures("both_readers")
async def test_a_server_ignoring_range_on_the_second_connection_costs_one_request(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    body = make_body(3 * MiB + 5)
    job = await first_answer_held_until(
        db_path, downloads, http_server, "/ir.bin", body, {"ignore_range": True}, seg_config()
    )
    assert job.state == JobState.DONE, job.error
    assert sha((downloads / "ir.bin").read_bytes()) == sha(body)
    first, second, *rest = http_server.requests_for("/ir.bin")
    assert "Range" not in first.headers and "Range" in second.headers
    # after the 200 to a range request, no more connections: the first one
    # carried on through the whole file, without starting again
    assert rest == []
    assert job.attempts == 0


async def test_a_refused_extra_connection_leaves_the_others_running(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    body = make_body(2 * MiB)
    job = await first_answer_held_until(
        db_path, downloads, http_server, "/lim.bin", body, {"status": 503}, seg_config()
    )
    finished_by_the_first_connection(job, downloads, http_server, "lim.bin", body)


@pytest.mark.usefixtures("both_readers")
async def test_wrong_content_range_on_an_extra_connection_is_never_written(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    body = make_body(2 * MiB)
    job = await first_answer_held_until(
        db_path,
        downloads,
        http_server,
        "/shift.bin",
        body,
        {"range_start_shift": 4096},
        seg_config(),
    )
    # the shifted answer was dropped; the first connection fetched the rest
    finished_by_the_first_connection(job, downloads, http_server, "shift.bin", body)


async def test_a_206_whose_length_contradicts_its_range_is_never_written(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    body = make_body(2 * MiB)
    job = await first_answer_held_until(
        db_path, downloads, http_server, "/len.bin", body, {"lie_length": 1000}, seg_config()
    )
    finished_by_the_first_connection(job, downloads, http_server, "len.bin", body)


@pytest.mark.usefixtures("both_readers")
async def test_a_trickling_connection_is_dropped_and_its_segment_fetched_again(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    body = make_body(2 * MiB)
    # the third answer drips (32 KiB/s); the minimum is 256 KiB/s over half a second
    http_server.add("/drip.bin", body, rate=4 * MiB, hook=on_request(2, rate=32 * KiB))
    config = seg_config(split=4, min_speed=256 * KiB, min_speed_time=0.5)
    job = await download(db_path, http_server.url("/drip.bin"), downloads, config)
    assert job.state == JobState.DONE, job.error
    assert sha((downloads / "drip.bin").read_bytes()) == sha(body)
    requests = http_server.requests_for("/drip.bin")
    slow = byte_range(requests[2])
    assert slow is not None
    # dropped, then asked for again from just past the few KiB it had sent
    # (work stealing alone would start at least 64 KiB further in)
    again = [
        rng
        for r in requests[3:]
        if (rng := byte_range(r)) is not None
        and slow[0] < rng[0] < slow[0] + 64 * KiB
        and rng[1] <= slow[1]
    ]
    assert again, [r.headers.get("Range") for r in requests]
    assert job.attempts == 0


@pytest.mark.usefixtures("both_readers")
async def test_a_finished_connection_steals_half_of_the_slowest_segment(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    body = make_body(2 * MiB)
    # the first connection crawls, the second is fast
    http_server.add("/steal.bin", body, hook=on_request(0, rate=256 * KiB))
    job = await download(db_path, http_server.url("/steal.bin"), downloads, seg_config(split=2))
    assert job.state == JobState.DONE, job.error
    assert sha((downloads / "steal.bin").read_bytes()) == sha(body)
    half = len(body) // 2
    ranges = [byte_range(r) for r in http_server.requests_for("/steal.bin")]
    assert ranges[:2] == [None, (half, len(body) - 1)]
    # then the fast connection took the upper half of what the slow one had left,
    # again and again: ranges inside the first segment, ending where it ends
    stolen = [rng for rng in ranges[2:] if rng is not None and rng[0] > 0 and rng[1] < half]
    assert stolen, ranges
    assert stolen[0][1] == half - 1
    assert all(b[1] == a[0] - 1 for a, b in itertools.pairwise(stolen))


@pytest.mark.usefixtures("both_readers")
async def test_pause_keeps_every_durable_segment_and_resume_finishes(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    body = make_body(3 * MiB)
    res = http_server.add("/p.bin", body, rate=1 * MiB)
    async with Engine(db_path, seg_config(split=3)) as engine:
        [job_id] = await engine.queue.add([http_server.url("/p.bin")], dest_dir=downloads)
        store = engine.queue.store

        async def all_segments_started() -> bool:
            records = await store.segments(job_id)
            return len(records) >= 3 and all(r.durable > r.start for r in records)

        await async_wait_until(all_segments_started, timeout=30, what="durable bytes in each")
        await engine.queue.pause([job_id])
        await async_wait_until(lambda: not engine.active_ids, what="the transfer to stop")
        paused = await engine.queue.get(job_id)
        records = await store.segments(job_id)
        # invariant 1 per segment: what the database claims is in the file
        part = (downloads / "p.bin.part").read_bytes()
        assert len(part) == len(body)
        for r in records:
            assert part[r.start : r.durable] == body[r.start : r.durable]
        assert paused.bytes_done == sum(r.durable - r.start for r in records)
        assert 0 < paused.bytes_done < len(body)
        http_server.clear_requests()
        res.rate = 8 * MiB
        await engine.queue.resume([job_id])
        await asyncio.wait_for(engine.wait_idle(), 60)
        done = await engine.queue.get(job_id)
    assert done.state == JobState.DONE, done.error
    assert sha((downloads / "p.bin").read_bytes()) == sha(body)
    asked = {byte_range(r) for r in http_server.requests_for("/p.bin")}
    for r in records:
        if r.durable < r.stop:
            assert (r.durable, r.stop - 1) in asked


async def seed_segmented_job(
    db_path: Path,
    folder: Path,
    server: LoopbackServer,
    path: str,
    records: list[SegmentRecord],
    *,
    bytes_done: int | None = None,
) -> int:
    """A job as a crash left it in the middle of a segmented download."""
    res = server.resources[path]
    async with await JobStore.open(db_path) as store:
        [job_id] = await store.add([NewJob(url=server.url(path), dest_dir=str(folder))])
        await store.set_name(job_id, path.strip("/"))
        await store.record_remote(
            job_id,
            etag=res.etag,
            last_modified=res.last_modified,
            bytes_total=len(res.body),
            effective_url=None,
            bytes_done=0,
        )
        done = sum(r.durable - r.start for r in records) if bytes_done is None else bytes_done
        await store.save_segments(job_id, records, done)
    return job_id


@pytest.mark.parametrize("damage", ["short part", "segments do not add up"])
async def test_an_untrustworthy_segmented_part_starts_over(
    db_path: Path, downloads: Path, http_server: LoopbackServer, damage: str
) -> None:
    body = make_body(1 * MiB)
    http_server.add("/u.bin", body)
    half = len(body) // 2
    records = [SegmentRecord(0, half, 1000), SegmentRecord(half, len(body), half + 1000)]
    job_id = await seed_segmented_job(
        db_path,
        downloads,
        http_server,
        "/u.bin",
        records,
        bytes_done=5 if damage == "segments do not add up" else None,
    )
    part = bytearray(len(body))
    part[0:1000], part[half : half + 1000] = body[0:1000], body[half : half + 1000]
    (downloads / "u.bin.part").write_bytes(part[:-1] if damage == "short part" else part)
    async with Engine(db_path, seg_config(split=2)) as engine:
        await asyncio.wait_for(engine.wait_idle(), 60)
        job = await engine.queue.get(job_id)
    assert job.state == JobState.DONE, job.error
    assert sha((downloads / "u.bin").read_bytes()) == sha(body)
    first = http_server.requests_for("/u.bin")[0]
    assert "Range" not in first.headers


async def test_a_segmented_part_resumes_each_segment_even_with_split_1(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    body = make_body(1 * MiB)
    res = http_server.add("/s1.bin", body)
    third = len(body) // 3
    records = [
        SegmentRecord(0, third, 2000),
        SegmentRecord(third, 2 * third, 2 * third),
        SegmentRecord(2 * third, len(body), 2 * third + 7),
    ]
    job_id = await seed_segmented_job(db_path, downloads, http_server, "/s1.bin", records)
    part = bytearray(len(body))
    for r in records:
        part[r.start : r.durable] = body[r.start : r.durable]
    (downloads / "s1.bin.part").write_bytes(part)
    # split 1: no segment is ever read as a prefix of the file
    async with Engine(db_path, seg_config(split=1)) as engine:
        await asyncio.wait_for(engine.wait_idle(), 60)
        job = await engine.queue.get(job_id)
    assert job.state == JobState.DONE, job.error
    assert sha((downloads / "s1.bin").read_bytes()) == sha(body)
    ranges = [r.headers.get("Range") for r in http_server.requests_for("/s1.bin")]
    assert ranges == [f"bytes=2000-{third - 1}", f"bytes={2 * third + 7}-{len(body) - 1}"]
    assert {r.headers["If-Range"] for r in http_server.requests_for("/s1.bin")} == {res.etag}


async def test_a_host_rule_caps_the_connections_of_one_file(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    body = make_body(2 * MiB)
    http_server.add("/cap.bin", body, rate=2 * MiB)
    async with await JobStore.open(db_path) as store:
        await store.add_rule("127.0.0.1", max_connections=2)
    job = await download(db_path, http_server.url("/cap.bin"), downloads, seg_config(split=8))
    assert job.state == JobState.DONE, job.error
    assert sha((downloads / "cap.bin").read_bytes()) == sha(body)
    # two pieces, not eight
    requests = http_server.requests_for("/cap.bin")
    assert byte_range(requests[1]) == (len(body) // 2, len(body) - 1)
    assert http_server.peak_in_flight <= 3  # (a closing answer may linger)


@pytest.mark.parametrize("good", [True, False])
@pytest.mark.usefixtures("both_readers")
async def test_sha256_is_checked_on_a_segmented_file(
    db_path: Path, downloads: Path, http_server: LoopbackServer, good: bool
) -> None:
    body = make_body(1 * MiB + 77)
    http_server.add("/h.bin", body, rate=4 * MiB)
    expected = sha(body) if good else "0" * 64
    job = await download(
        db_path, http_server.url("/h.bin"), downloads, seg_config(split=4), sha256=expected
    )
    assert len(http_server.requests_for("/h.bin")) >= 4
    if good:
        assert job.state == JobState.DONE, job.error
        assert sha((downloads / "h.bin").read_bytes()) == sha(body)
    else:
        assert job.state == JobState.FAILED
        assert "checksum mismatch" in (job.error or "")
        assert not (downloads / "h.bin").exists()


@pytest.mark.usefixtures("both_readers")
async def test_progress_counts_every_segment(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    body = make_body(2 * MiB)
    http_server.add("/pr.bin", body, rate=1 * MiB)
    snapshots = []
    async with Engine(db_path, seg_config(split=4)) as engine:
        engine.subscribe(snapshots.append)
        [job_id] = await engine.queue.add([http_server.url("/pr.bin")], dest_dir=downloads)
        await asyncio.wait_for(engine.wait_idle(), 60)
    active = [p for s in snapshots for p in s.active if p.job_id == job_id]
    assert active and max(p.bytes_done for p in active) <= len(body)
    # the first connection alone has a quarter of the file: more came from the others
    assert any(p.bytes_done > len(body) // 2 for p in active)


def read_segments(db_path: Path) -> list[tuple[int, int, int]]:
    conn = sqlite3.connect(db_path, timeout=10)
    try:
        return conn.execute("SELECT start, stop, durable FROM segments ORDER BY start").fetchall()
    finally:
        conn.close()


def held_from(part: bytes, body: bytes, offset: int, stop: int) -> int:
    """Where the right bytes of ``part`` from ``offset`` on end (at most ``stop``)."""
    step = 64 * KiB
    while offset < stop:
        end = min(offset + step, stop)
        if part[offset:end] != body[offset:end]:
            pairs = zip(part[offset:end], body[offset:end], strict=True)
            return offset + next(n for n, (a, b) in enumerate(pairs) if a != b)
        offset = end
    return stop


@pytest.mark.parametrize(
    "scenario", ["same-boot", "same-boot-pumped", "after-a-reboot", "changed-on-the-server"]
)
def test_sigkill_mid_segmented_download_resumes_from_where_the_bytes_end(
    db_path: Path, downloads: Path, http_server: LoopbackServer, scenario: str
) -> None:
    """A real ``drayman run`` killed with SIGKILL while its checkpoints cannot be
    committed (another process holds the database's lock), so the database is
    MiBs behind the file. Restarted on the same boot it asks for each segment
    from where its bytes end (the .part's live record); on another boot (a
    faked boot id) from the fsynced checkpoint. Byte-exact every way, and
    when the file changed on the server meanwhile, the If-Range of the
    resume still finds out: the new file, never a splice."""
    size, block = 32 * MiB, MiB  # block: the default write size, what a note may lag
    body = make_body(size)
    res = http_server.add("/k.bin", body, rate=MiB + MiB // 2)
    url = http_server.url("/k.bin")
    assert run_cli(db_path, "add", url, "-d", str(downloads)).returncode == 0
    env = {"DRAYMAN_BOOT_ID": "test-boot-1", "DRAYMAN_BUSY_TIMEOUT": "0.2"}
    if scenario == "same-boot-pumped":
        # every connection's body moved (and noted) by a pump thread, however slow
        env[PUMP_MIN_SPEED_ENV] = "0"
    part_path = downloads / "k.bin.part"
    proc = start_cli(
        db_path, "run", "--until-idle", "--split", "4", "--checkpoint-every", "0.1", env=env
    )
    try:
        wait_until(
            lambda: (
                (rows := read_segments(db_path)) != []
                and all(durable - start >= MiB for start, _, durable in rows)
            ),
            timeout=60,
            what="a durable MiB in every segment",
        )
        with LockHolder(db_path):  # checkpoints fsync on, but commit nothing
            rows = read_segments(db_path)

            def ahead() -> bool:
                part = part_path.read_bytes()
                return all(
                    held_from(part, body, durable, stop) >= min(durable + 2 * MiB, stop)
                    for _, stop, durable in rows
                )

            wait_until(ahead, timeout=60, what="2 MiB written past every checkpoint")
            proc.kill()  # SIGKILL; on Windows TerminateProcess, as abrupt
            proc.wait(timeout=10)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert read_segments(db_path) == rows  # nothing was committed while locked
    part = part_path.read_bytes()
    assert len(part) == size
    for start, _, durable in rows:
        assert part[start:durable] == body[start:durable]
    durable_bytes = sum(durable - start for start, _, durable in rows)
    assert 0 < durable_bytes < size
    # what the file really holds after each checkpoint: the page cache kept it
    held = {start: held_from(part, body, durable, stop) for start, stop, durable in rows}
    wait_until(lambda: not http_server.in_flight.get("/k.bin"), what="the dead connections")
    sent_before = http_server.bytes_sent["/k.bin"]
    http_server.clear_requests()
    res.rate = 4 * MiB

    old_etag = res.etag
    if scenario == "after-a-reboot":
        env["DRAYMAN_BOOT_ID"] = "test-boot-2"
    if scenario == "changed-on-the-server":
        new_body = make_body(size, seed=7)
        http_server.replace_body("/k.bin", new_body)
    result = run_cli(db_path, "run", "--until-idle", "--split", "4", env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    requests = http_server.requests_for("/k.bin")
    if scenario == "changed-on-the-server":
        assert sha((downloads / "k.bin").read_bytes()) == sha(new_body)
        assert not part_path.exists()
        # the resume asked for the rest of the old file; the server said no
        assert requests[0].headers.get("If-Range") == old_etag
        assert byte_range(requests[0]) is not None
        return
    assert sha((downloads / "k.bin").read_bytes()) == sha(body)
    assert all(r.headers.get("If-Range") == res.etag for r in requests)
    firsts = [first for first, _ in filter(None, map(byte_range, requests))]
    assert len(firsts) == len(requests)  # every request a resume
    unfinished = [(start, stop, durable) for start, stop, durable in rows if durable < stop]
    sent_after = http_server.bytes_sent["/k.bin"] - sent_before
    if scenario.startswith("same-boot"):
        # each segment asked for from where its bytes end (a note lags by a write
        # at most), never from beyond them, never from its checkpoint
        for start, stop, durable in unfinished:
            # (a connection that failed asks again from the same byte: one offset)
            asked = {f for f in firsts if durable <= f <= held[start] and f < stop}
            assert len(asked) <= 1
            if held[start] < stop:  # (a segment the file has whole may not be asked for)
                assert len(asked) == 1
            assert all(first >= held[start] - block > durable for first in asked)
        missing = size - sum(held[start] - start for start, _, _ in rows)
        assert missing <= sent_after <= missing + len(rows) * block
        # about one file crossed the wire in all, though no checkpoint was committed
        assert sent_before + sent_after <= size + 6 * MiB
    else:
        # another boot: the page cache may be gone, only the fsynced bytes count
        assert firsts[0] == unfinished[0][2]
        for _, _, durable in unfinished:
            assert durable in firsts
        assert size - durable_bytes <= sent_after <= size - durable_bytes + 4 * MiB


async def test_segments_download_on_while_the_database_is_locked_and_catch_up(
    db_path: Path,
    downloads: Path,
    http_server: LoopbackServer,
    quick_lock: pytest.LogCaptureFixture,
) -> None:
    """Checkpoints that meet another process's lock fail quietly; nothing is lost or refetched."""
    body = make_body(4 * MiB)
    # two segments of 2 MiB that are never split again; the second one pauses
    # twice (paced, so the first answer is closed at 2 MiB long before 3 MiB)
    http_server.add("/lock.bin", body, rate=4 * MiB, hold_at=[3 * MiB, 3 * MiB + 512 * KiB])
    config = seg_config(split=2, min_segment=1 * MiB)
    async with Engine(db_path, config) as engine:
        [job_id] = await engine.queue.add([http_server.url("/lock.bin")], dest_dir=downloads)
        await async_wait_until(
            held_and_checkpointed(http_server, "/lock.bin", 3 * MiB, db_path, job_id),
            timeout=30,
            what="a first checkpoint",
        )
        async with lock_held(db_path):
            http_server.release_hold("/lock.bin")
            await async_wait_until(
                lambda: (
                    http_server.held_at("/lock.bin") == 3 * MiB + 512 * KiB
                    and logged(quick_lock, "cannot record progress")
                ),
                timeout=30,
                what="a checkpoint to meet the lock",
            )
            # the bytes after the first hold arrived, but none was recorded
            assert job_row(db_path, job_id)["bytes_done"] <= 3 * MiB
            assert engine.active_ids == [job_id]  # the transfer goes on
        await async_wait_until(
            # (a held connection keeps its last, partial block until more comes)
            lambda: job_row(db_path, job_id)["bytes_done"] >= 3 * MiB + 512 * KiB - 64 * KiB,
            timeout=30,
            what="the checkpoints to catch up",
        )
        http_server.release_hold("/lock.bin")
        await asyncio.wait_for(engine.wait_idle(), 60)
        done = await engine.queue.get(job_id)
    assert (done.state, done.attempts, done.error) == (JobState.DONE, 0, None)
    assert sha((downloads / "lock.bin").read_bytes()) == sha(body)
    assert len(http_server.requests_for("/lock.bin")) == 2  # never restarted
    assert logged(quick_lock, "progress recorded again")


async def test_a_lost_database_adopts_only_the_durable_prefix_of_a_segmented_part(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    """The ``.part``'s own record (partrecord.py) can vouch for a prefix only: the
    preallocated file has holes, which a new job must never take for data."""
    from drayman.queue.partrecord import read_record

    body = make_body(3 * MiB)
    res = http_server.add("/adopt.bin", body, rate=1 * MiB)
    url = http_server.url("/adopt.bin")
    async with Engine(db_path, seg_config(split=3)) as engine:
        [job_id] = await engine.queue.add([url], dest_dir=downloads)
        store = engine.queue.store

        async def all_segments_started() -> bool:
            records = await store.segments(job_id)
            return len(records) >= 3 and all(r.durable > r.start for r in records)

        await async_wait_until(all_segments_started, timeout=30, what="durable bytes in each")
        await engine.queue.pause([job_id])
        await async_wait_until(lambda: not engine.active_ids, what="the transfer to stop")
        records = await store.segments(job_id)
    part = downloads / "adopt.bin.part"
    assert part.stat().st_size == len(body)  # preallocated: holes between the segments
    found = read_record(str(part))
    assert found is not None
    prefix = records[0].durable
    assert 0 < prefix < records[0].stop  # the first segment was not finished...
    assert found[0].offset == prefix  # ...so the record claims its durable bytes, no more
    for name in (db_path, Path(f"{db_path}-wal"), Path(f"{db_path}-shm")):
        name.unlink(missing_ok=True)
    http_server.clear_requests()
    res.rate = None
    async with Engine(db_path, seg_config(split=3)) as engine:
        [again] = await engine.queue.add([url], dest_dir=downloads)
        await asyncio.wait_for(engine.wait_idle(), 60)
        done = await engine.queue.get(again)
    assert done.state == JobState.DONE, done.error
    assert done.final_path == str(downloads / "adopt.bin")
    assert sha((downloads / "adopt.bin").read_bytes()) == sha(body)
    assert http_server.requests_for("/adopt.bin")[0].headers["Range"] == f"bytes={prefix}-"


@pytest.mark.parametrize("how", ["deleted", "moved"])
@pytest.mark.usefixtures("both_readers")
async def test_a_folder_gone_under_a_segmented_download_fails_it_and_finishes_nothing(
    db_path: Path, downloads: Path, http_server: LoopbackServer, tmp_path: Path, how: str
) -> None:
    folder = downloads / "sub"
    body = make_body(2 * MiB)
    # the first connection crawls; the second holds half way through its segment
    http_server.add(
        "/gone.bin", body, hook=on_request(0, rate=256 * KiB), hold_at=[MiB + 512 * KiB]
    )
    async with Engine(db_path, seg_config(split=2, min_segment=MiB)) as engine:
        [job_id] = await engine.queue.add([http_server.url("/gone.bin")], dest_dir=folder)
        await async_wait_until(
            held_and_checkpointed(http_server, "/gone.bin", MiB + 512 * KiB, db_path, job_id),
            timeout=30,
            what="both connections running, a checkpoint made",
        )
        if how == "deleted":
            shutil.rmtree(folder)
        else:
            folder.rename(tmp_path / "elsewhere")
        http_server.release_hold("/gone.bin")
        await asyncio.wait_for(engine.wait_idle(), 60)
        job = await engine.queue.get(job_id)
    assert job.state == JobState.FAILED
    assert f"{folder / 'gone.bin.part'} was deleted, moved or replaced" in (job.error or "")
    assert not folder.exists() or sorted(os.listdir(folder)) == []
    if how == "moved":
        assert sorted(os.listdir(tmp_path / "elsewhere")) == ["gone.bin.part"]


async def test_a_segmented_part_replaced_by_another_file_is_left_alone(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    body = make_body(1 * MiB)
    http_server.add("/r.bin", body)
    half = len(body) // 2
    records = [SegmentRecord(0, half, 1000), SegmentRecord(half, len(body), half + 1000)]
    job_id = await seed_segmented_job(db_path, downloads, http_server, "/r.bin", records)
    part = downloads / "r.bin.part"
    part.write_bytes(bytes(len(body)))
    async with await JobStore.open(db_path) as store:
        await store.set_part_identity(job_id, "0:0:-")  # not the file now at that name
    stranger = part.read_bytes()
    async with Engine(db_path, seg_config(split=2)) as engine:
        await asyncio.wait_for(engine.wait_idle(), 60)
        job = await engine.queue.get(job_id)
    assert job.state == JobState.DONE, job.error
    assert part.read_bytes() == stranger  # neither cut nor written to
    assert job.final_path == str(downloads / "r (1).bin")
    assert sha((downloads / "r (1).bin").read_bytes()) == sha(body)
    assert "Range" not in http_server.requests_for("/r.bin")[0].headers


def test_merge_keeps_every_byte_known_written_and_tiles_the_file() -> None:
    from drayman.queue.segments import merge as _merge

    records = [SegmentRecord(0, 100, 30), SegmentRecord(100, 200, 100)]
    records.append(SegmentRecord(200, 300, 250))
    # live ranges reach past the checkpoints, one across a boundary, one in a gap
    merged = _merge(records, [(0, 60), (100, 140), (150, 160), (250, 300)], 300)
    spans = [(s.start, s.end, s.written) for s in merged]
    assert spans == [(0, 100, 60), (100, 150, 140), (150, 200, 160), (200, 300, 300)]
    assert all(s.received == s.written for s in merged)
    # nothing written at the start: the first segment holds nothing
    merged = _merge([SegmentRecord(0, 300, 0)], [(40, 80)], 300)
    assert [(s.start, s.end, s.written) for s in merged] == [(0, 40, 0), (40, 300, 80)]
    merged = _merge(records, [], 300)
    # nothing live: the database's segments as they are (an untouched one too)
    assert [(s.start, s.end, s.written) for s in merged] == [
        (r.start, r.stop, r.durable) for r in records
    ]


def test_work_is_stolen_from_the_slowest_connection_and_only_if_it_needs_long() -> None:
    from drayman.queue.segments import Segment, take_work

    def busy(start: int, end: int, received: int, claimed_at: float) -> Segment:
        segment = Segment(start, end, received, received)
        segment.claim(claimed_at)
        segment.claimed_from = start
        return segment

    # at t=10: one needs 0.05 s for its 2 MiB (40 MiB/s), the other 0.53 s for 1 MiB
    fast, slow = busy(0, 22 * MiB, 20 * MiB, 9.5), busy(22 * MiB, 42 * MiB, 41 * MiB, 0.0)
    segments = [fast, slow]
    assert take_work(segments, 64 * KiB, 10.0, 1.0) == (None, False)
    assert (fast.end, slow.end) == (22 * MiB, 42 * MiB)  # nothing cut
    # with a lower bar the slower one (not the larger rest) gives half of its rest
    stolen, was_stolen = take_work(segments, 64 * KiB, 10.0, 0.4)
    assert was_stolen and stolen is not None
    assert (slow.end, stolen.start, stolen.end) == (41 * MiB + 512 * KiB,) * 2 + (42 * MiB,)
    assert stolen.busy and stolen.claimed_at == 10.0
    # a connection too new to judge is left alone, one that got nothing in a while is not
    new = busy(0, 4 * MiB, 0, 10.0)
    assert take_work([new], 64 * KiB, 10.1, 1.0) == (None, False)
    assert take_work([new], 64 * KiB, 10.3, 1.0)[1]
    # a rest under two pieces is never cut
    assert take_work([busy(0, 100 * KiB, 0, 10.0)], 64 * KiB, 99.0, 1.0) == (None, False)
    # an unclaimed segment is taken first, whatever the others' speed
    free = Segment(5 * MiB, 6 * MiB, 5 * MiB, 5 * MiB)
    assert take_work([new, free], 64 * KiB, 10.1, 1.0) == (free, False)


async def test_a_connection_that_stops_later_still_gets_its_rest_shared(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    """Not worth a steal when the other connection finished, its rest is shared
    once its speed so far says it needs long for it: the download looks again."""
    body = make_body(4 * MiB)
    stall_at = 3 * MiB // 2
    faults = {0: {"stall_after": stall_at}, 1: {"rate": 4 * MiB}}
    http_server.add("/late.bin", body, hook=lambda n, _request: faults.get(n, {}))
    config = seg_config(split=2, read_timeout=4.0, steal_min_seconds=0.8)
    job = await download(db_path, http_server.url("/late.bin"), downloads, config)
    assert job.state == JobState.DONE, job.error
    assert sha((downloads / "late.bin").read_bytes()) == sha(body)
    ranges = [byte_range(r) for r in http_server.requests_for("/late.bin")]
    assert ranges[:2] == [None, (2 * MiB, 4 * MiB - 1)]
    # half of what the stalled connection had left, before its read timeout let it go
    assert (stall_at + MiB // 4, 2 * MiB - 1) in ranges, ranges


def test_checkpoints_are_sparser_where_live_notes_keep_what_a_crash_would_lose() -> None:
    from drayman.queue.transferconfig import checkpoint_step

    config = TransferConfig()
    gib = 1024 * MiB
    # a crash of the process refetches what came since the last checkpoint: 0.5 %
    assert checkpoint_step(config, gib) == gib // 200
    # with live notes only a power cut does: 1/16 of the file
    assert checkpoint_step(config, gib, noted=True) == gib // 16
    # never more than checkpoint_bytes, never less than four blocks
    assert checkpoint_step(config, 64 * gib, noted=True) == config.checkpoint_bytes
    assert checkpoint_step(config, 8 * MiB, noted=True) == 4 * config.block_size
    assert checkpoint_step(config, None) == config.checkpoint_bytes
