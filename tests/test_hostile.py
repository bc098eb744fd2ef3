"""Hostile and broken servers, injected for real on loopback (issue 6).

aiohttp.web cannot misbehave enough for most of these, so they use raw socket
servers (``RawServer``): bytes past the Content-Length, a 10 MB header line,
a body or headers dripped a byte at a time. Each test checks that nothing was
lost or written wrong, and that the job's error is one plain line.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from pathlib import Path

import pytest

from conftest import async_wait_until
from drayman.jobs import Job, JobState
from drayman.queue.engine import Engine, EngineConfig
from drayman.queue.retry import RetryPolicy
from httpserver import LoopbackServer, RawConnection, RawServer, make_body, response_head
from test_engine import download, fast_config

KiB, MiB = 1024, 1024 * 1024
ETAG = '"v1"'


def config(*, attempts: int = 5, backoff: float = 0.01, **transfer: object) -> EngineConfig:
    base = fast_config(**transfer)
    return replace(
        base, retry=RetryPolicy(base_delay=backoff, max_delay=backoff, max_attempts=attempts)
    )


def assert_one_line(job: Job, *words: str) -> None:
    error = job.error or ""
    assert error and "\n" not in error and len(error) < 300, error
    for word in words:
        assert word in error, error


def head(length: int | None, *, status: int = 200, **extra: str) -> bytes:
    headers = {"ETag": ETAG, "Content-Type": "application/octet-stream"}
    if length is not None:
        headers["Content-Length"] = str(length)
    headers.update({k.replace("_", "-"): v for k, v in extra.items()})
    return response_head(status, headers)


async def fail_once(db_path: Path, url: str, folder: Path, cfg: EngineConfig) -> Job:
    """Run one job until its first attempt failed (a long backoff keeps it queued)."""
    cfg = replace(cfg, retry=RetryPolicy(base_delay=60, max_delay=60, max_attempts=5))
    async with Engine(db_path, cfg) as engine:
        [job_id] = await engine.queue.add([url], dest_dir=folder)

        async def failed() -> bool:
            job = await engine.queue.get(job_id)
            return job.error is not None and job.state in (JobState.QUEUED, JobState.FAILED)

        await async_wait_until(failed, timeout=30, what="the first attempt to fail")
        return await engine.queue.get(job_id)


# -- 1. a body that goes on past its Content-Length --------------------------------------

BODY = make_body(1 * MiB, seed=7)
#: a fake second answer, to be taken for the next request's if the connection were reused
GARBAGE = b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nEVIL!" + b"\xff" * 60_000


def endless_after(body: bytes):
    """Answer every request whole; on /endless keep sending after the body, forever."""

    async def handler(conn: RawConnection) -> None:
        while (request := await conn.read_request()) is not None:
            if request.path == "/endless":
                # the body's last bytes and the garbage in one write: one read on loopback
                await conn.send(head(len(body)) + body[:-100])
                await conn.send(body[-100:] + GARBAGE)
                while True:
                    await conn.send(b"\xff" * 65536)
            await conn.send(head(len(body)) + body)

    return handler


async def test_bytes_past_the_content_length_are_never_written_nor_read_as_an_answer(
    db_path: Path, downloads: Path
) -> None:
    with RawServer(endless_after(BODY)) as server:
        cfg = replace(config(), concurrency=1, per_host=1)
        jobs = await download(
            db_path, [server.url("/endless"), server.url("/next")], downloads, cfg
        )
        for job in jobs:
            assert job.state == JobState.DONE, job.error
            assert Path(job.final_path or "").read_bytes() == BODY  # not one byte more
            assert job.bytes_total == len(BODY) and job.attempts == 0
        assert sorted(p.name for p in downloads.iterdir()) == ["endless", "next"]
        [endless] = server.requests_for("/endless")
        [following] = server.requests_for("/next")
        # the connection that carried garbage was not used for the next job
        assert following.connection != endless.connection


async def test_a_small_answer_glued_to_garbage_fails_cleanly(
    db_path: Path, downloads: Path
) -> None:
    """Head, body and garbage in one read: aiohttp's parser rejects the whole read,
    the answer included. Retried, then failed with one line; nothing written."""

    async def glued(conn: RawConnection) -> None:
        while await conn.read_request() is not None:
            # about 1 KB in one write: one TCP segment, one read on loopback
            await conn.send(head(4) + b"tiny" + GARBAGE[:1000])
            while True:
                await conn.send(b"\xff" * 65536)

    with RawServer(glued) as server:
        [job] = await download(db_path, [server.url("/endless")], downloads, config(attempts=2))
        assert len(server.requests_for("/endless")) == 2
    assert job.state == JobState.FAILED
    assert_one_line(job, "not valid HTTP: it does not start like an HTTP answer")
    assert list(downloads.iterdir()) == []


async def test_garbage_on_a_reused_connection_costs_one_retry_and_nothing_else(
    db_path: Path, downloads: Path
) -> None:
    """The garbage comes only once the next request is on the kept-alive connection:
    no client can see it coming. The victim's attempt fails as "not valid HTTP"
    (transient), and the retry on a fresh connection gets the file."""

    async def poisoned_keepalive(conn: RawConnection) -> None:
        while (request := await conn.read_request()) is not None:
            if conn.number == 1 and request.path == "/victim":
                await conn.send(b"\x00\x01 not http at all\r\n\r\n" + b"\xff" * 4096)
                await conn.server.until_released()
            await conn.send(head(len(BODY)) + BODY)

    with RawServer(poisoned_keepalive) as server:
        cfg = replace(config(), concurrency=1, per_host=1)
        first, victim = await download(
            db_path, [server.url("/first"), server.url("/victim")], downloads, cfg
        )
        assert first.state == victim.state == JobState.DONE, (first.error, victim.error)
        assert (downloads / "victim").read_bytes() == BODY
        assert [r.connection for r in server.requests_for("/first")] == [1]
        # the one on connection 1 was answered with garbage; the retry came on a new one
        reused, retried = server.requests_for("/victim")
        assert reused.connection == 1 and retried.connection > 1


async def test_a_partial_answer_longer_than_its_range_writes_nothing_past_the_total(
    db_path: Path, downloads: Path
) -> None:
    """A chunked 206 that carries more than Content-Range says: the chunk that
    would cross the total is refused, the part file never grows past it."""
    body = make_body(256 * KiB, seed=3)
    attempts: list[str] = []

    async def overlong_range(conn: RawConnection) -> None:
        while (request := await conn.read_request()) is not None:
            attempts.append(request.headers.get("Range", ""))
            if len(attempts) == 1:  # the first answer stalls half way (read timeout)
                await conn.send(head(len(body)) + body[: 100 * KiB])
                await conn.server.until_released()
            start = int(request.headers["Range"].removeprefix("bytes=").rstrip("-"))
            rest = body[start:] + b"EXTRA" * 1000
            chunks = b"".join(
                b"%x\r\n%s\r\n" % (len(rest[i : i + 8192]), rest[i : i + 8192])
                for i in range(0, len(rest), 8192)
            )
            await conn.send(
                head(
                    None,
                    status=206,
                    Content_Range=f"bytes {start}-{len(body) - 1}/{len(body)}",
                    Transfer_Encoding="chunked",
                )
                + chunks
                + b"0\r\n\r\n"
            )

    with RawServer(overlong_range) as server:
        cfg = config(attempts=2, read_timeout=0.5)
        [job] = await download(db_path, [server.url("/r.bin")], downloads, cfg)
        part = downloads / "r.bin.part"
        assert job.state == JobState.FAILED  # the server always sends too much
        assert_one_line(job, "sent more bytes than it announced")
        assert job.bytes_done <= len(body)
        assert part.read_bytes() == body[: job.bytes_done]
        assert len(attempts) >= 2 and attempts[1].startswith("bytes=")


async def test_a_partial_answer_whose_length_contradicts_its_range_is_not_spliced(
    db_path: Path, downloads: Path
) -> None:
    body = make_body(256 * KiB, seed=4)
    seen: list[str] = []

    async def lying_length(conn: RawConnection) -> None:
        while (request := await conn.read_request()) is not None:
            seen.append(request.headers.get("Range", ""))
            if len(seen) == 1:  # the first answer stalls half way (read timeout)
                await conn.send(head(len(body)) + body[: 100 * KiB])
                await conn.server.until_released()
            if "Range" in request.headers and len(seen) == 2:
                start = int(request.headers["Range"].removeprefix("bytes=").rstrip("-"))
                wrong = body[start:] + b"!" * 999
                await conn.send(
                    head(
                        len(wrong),
                        status=206,
                        Content_Range=f"bytes {start}-{len(body) - 1}/{len(body)}",
                    )
                    + wrong
                )
                return
            await conn.send(head(len(body)) + body)

    with RawServer(lying_length) as server:
        cfg = config(read_timeout=0.5)
        [job] = await download(db_path, [server.url("/l.bin")], downloads, cfg)
        assert job.state == JobState.DONE, job.error
        assert (downloads / "l.bin").read_bytes() == body
        # the contradictory 206 was refused: the next request started over
        assert seen[1].startswith("bytes=") and seen[2] == ""


# -- 2. a 10 MB header line, and other answers that are not HTTP -----------------------

HUGE = 10 * 1024 * 1024

MALFORMED = {
    "header": b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * HUGE + b"\r\nContent-Length: 3\r\n\r\nabc",
    "status": b"HTTP/1.1 200 " + b"O" * HUGE + b"\r\nContent-Length: 3\r\n\r\nabc",
    "garbage": b"\x00\x01\x02 binary junk\r\n\r\n" + b"\xfe" * 1000,
    "headers": b"HTTP/1.1 200 OK\r\n"
    + b"".join(b"X-%d: y\r\n" % n for n in range(100_000))
    + b"Content-Length: 3\r\n\r\nabc",
}


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("header", "a header line is too long (more than 8190 bytes)"),
        ("status", "a header line is too long"),
        ("garbage", "it does not start like an HTTP answer"),
        ("headers", "Too many headers received"),
    ],
)
async def test_a_malformed_answer_is_one_plain_line_and_the_engine_goes_on(
    db_path: Path, downloads: Path, http_server: LoopbackServer, case: str, reason: str
) -> None:
    async def broken(conn: RawConnection) -> None:
        if await conn.read_request() is not None:
            await conn.send(MALFORMED[case])
            await conn.server.until_released()

    good = make_body(300 * KiB)
    http_server.add("/good.bin", good)
    with RawServer(broken) as server:
        cfg = config(attempts=1)
        async with Engine(db_path, cfg) as engine:
            bad_id, good_id = await engine.queue.add(
                [server.url("/bad.bin"), http_server.url("/good.bin")], dest_dir=downloads
            )
            await asyncio.wait_for(engine.wait_idle(), 60)
            bad, done = await engine.queue.get(bad_id), await engine.queue.get(good_id)
            # the engine survived: it still takes and finishes new work
            http_server.add("/after.bin", b"still here")
            [after_id] = await engine.queue.add([http_server.url("/after.bin")], dest_dir=downloads)
            await asyncio.wait_for(engine.wait_idle(), 60)
            after = await engine.queue.get(after_id)
    assert bad.state == JobState.FAILED
    assert_one_line(bad, "the server's answer is not valid HTTP", reason)
    assert "aaaa" not in (bad.error or "") and "OOOO" not in (bad.error or "")
    assert bad.bytes_total is None and bad.file_name is None
    assert done.state == after.state == JobState.DONE, (done.error, after.error)
    assert (downloads / "good.bin").read_bytes() == good
    assert sorted(p.name for p in downloads.iterdir()) == ["after.bin", "good.bin"]


# -- 3. absurd lengths -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "words"),
    [
        (10**18, ["not enough free space", "needed"]),
        (2**63 - 1, ["not enough free space"]),
        (2**63, ["bad Content-Length", "too large"]),
        (2**64, ["not valid HTTP", "Content-Length overflow"]),
        (10**30, ["not valid HTTP", "Content-Length overflow"]),
    ],
)
async def test_an_absurd_content_length_is_refused_before_anything_is_written(
    db_path: Path, downloads: Path, length: int, words: list[str]
) -> None:
    async def absurd(conn: RawConnection) -> None:
        if await conn.read_request() is not None:
            await conn.send(head(length) + b"x" * 100_000)
            await conn.server.until_released()

    with RawServer(absurd) as server:
        [job] = await download(
            db_path, [server.url("/big.iso")], downloads / "sub" / "dir", config(attempts=1)
        )
    assert job.state == JobState.FAILED
    assert_one_line(job, *words)
    # nothing reserved or created: no name, no folder, no .part; a size the
    # parser took is kept, so the list shows what was refused (not "size ?")
    assert job.file_name is None and job.bytes_done == 0
    assert job.bytes_total == (length if length < 2**63 else None)
    assert list(downloads.iterdir()) == []


# -- 4. dripping servers ---------------------------------------------------------------


def dripping(body: bytes, *, honest_after: int | None = None, gap: float = 0.02):
    """Send the head and then one byte per ``gap`` seconds, forever (or until the
    client leaves); requests after the first ``honest_after`` get the rest at once."""
    served = 0

    async def handler(conn: RawConnection) -> None:
        nonlocal served
        while (request := await conn.read_request()) is not None:
            served += 1
            start = 0
            if "Range" in request.headers:
                start = int(request.headers["Range"].removeprefix("bytes=").rstrip("-"))
            rest = body[start:]
            if start:
                extra = {"Content_Range": f"bytes {start}-{len(body) - 1}/{len(body)}"}
                await conn.send(head(len(rest), status=206, **extra))
            else:
                await conn.send(head(len(body)))
            if honest_after is not None and served > honest_after:
                await conn.send(rest)
                continue
            for byte in rest:
                await conn.send(bytes([byte]))
                await asyncio.sleep(gap)
            return

    return handler


async def test_a_server_dripping_its_body_trips_the_minimum_speed(
    db_path: Path, downloads: Path
) -> None:
    body = make_body(64 * KiB)
    with RawServer(dripping(body)) as server:
        cfg = config(read_timeout=30, min_speed=1024, min_speed_time=0.5)
        job = await fail_once(db_path, server.url("/drip.bin"), downloads, cfg)
    assert job.state == JobState.QUEUED  # transient: retried later
    assert_one_line(job, "too slow:", "B/s for", "the minimum is 1.0 KiB/s")
    part = downloads / "drip.bin.part"
    # what was received is kept, and is the file's beginning
    assert part.read_bytes()[: job.bytes_done] == body[: job.bytes_done]


async def test_after_a_drip_the_download_resumes_on_a_new_connection(
    db_path: Path, downloads: Path
) -> None:
    body = make_body(64 * KiB, seed=9)
    with RawServer(dripping(body, honest_after=1)) as server:
        cfg = config(read_timeout=30, min_speed=1024, min_speed_time=0.5)
        [job] = await download(db_path, [server.url("/d.bin")], downloads, cfg)
        assert job.state == JobState.DONE, job.error
        assert (downloads / "d.bin").read_bytes() == body
        first, second = server.requests
        assert second.connection != first.connection
        assert second.headers.get("If-Range") == ETAG  # resumed, not restarted


async def test_a_server_that_drips_on_every_attempt_fails_the_job_in_the_end(
    db_path: Path, downloads: Path
) -> None:
    """Each attempt brings a few bytes, which used to count as progress and reset
    the attempts: the job retried forever. Slow attempts count; the bytes stay."""
    body = make_body(64 * KiB, seed=4)
    with RawServer(dripping(body)) as server:
        cfg = config(attempts=3, read_timeout=30, min_speed=1024, min_speed_time=0.3)
        [job] = await download(db_path, [server.url("/forever.bin")], downloads, cfg)
        assert len(server.requests) == 3
    assert job.state == JobState.FAILED
    assert_one_line(job, "too slow:", "gave up after 3 attempts")
    assert job.bytes_done > 0  # kept for a later retry
    part = downloads / "forever.bin.part"
    assert part.read_bytes()[: job.bytes_done] == body[: job.bytes_done]


async def test_a_server_dripping_its_headers_is_cut_off(db_path: Path, downloads: Path) -> None:
    """Each byte resets the read timeout; the deadline for the whole head does not reset."""

    async def drip_head(conn: RawConnection) -> None:
        if await conn.read_request() is not None:
            await conn.send(b"HTTP/1.1 200 OK\r\n")
            while True:
                await conn.send(b"X")
                await asyncio.sleep(0.02)

    with RawServer(drip_head) as server:
        cfg = config(read_timeout=0.5, connect_timeout=0.5)
        job = await fail_once(db_path, server.url("/h"), downloads, cfg)
    assert job.state == JobState.QUEUED
    assert_one_line(job, "did not finish its headers within 1 s")


async def test_our_own_speed_limit_does_not_count_as_a_slow_server(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    """Held to 512 KiB/s by --max-speed, under a 2 MiB/s minimum: never "too slow".

    A fast server and a big enough file that the socket is read many times,
    each read after a limiter sleep far longer than the 0.2 s period.
    """
    body = make_body(1 * MiB)
    http_server.add("/limited.bin", body)
    cfg = replace(config(min_speed=2 * MiB, min_speed_time=0.2), max_speed=512 * KiB)
    [job] = await download(db_path, [http_server.url("/limited.bin")], downloads, cfg)
    assert job.state == JobState.DONE, job.error
    assert job.attempts == 0
    assert len(http_server.requests_for("/limited.bin")) == 1
    assert (downloads / "limited.bin").read_bytes() == body


# -- 5. endless redirects ----------------------------------------------------------------


async def test_thousands_of_redirects_stop_at_the_limit(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    for n in range(5000):  # each to a new URL: no loop to detect
        http_server.add(f"/hop/{n}", redirect_to=f"/hop/{n + 1}?n={n + 1}")
    [job] = await download(db_path, [http_server.url("/hop/0")], downloads, config())
    assert job.state == JobState.FAILED
    assert job.attempts == 1  # permanent: not retried
    assert_one_line(job, "too many redirects (more than 10)")
    assert len(http_server.requests) == 11
    assert list(downloads.iterdir()) == []


# -- the command line --------------------------------------------------------------------


def test_run_help_explains_the_new_flags_and_bad_values_are_one_line(db_path: Path) -> None:
    from conftest import run_cli

    helped = run_cli(db_path, "run", "--help")
    assert helped.returncode == 0
    text = " ".join(helped.stdout.split())
    for words in (
        "--min-speed RATE",
        "--min-speed-time SECONDS",
        "default 1k; 0 = never",
        "does not count",
        "--ca-file PEM",
    ):
        assert words in text, text
    for bad in (["--min-speed", "fast"], ["--min-speed-time", "0"], ["--min-speed-time", "x"]):
        result = run_cli(db_path, "run", "--until-idle", *bad)
        assert result.returncode == 2
        [line] = result.stderr.splitlines()
        assert line.startswith("drayman: error: argument --min-speed"), line
    assert not db_path.exists()
