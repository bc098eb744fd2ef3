"""The engine against real loopback servers: resume, validators, faults, retries."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from dataclasses import replace
from pathlib import Path

import pytest

from conftest import async_wait_until, make_symlink
from drayman.errors import PermanentError
from drayman.jobs import Job, JobState
from drayman.queue.engine import Engine, EngineConfig
from drayman.queue.retry import RetryPolicy
from drayman.queue.transferconfig import TransferConfig
from drayman.storage import JobStore
from httpserver import LoopbackServer, make_body

KiB, MiB = 1024, 1024 * 1024
#: bodies at least this large are moved by a pump thread (both_readers runs a test both ways)
PUMP_MIN_SIZE = TransferConfig().pump_min_size


def fast_config(**transfer: object) -> EngineConfig:
    """Short delays so retries happen at once; small blocks so faults land mid-file."""
    options: dict[str, object] = {
        "read_timeout": 5.0,
        "checkpoint_seconds": 0.05,
        "block_size": 64 * KiB,
        "pump_min_size": PUMP_MIN_SIZE,
        "pump_min_speed": 0,
    }
    options.update(transfer)
    return EngineConfig(
        concurrency=4,
        per_host=4,
        retry=RetryPolicy(base_delay=0.01, max_delay=0.05, max_attempts=5),
        transfer=TransferConfig(**options),  # type: ignore[arg-type]
        poll_interval=0.05,
        progress_interval=0.05,
    )


async def download(
    db_path: Path,
    urls: list[str],
    folder: Path,
    config: EngineConfig | None = None,
    **add: object,
) -> list[Job]:
    async with Engine(db_path, config or fast_config()) as engine:
        ids = await engine.queue.add(urls, dest_dir=folder, **add)  # type: ignore[arg-type]
        await asyncio.wait_for(engine.wait_idle(), 30)
        return [await engine.queue.get(job_id) for job_id in ids]


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def only_file(folder: Path) -> Path:
    files = sorted(folder.iterdir())
    assert len(files) == 1, files
    return files[0]


@pytest.mark.usefixtures("both_readers")
async def test_downloads_a_file_byte_exact(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    body = make_body(3 * MiB + 17)
    http_server.add("/files/video.mp4", body)
    [job] = await download(db_path, [http_server.url("/files/video.mp4")], downloads)
    assert job.state == JobState.DONE, job.error
    assert job.final_path == str(downloads / "video.mp4")
    assert (downloads / "video.mp4").read_bytes() == body
    assert (job.bytes_done, job.bytes_total) == (len(body), len(body))
    assert not list(downloads.glob("*.part"))
    [request] = http_server.requests_for("/files/video.mp4")
    assert request.headers["Accept-Encoding"] == "identity"
    assert "Range" not in request.headers


@pytest.mark.usefixtures("both_readers")
async def test_reset_mid_file_resumes_with_range_and_if_range(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    body = make_body(4 * MiB)
    res = http_server.add("/a.bin", body, reset_after=1 * MiB + 5, fault_times=1)
    [job] = await download(db_path, [http_server.url("/a.bin")], downloads)
    assert job.state == JobState.DONE, job.error
    assert sha((downloads / "a.bin").read_bytes()) == sha(body)
    first, second = http_server.requests_for("/a.bin")
    assert "Range" not in first.headers
    start = int(second.headers["Range"].removeprefix("bytes=").removesuffix("-"))
    assert 0 < start <= 1 * MiB + 5
    assert second.headers["Range"] == f"bytes={start}-"
    assert second.headers["If-Range"] == res.etag
    # resumed, not restarted: about one file's worth crossed the wire
    assert http_server.bytes_sent["/a.bin"] <= len(body) + 1 * MiB + 5


async def test_resume_uses_last_modified_when_there_is_no_strong_etag(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    body = make_body(2 * MiB)
    res = http_server.add("/weak.bin", body, etag='W/"weak"', reset_after=700 * KiB, fault_times=1)
    [job] = await download(db_path, [http_server.url("/weak.bin")], downloads)
    assert job.state == JobState.DONE, job.error
    assert (downloads / "weak.bin").read_bytes() == body
    second = http_server.requests_for("/weak.bin")[1]
    assert second.headers["If-Range"] == res.last_modified


async def test_no_validator_means_no_resume(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    body = make_body(2 * MiB)
    http_server.add("/nv.bin", body, etag=None, last_modified=None, reset_after=MiB, fault_times=1)
    [job] = await download(db_path, [http_server.url("/nv.bin")], downloads)
    assert job.state == JobState.DONE, job.error
    assert (downloads / "nv.bin").read_bytes() == body
    assert all("Range" not in r.headers for r in http_server.requests_for("/nv.bin"))


async def interrupted_download(
    db_path: Path, downloads: Path, server: LoopbackServer, path: str
) -> Job:
    """Run until the first attempt failed mid-file, then stop the engine."""
    # a long backoff: the job stays queued (with its error) until the test sees it
    config = replace(fast_config(), retry=RetryPolicy(base_delay=60, max_delay=60))
    async with Engine(db_path, config) as engine:
        [job_id] = await engine.queue.add([server.url(path)], dest_dir=downloads)
        engine.set_concurrency(1)

        async def failed_once() -> bool:
            job = await engine.queue.get(job_id)
            return job.state == JobState.QUEUED and job.error is not None

        await async_wait_until(failed_once, what="the first attempt to fail")
        await engine.queue.pause([job_id])
        job = await engine.queue.get(job_id)
    assert 0 < job.bytes_done < (job.bytes_total or 0)
    return job


@pytest.mark.usefixtures("both_readers")
async def test_changed_remote_file_restarts_instead_of_splicing(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    old, new = make_body(2 * MiB, seed=1), make_body(2 * MiB, seed=2)
    res = http_server.add("/c.bin", old, reset_after=MiB, fault_times=1)
    old_etag = res.etag
    job = await interrupted_download(db_path, downloads, http_server, "/c.bin")
    http_server.replace_body("/c.bin", new)
    async with Engine(db_path, fast_config()) as engine:
        await engine.queue.resume([job.id])
        await asyncio.wait_for(engine.wait_idle(), 30)
        done = await engine.queue.get(job.id)
    assert done.state == JobState.DONE, done.error
    assert (downloads / "c.bin").read_bytes() == new
    last = http_server.requests_for("/c.bin")[-1]
    assert last.headers["If-Range"] == old_etag  # asked for the old version...
    assert done.etag != old_etag  # ...got the new one whole, recorded its validator


@pytest.mark.usefixtures("both_readers")
async def test_server_ignoring_range_restarts_from_zero(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    body = make_body(2 * MiB)
    res = http_server.add("/ir.bin", body, reset_after=MiB, fault_times=1)
    job = await interrupted_download(db_path, downloads, http_server, "/ir.bin")
    res.ignore_range = True
    async with Engine(db_path, fast_config()) as engine:
        await engine.queue.resume([job.id])
        await asyncio.wait_for(engine.wait_idle(), 30)
        done = await engine.queue.get(job.id)
    assert done.state == JobState.DONE, done.error
    assert (downloads / "ir.bin").read_bytes() == body
    assert http_server.requests_for("/ir.bin")[-1].headers["Range"] == f"bytes={job.bytes_done}-"


@pytest.mark.usefixtures("both_readers")
async def test_wrong_content_range_start_is_not_spliced(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    body = make_body(2 * MiB)
    res = http_server.add("/w.bin", body, reset_after=MiB, fault_times=1)
    job = await interrupted_download(db_path, downloads, http_server, "/w.bin")
    res.reset_after, res.fault_times, res.range_start_shift = None, None, 1000
    async with Engine(db_path, fast_config()) as engine:
        await engine.queue.resume([job.id])
        await asyncio.wait_for(engine.wait_idle(), 30)
        done = await engine.queue.get(job.id)
    assert done.state == JobState.DONE, done.error
    assert (downloads / "w.bin").read_bytes() == body
    requests = http_server.requests_for("/w.bin")
    assert "Range" in requests[-2].headers and "Range" not in requests[-1].headers


async def seed_interrupted_job(
    db_path: Path,
    folder: Path,
    server: LoopbackServer,
    path: str,
    *,
    name: str,
    bytes_done: int,
    sha256: str | None = None,
    running: bool = False,
) -> int:
    """A job as a crash left it: name fixed, validators known, ``bytes_done`` durable."""
    from drayman.jobs import NewJob

    res = server.resources[path]
    async with await JobStore.open(db_path) as store:
        new = NewJob(url=server.url(path), dest_dir=str(folder), sha256=sha256)
        [job_id] = await store.add([new])
        await store.set_name(job_id, name)
        await store.record_remote(
            job_id,
            etag=res.etag,
            last_modified=res.last_modified,
            bytes_total=len(res.wire_body),
            effective_url=None,
            bytes_done=bytes_done,
        )
        if running:
            await store.claim(job_id)
    return job_id


async def test_416_with_whole_file_on_disk_finishes(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    body = make_body(MiB)
    http_server.add("/whole.bin", body)
    # a crash after the last byte was checkpointed but before the rename
    job_id = await seed_interrupted_job(
        db_path, downloads, http_server, "/whole.bin", name="whole.bin", bytes_done=len(body)
    )
    (downloads / "whole.bin.part").write_bytes(body)
    async with Engine(db_path, fast_config()) as engine:
        await asyncio.wait_for(engine.wait_idle(), 30)
        job = await engine.queue.get(job_id)
    assert job.state == JobState.DONE, job.error
    assert (downloads / "whole.bin").read_bytes() == body
    [request] = http_server.requests_for("/whole.bin")
    assert request.headers["Range"] == f"bytes={len(body)}-"


async def test_part_file_longer_than_offset_is_cut_back(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    body = make_body(2 * MiB)
    http_server.add("/cut.bin", body)
    job_id = await seed_interrupted_job(
        db_path, downloads, http_server, "/cut.bin", name="cut.bin", bytes_done=MiB
    )
    # bytes written after the last checkpoint, and garbage: must be cut off
    (downloads / "cut.bin.part").write_bytes(body[:MiB] + b"\0" * 300 * KiB)
    async with Engine(db_path, fast_config()) as engine:
        await asyncio.wait_for(engine.wait_idle(), 30)
        job = await engine.queue.get(job_id)
    assert job.state == JobState.DONE, job.error
    assert (downloads / "cut.bin").read_bytes() == body
    [request] = http_server.requests_for("/cut.bin")
    assert request.headers["Range"] == f"bytes={MiB}-"


@pytest.mark.parametrize("retry_after", ["120", "date"])
async def test_503_with_retry_after_waits_as_told(
    db_path: Path, downloads: Path, http_server: LoopbackServer, retry_after: str
) -> None:
    from email.utils import formatdate

    value = retry_after if retry_after != "date" else formatdate(time.time() + 120, usegmt=True)
    http_server.add("/busy.bin", b"x" * 100, status_script=[(503, {"Retry-After": value})])
    async with Engine(db_path, fast_config()) as engine:
        [job_id] = await engine.queue.add([http_server.url("/busy.bin")], dest_dir=downloads)
        started = time.time()

        async def requeued() -> bool:
            job = await engine.queue.get(job_id)
            return job.state == JobState.QUEUED and job.next_attempt_at is not None

        await async_wait_until(requeued, what="the job to be queued for later")
        job = await engine.queue.get(job_id)
    assert job.next_attempt_at is not None
    assert 117 <= job.next_attempt_at - started <= 122
    assert job.attempts == 1
    assert job.error is not None and "503" in job.error
    assert len(http_server.requests_for("/busy.bin")) == 1


async def test_429_then_success_retries(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    http_server.add("/r.bin", b"payload", status_script=[(429, {"Retry-After": "0"}), (500, {})])
    [job] = await download(db_path, [http_server.url("/r.bin")], downloads)
    assert job.state == JobState.DONE, job.error
    assert (downloads / "r.bin").read_bytes() == b"payload"
    assert len(http_server.requests_for("/r.bin")) == 3


async def test_404_fails_permanently_with_one_line(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    [job] = await download(db_path, [http_server.url("/missing")], downloads)
    assert job.state == JobState.FAILED
    assert job.error is not None and "404" in job.error and "\n" not in job.error
    assert len(http_server.requests_for("/missing")) == 1
    assert list(downloads.iterdir()) == []


async def test_attempts_are_exhausted_on_a_dead_server(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    http_server.add("/dead", b"x", status_script=[(500, {})] * 10)
    [job] = await download(db_path, [http_server.url("/dead")], downloads)
    assert job.state == JobState.FAILED
    assert job.attempts == 5
    assert "gave up after 5 attempts" in (job.error or "")


async def test_redirect_loop_and_too_many_redirects_fail(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    http_server.add("/loop1", b"", redirect_to="/loop2")
    http_server.add("/loop2", b"", redirect_to="/loop1")
    for n in range(15):
        http_server.add(f"/hop{n}", b"", redirect_to=f"/hop{n + 1}")
    http_server.add("/hop15", b"end")
    loop, chain = await download(
        db_path, [http_server.url("/loop1"), http_server.url("/hop0")], downloads
    )
    assert loop.state == JobState.FAILED and "redirect loop" in (loop.error or "")
    assert chain.state == JobState.FAILED and "too many redirects" in (chain.error or "")


async def test_credentials_never_follow_a_cross_origin_redirect(
    db_path: Path,
    downloads: Path,
    http_server: LoopbackServer,
    other_server: LoopbackServer,
) -> None:
    body = make_body(10 * KiB)
    other_server.add("/real.bin", body)
    http_server.add("/go", b"", redirect_to=other_server.url("/real.bin"))
    [job] = await download(
        db_path,
        [http_server.url("/go")],
        downloads,
        headers=["Authorization: Bearer s3cret", "Cookie: session=abc", "Referer: http://x/"],
    )
    assert job.state == JobState.DONE, job.error
    assert (downloads / "real.bin").read_bytes() == body
    [at_origin] = http_server.requests_for("/go")
    [elsewhere] = other_server.requests_for("/real.bin")
    assert at_origin.headers["Authorization"] == "Bearer s3cret"
    assert at_origin.headers["Cookie"] == "session=abc"
    assert "Authorization" not in elsewhere.headers
    assert "Cookie" not in elsewhere.headers
    assert elsewhere.headers["Referer"] == "http://x/"


@pytest.mark.parametrize(
    ("disposition", "expected"),
    [
        ('attachment; filename="../../evil.sh"', "evil.sh"),
        ('attachment; filename="CON.txt"', "_CON.txt"),
        (
            "attachment; filename*=UTF-8''na%C3%AFve%20caf%C3%A9.txt; filename=\"x.txt\"",
            "naïve café.txt",
        ),
        ('attachment; filename="..\\\\..\\\\win.ini"', "win.ini"),
    ],
)
async def test_hostile_content_disposition_stays_in_folder(
    db_path: Path,
    downloads: Path,
    http_server: LoopbackServer,
    disposition: str,
    expected: str,
) -> None:
    http_server.add("/dl", b"data", content_disposition=disposition)
    [job] = await download(db_path, [http_server.url("/dl")], downloads)
    assert job.state == JobState.DONE, job.error
    assert [p.name for p in downloads.iterdir()] == [expected]
    assert Path(job.final_path or "").parent == downloads
    assert sorted(p.name for p in downloads.parent.iterdir()) == ["downloads", "state"]


async def test_chunked_response_without_length(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    body = make_body(MiB + 3)
    http_server.add("/chunked", body, chunked=True)
    [job] = await download(db_path, [http_server.url("/chunked")], downloads)
    assert job.state == JobState.DONE, job.error
    assert (downloads / "chunked").read_bytes() == body
    assert job.bytes_total == len(body)


@pytest.mark.usefixtures("both_readers")
async def test_gzip_encoded_response_is_saved_as_sent(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    body = b"hello world " * 10_000
    res = http_server.add("/page.txt.gz", body, gzip=True)
    [job] = await download(db_path, [http_server.url("/page.txt.gz")], downloads)
    assert job.state == JobState.DONE, job.error
    assert (downloads / "page.txt.gz").read_bytes() == res.wire_body


@pytest.mark.usefixtures("both_readers")
async def test_short_body_is_never_done(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    body = make_body(MiB)
    http_server.add("/short", body, lie_length=1000, fault_times=2)
    [job] = await download(db_path, [http_server.url("/short")], downloads)
    # the third answer is honest; the two liars were retried, not accepted
    assert job.state == JobState.DONE, job.error
    assert (downloads / "short").read_bytes() == body
    assert len(http_server.requests_for("/short")) >= 3


@pytest.mark.usefixtures("both_readers")
async def test_stalled_connection_is_a_transient_failure(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    body = make_body(512 * KiB)
    http_server.add("/stall", body, stall_after=100 * KiB, fault_times=1)
    [job] = await download(
        db_path, [http_server.url("/stall")], downloads, fast_config(read_timeout=0.5)
    )
    assert job.state == JobState.DONE, job.error
    assert (downloads / "stall").read_bytes() == body
    assert job.attempts == 1  # the stalled attempt counted, then progress reset nothing more
    second = http_server.requests_for("/stall")[1]
    assert second.headers["Range"].startswith("bytes=")


@pytest.mark.usefixtures("both_readers")
async def test_checksum_mismatch_fails_and_match_succeeds(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    body = make_body(100 * KiB)
    http_server.add("/good", body)
    http_server.add("/bad", body)
    [good] = await download(db_path, [http_server.url("/good")], downloads, sha256=sha(body))
    [bad] = await download(db_path, [http_server.url("/bad")], downloads, sha256="0" * 64)
    assert good.state == JobState.DONE, good.error
    assert bad.state == JobState.FAILED
    assert "checksum mismatch" in (bad.error or "")
    assert not (downloads / "bad").exists()


async def test_existing_files_and_other_jobs_are_never_overwritten(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    (downloads / "same.txt").write_bytes(b"precious")
    http_server.add("/same.txt", b"one")
    http_server.add("/b/same.txt", b"two")
    jobs = await download(
        db_path, [http_server.url("/same.txt"), http_server.url("/b/same.txt")], downloads
    )
    assert all(job.state == JobState.DONE for job in jobs)
    assert (downloads / "same.txt").read_bytes() == b"precious"
    names = sorted(Path(job.final_path or "").name for job in jobs)
    assert names == ["same (1).txt", "same (2).txt"]
    contents = {Path(job.final_path or "").read_bytes() for job in jobs}
    assert contents == {b"one", b"two"}


async def test_a_file_that_takes_the_name_while_the_server_answers_is_never_overwritten(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    # the free name is looked up before the request (with the adoption's look):
    # a file or a .part put there before the answer still keeps its bytes
    def appear(index: int, request: object) -> None:
        (downloads / "late.txt").write_bytes(b"precious")
        (downloads / "late (1).txt.part").write_bytes(b"another download's")

    http_server.add("/late.txt", b"ours", hook=appear)
    [job] = await download(db_path, [http_server.url("/late.txt")], downloads)
    assert job.state == JobState.DONE, job.error
    assert (downloads / "late.txt").read_bytes() == b"precious"
    assert (downloads / "late (1).txt.part").read_bytes() == b"another download's"
    assert job.final_path == str(downloads / "late (2).txt")
    assert (downloads / "late (2).txt").read_bytes() == b"ours"
    assert sorted(p.name for p in downloads.iterdir()) == [
        "late (1).txt.part",
        "late (2).txt",
        "late.txt",
    ]


@pytest.mark.usefixtures("both_readers")
async def test_a_small_file_cut_short_leaves_no_part_and_lands_on_the_retry(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    # a file of one block is created with its bytes, in one call: an answer
    # cut short before its end wrote nothing, and the retry lands it whole
    body = make_body(40 * KiB, seed=31)
    http_server.add("/cut.bin", body, reset_after=10 * KiB, fault_times=1)
    [job] = await download(db_path, [http_server.url("/cut.bin")], downloads)
    assert job.state == JobState.DONE, job.error
    assert (downloads / "cut.bin").read_bytes() == body
    assert sorted(p.name for p in downloads.iterdir()) == ["cut.bin"]
    assert job.attempts == 1
    assert len(http_server.requests_for("/cut.bin")) == 2


async def test_a_slow_small_file_gets_its_part_and_checkpoints_before_its_end(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    # a small file still checkpoints by the clock: its .part is made then
    body = make_body(40 * KiB, seed=32)
    http_server.add("/slow-small.bin", body, rate=20 * KiB)
    config = fast_config(block_size=64 * KiB)  # the whole file is one block
    part = downloads / "slow-small.bin.part"
    async with Engine(db_path, config) as engine:
        [job_id] = await engine.queue.add([http_server.url("/slow-small.bin")], dest_dir=downloads)

        async def checkpointed() -> bool:
            return 0 < (await engine.queue.get(job_id)).bytes_done < len(body)

        await async_wait_until(checkpointed, what="a checkpoint before the end")
        done = (await engine.queue.get(job_id)).bytes_done
        assert part.read_bytes()[:done] == body[:done]  # never more claimed than written
        await asyncio.wait_for(engine.wait_idle(), 30)
        job = await engine.queue.get(job_id)
    assert job.state == JobState.DONE, job.error
    assert (downloads / "slow-small.bin").read_bytes() == body
    assert not part.exists()


async def test_pause_stops_the_transfer_and_resume_continues(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    body = make_body(4 * MiB)
    res = http_server.add("/slow.bin", body, rate=2 * MiB)
    async with Engine(db_path, fast_config()) as engine:
        [job_id] = await engine.queue.add([http_server.url("/slow.bin")], dest_dir=downloads)

        async def some_bytes_saved() -> bool:
            return (await engine.queue.get(job_id)).bytes_done > 256 * KiB

        await async_wait_until(some_bytes_saved, what="a checkpoint")
        await engine.queue.pause([job_id])
        await async_wait_until(lambda: not engine.active_ids, what="the transfer to stop")
        paused = await engine.queue.get(job_id)
        assert paused.state == JobState.PAUSED
        part = downloads / "slow.bin.part"
        assert part.stat().st_size == paused.bytes_done
        assert part.read_bytes() == body[: paused.bytes_done]
        res.rate = None
        await engine.queue.resume([job_id])
        await asyncio.wait_for(engine.wait_idle(), 30)
        done = await engine.queue.get(job_id)
    assert done.state == JobState.DONE, done.error
    assert (downloads / "slow.bin").read_bytes() == body
    assert (
        http_server.requests_for("/slow.bin")[-1].headers["Range"] == f"bytes={paused.bytes_done}-"
    )


async def test_concurrency_and_per_host_limits(
    db_path: Path, downloads: Path, http_server: LoopbackServer, other_server: LoopbackServer
) -> None:
    for n in range(6):
        http_server.add(f"/f{n}", make_body(256 * KiB, seed=n), rate=1 * MiB)
        other_server.add(f"/g{n}", make_body(256 * KiB, seed=10 + n), rate=1 * MiB)
    config = EngineConfig(
        concurrency=3,
        per_host=2,
        poll_interval=0.05,
        progress_interval=0.05,
        transfer=TransferConfig(checkpoint_seconds=0.05, block_size=64 * KiB),
    )
    peak_total, peak_host = 0, 0
    async with Engine(db_path, config) as engine:
        urls = [http_server.url(f"/f{n}") for n in range(6)] + [
            other_server.url(f"/g{n}") for n in range(6)
        ]
        ids = await engine.queue.add(urls, dest_dir=downloads)
        idle = asyncio.create_task(engine.wait_idle())
        while not idle.done():
            active = engine.active_ids
            peak_total = max(peak_total, len(active))
            first_host = sum(1 for i in active if i <= ids[5])
            peak_host = max(peak_host, first_host, len(active) - first_host)
            await asyncio.sleep(0.01)
        jobs = [await engine.queue.get(i) for i in ids]
    assert all(job.state == JobState.DONE for job in jobs)
    assert peak_total == 3
    assert peak_host == 2


async def test_a_host_at_its_limit_does_not_hold_back_the_next_host(
    db_path: Path, downloads: Path, http_server: LoopbackServer, other_server: LoopbackServer
) -> None:
    # the queue's head is all one host: the free slots still go to the other
    for n in range(8):
        http_server.add(f"/a{n}", make_body(256 * KiB, seed=n), rate=256 * KiB)
    for n in range(4):
        other_server.add(f"/b{n}", make_body(256 * KiB, seed=20 + n), rate=256 * KiB)
    from drayman.jobs import NewJob

    async with await JobStore.open(db_path) as store:
        first = await store.add(
            [NewJob(http_server.url(f"/a{n}"), str(downloads)) for n in range(8)]
        )
        await store.add([NewJob(other_server.url(f"/b{n}"), str(downloads)) for n in range(4)])
    config = EngineConfig(concurrency=4, per_host=2, poll_interval=0.05, progress_interval=0.05)
    async with Engine(db_path, config) as engine:
        # the first reconciliation fills all four slots, two per host
        await async_wait_until(lambda: len(engine.active_ids) == 4, what="four transfers")
        active = engine.active_ids
        # ...before any transfer ended (each takes a second at 256 KiB/s)
        finished = (await engine.queue.counts())[JobState.DONE]
        await engine.queue.pause_all()
    assert finished == 0
    assert sum(1 for job_id in active if job_id in first) == 2


async def test_five_hundred_small_files_all_land_byte_exact(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    bodies = {f"/s{n:03d}.bin": make_body(1 + (n * 997) % (48 * KiB), seed=n) for n in range(500)}
    for path, body in bodies.items():
        http_server.add(path, body)
    config = replace(fast_config(), concurrency=16, per_host=16)
    async with Engine(db_path, config) as engine:
        ids = await engine.queue.add([http_server.url(path) for path in bodies], dest_dir=downloads)
        await asyncio.wait_for(engine.wait_idle(), 120)
        jobs = [await engine.queue.get(job_id) for job_id in ids]
    for job, body in zip(jobs, bodies.values(), strict=True):
        assert job.state == JobState.DONE, (job.id, job.error)
        assert job.final_path is not None and job.bytes_done == len(body)
        assert Path(job.final_path).read_bytes() == body
    assert sorted(os.listdir(downloads)) == sorted(path[1:] for path in bodies)


@pytest.mark.usefixtures("both_readers")
async def test_progress_is_published_coalesced(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    body = make_body(2 * MiB)
    http_server.add("/p.bin", body, rate=4 * MiB)
    snapshots = []
    config = fast_config()
    async with Engine(db_path, config) as engine:
        engine.subscribe(snapshots.append)
        [job_id] = await engine.queue.add([http_server.url("/p.bin")], dest_dir=downloads)
        started = time.monotonic()
        await asyncio.wait_for(engine.wait_idle(), 30)
        elapsed = time.monotonic() - started
    active = [p for s in snapshots for p in s.active if p.job_id == job_id]
    assert active and max(p.bytes_done for p in active) <= len(body)
    assert any(p.speed > 0 for p in active)
    changes = [c.state for s in snapshots for c in s.changes if c.job_id == job_id]
    assert changes == [JobState.RUNNING, JobState.DONE]
    # a few per second, not one per chunk (2 MiB arrive in hundreds of chunks)
    assert len(snapshots) <= elapsed / config.progress_interval + 3


async def test_second_engine_is_refused(db_path: Path) -> None:
    from drayman.errors import EngineAlreadyRunning

    async with Engine(db_path, fast_config()):
        with pytest.raises(EngineAlreadyRunning, match=f"pid {os.getpid()}"):
            await Engine(db_path, fast_config()).start()
    # released on stop: a new engine starts
    async with Engine(db_path, fast_config()) as engine:
        assert engine.active_ids == []


@pytest.mark.parametrize("step", ["linked", "renamed"])
async def test_crash_during_the_final_rename_ends_done_without_refetching(
    db_path: Path, downloads: Path, http_server: LoopbackServer, step: str
) -> None:
    """A crash after the last checkpoint, between link(part, final) and "done"."""
    body = make_body(300 * KiB)
    http_server.add("/fin.bin", body)
    # it was running when the process died
    job_id = await seed_interrupted_job(
        db_path,
        downloads,
        http_server,
        "/fin.bin",
        name="fin.bin",
        bytes_done=len(body),
        sha256=sha(body),
        running=True,
    )
    (downloads / "fin.bin").write_bytes(body)
    if step == "linked":  # both names on one inode: the unlink of .part did not happen
        os.link(downloads / "fin.bin", downloads / "fin.bin.part")
    async with Engine(db_path, fast_config()) as engine:
        await asyncio.wait_for(engine.wait_idle(), 30)
        job = await engine.queue.get(job_id)
    assert job.state == JobState.DONE, job.error
    assert sorted(p.name for p in downloads.iterdir()) == ["fin.bin"]
    assert (downloads / "fin.bin").read_bytes() == body
    assert http_server.requests_for("/fin.bin") == []


async def test_a_symlink_planted_at_the_part_path_is_not_followed(
    db_path: Path, downloads: Path, http_server: LoopbackServer, tmp_path: Path
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"do not touch")
    body = make_body(2 * MiB)
    res = http_server.add("/sym.bin", body, reset_after=MiB, fault_times=1)
    job = await interrupted_download(db_path, downloads, http_server, "/sym.bin")
    assert res.served == 1
    (downloads / "sym.bin.part").unlink()
    make_symlink(downloads / "sym.bin.part", victim)
    async with Engine(db_path, fast_config()) as engine:
        await engine.queue.resume([job.id])
        await asyncio.wait_for(engine.wait_idle(), 30)
        failed = await engine.queue.get(job.id)
    assert failed.state == JobState.FAILED
    assert "symbolic link" in (failed.error or "")
    assert victim.read_bytes() == b"do not touch"


async def test_without_o_nofollow_a_symlinked_part_is_still_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Windows has no O_NOFOLLOW: there the part file is checked before and after
    opening (found by looking at what the symlink test above would do there)."""
    from drayman.queue import partfile

    monkeypatch.setattr(partfile, "_NOFOLLOW", 0)
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"do not touch")
    make_symlink(tmp_path / "x.part", victim)
    for create in (False, True):
        with pytest.raises(PermanentError, match="symbolic link"):
            await partfile.PartFile.open(str(tmp_path / "x.part"), 5, create=create, want_hash=True)
    assert victim.read_bytes() == b"do not touch"
    # a plain file still opens, cut back to the offset
    (tmp_path / "plain.part").write_bytes(b"0123456789")
    part = await partfile.PartFile.open(
        str(tmp_path / "plain.part"), 4, create=False, want_hash=False
    )
    part.close()
    assert (tmp_path / "plain.part").read_bytes() == b"0123"


async def test_limits_written_by_another_connection_apply_to_a_running_engine(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    from drayman.queue.jobqueue import JobQueue

    http_server.add("/lim.bin", make_body(4 * MiB), rate=1 * MiB)
    async with Engine(db_path, fast_config()) as engine:
        [job_id] = await engine.queue.add([http_server.url("/lim.bin")], dest_dir=downloads)
        await async_wait_until(lambda: job_id in engine.active_ids, what="running")
        other = await JobQueue.open(db_path)  # like `drayman limit` in another terminal
        try:
            await other.set_speed_limit(300 * 1024)
            await other.set_job_speed_limit([job_id], 100 * 1024)
        finally:
            await other.close()
        await async_wait_until(lambda: engine.max_speed == 300 * 1024, what="global limit")
        await async_wait_until(
            lambda: engine.job_speed_limit(job_id) == 100 * 1024, what="job limit"
        )
        await engine.queue.pause([job_id])


async def test_a_file_being_made_durable_gives_its_slot_to_the_next_download(
    db_path: Path, downloads: Path, http_server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With -j 1, the next download starts while the last one's file is fsynced,
    linked and recorded: that holds no connection. At most as many again
    finish at once: with two files held in their finish, the third waits."""
    import threading

    from drayman.queue import landing

    held = threading.Event()
    placing: list[str] = []
    real_place = landing._place

    def slow_place(part: object, part_path: str, final: str, folder: object) -> None:
        placing.append(final)  # on the blocking lane: a slow disk, held until told
        held.wait(30)
        real_place(part, part_path, final, folder)  # type: ignore[arg-type]

    monkeypatch.setattr(landing, "_place", slow_place)
    bodies = {f"/p{n}.bin": make_body(40 * KiB, seed=n) for n in range(3)}
    for path, body in bodies.items():
        http_server.add(path, body)
    config = replace(fast_config(), concurrency=1, per_host=1)
    try:
        async with Engine(db_path, config) as engine:
            ids = await engine.queue.add(
                [http_server.url(path) for path in bodies], dest_dir=downloads
            )
            await async_wait_until(lambda: len(placing) == 2, what="two files in their finish")
            first, second, third = [await engine.queue.get(i) for i in ids]
            assert first.state == second.state == JobState.RUNNING  # not done until durable
            assert third.state == JobState.QUEUED
            assert engine.active_ids == []  # neither holds a slot...
            assert http_server.requests_for("/p2.bin") == []  # ...but two finish at most
            held.set()
            await asyncio.wait_for(engine.wait_idle(), 30)
            jobs = [await engine.queue.get(i) for i in ids]
    finally:
        held.set()
    assert [job.state for job in jobs] == [JobState.DONE] * 3
    for path, body in bodies.items():
        assert (downloads / path.lstrip("/")).read_bytes() == body
