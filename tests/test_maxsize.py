"""--max-filesize: a file larger than the cap fails its job, and nothing of it is kept.

The cap comes from the job (add --max-filesize), the run (run --max-filesize)
or a host rule (rules add --max-filesize); the tightest one holds. A
Content-Length (or a 206's total) over it is refused before anything is
written; a file without a length is cut off as it passes the cap, its
``.part`` removed.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

from conftest import run_cli
from drayman.errors import InvalidSize
from drayman.jobs import Job, JobState
from drayman.queue.engine import Engine
from drayman.units import parse_size
from httpserver import LoopbackServer, make_body
from test_disk import paused_midway
from test_engine import fast_config

KiB, MiB = 1024, 1024 * 1024


async def download(
    db_path: Path, url: str, folder: Path, cap: int | None = None, **add: object
) -> Job:
    async with Engine(db_path, fast_config(max_filesize=cap)) as engine:
        [job_id] = await engine.queue.add([url], dest_dir=folder, **add)  # type: ignore[arg-type]
        await asyncio.wait_for(engine.wait_idle(), 30)
        return await engine.queue.get(job_id)


def refused(job: Job, limit: str) -> None:
    assert job.state == JobState.FAILED
    assert job.error is not None and "\n" not in job.error
    assert f"larger than the size limit (max-filesize {limit})" in job.error
    assert job.bytes_done == 0


@pytest.mark.parametrize(
    ("text", "size"),
    [
        ("1", 1),
        ("500k", 500 * KiB),
        ("1.5M", 3 * MiB // 2),
        ("2G", 2 * 1024 * MiB),
        ("3MiB", 3 * MiB),
    ],
)
def test_sizes_read_like_rates(text: str, size: int) -> None:
    assert parse_size(text) == size


@pytest.mark.parametrize("text", ["", "0", "abc", "-1", "5T", "1M/s", "9" * 30])
def test_a_bad_size_is_refused(text: str) -> None:
    with pytest.raises(InvalidSize):
        parse_size(text)


async def test_a_content_length_over_the_run_cap_is_refused_before_anything_is_written(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    http_server.add("/big.bin", make_body(3 * MiB))
    job = await download(db_path, http_server.url("/big.bin"), downloads, cap=2 * MiB)
    refused(job, "2.0 MiB")
    assert "3.0 MiB" in (job.error or "")
    assert list(downloads.iterdir()) == []


async def test_a_file_without_a_length_is_cut_off_at_the_cap_and_its_part_removed(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    http_server.add("/stream.bin", make_body(3 * MiB), chunked=True, rate=4 * MiB)
    job = await download(db_path, http_server.url("/stream.bin"), downloads, max_filesize=1 * MiB)
    refused(job, "1.0 MiB")
    assert "over 1.0 MiB without a length" in (job.error or "")
    assert list(downloads.iterdir()) == []
    # and it was cut off: not the whole body went over
    assert http_server.bytes_sent["/stream.bin"] < 3 * MiB


async def test_a_file_at_the_cap_downloads(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    body = make_body(1 * MiB)
    http_server.add("/exact.bin", body)
    http_server.add("/exact-stream.bin", body, chunked=True)
    for name in ("exact.bin", "exact-stream.bin"):
        job = await download(db_path, http_server.url("/" + name), downloads, max_filesize=MiB)
        assert job.state == JobState.DONE, job.error
        assert (downloads / name).read_bytes() == body


async def test_a_cap_set_after_a_pause_fails_the_resume_and_removes_the_part(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    body = make_body(2 * MiB)
    job = await paused_midway(db_path, downloads, http_server, "/half.bin", body)
    assert (downloads / "half.bin.part").exists()
    async with Engine(db_path, fast_config(max_filesize=MiB)) as engine:
        await engine.queue.resume([job.id])
        await asyncio.wait_for(engine.wait_idle(), 30)
        job = await engine.queue.get(job.id)
    refused(job, "1.0 MiB")
    assert list(downloads.iterdir()) == []


async def test_a_host_rule_caps_its_hosts_only_and_the_tightest_cap_wins(
    db_path: Path, downloads: Path, http_server: LoopbackServer, other_server: LoopbackServer
) -> None:
    body = make_body(2 * MiB)
    http_server.add("/a.bin", body)
    other_server.add("/b.bin", body)
    async with Engine(db_path, fast_config(max_filesize=4 * MiB)) as engine:
        await engine.queue.add_rule(http_server.url_host, max_filesize=MiB + 1)
        [capped] = await engine.queue.add([http_server.url("/a.bin")], dest_dir=downloads)
        [free] = await engine.queue.add([other_server.url("/b.bin")], dest_dir=downloads)
        await asyncio.wait_for(engine.wait_idle(), 30)
        capped_job, free_job = await engine.queue.get(capped), await engine.queue.get(free)
    refused(capped_job, "1.0 MiB")
    assert free_job.state == JobState.DONE, free_job.error
    assert sorted(p.name for p in downloads.iterdir()) == ["b.bin"]


def test_cli_max_filesize_on_add_run_and_rules(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    http_server.add("/one.bin", make_body(3 * MiB))
    http_server.add("/two.bin", make_body(3 * MiB))
    url_one, url_two = http_server.url("/one.bin"), http_server.url("/two.bin")

    bad = run_cli(db_path, "add", url_one, "-d", str(downloads), "--max-filesize", "lots")
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1
    assert "not a size" in bad.stderr
    assert run_cli(db_path, "run", "--until-idle", "--max-filesize", "0").returncode == 2

    added = run_cli(db_path, "add", url_one, "-d", str(downloads), "--max-filesize", "2M")
    assert added.returncode == 0, added.stderr
    assert run_cli(db_path, "run", "--until-idle").returncode == 1
    assert run_cli(db_path, "add", url_two, "-d", str(downloads)).returncode == 0
    assert run_cli(db_path, "run", "--until-idle", "--max-filesize", "1.5M").returncode == 1
    rows = json.loads(run_cli(db_path, "ls", "--json").stdout)
    assert [r["max_filesize"] for r in rows] == [2 * MiB, None]
    assert [r["state"] for r in rows] == ["failed", "failed"]
    assert "(max-filesize 2.0 MiB): 3.0 MiB" in rows[0]["error"]
    assert "(max-filesize 1.5 MiB): 3.0 MiB" in rows[1]["error"]
    assert list(downloads.iterdir()) == []

    # without a cap a retry downloads it
    assert run_cli(db_path, "retry", str(rows[1]["id"])).returncode == 0
    run_cli(db_path, "run", "--until-idle")  # (exit 1: job 1 is still failed)
    rows = json.loads(run_cli(db_path, "ls", "--json").stdout)
    assert [r["state"] for r in rows] == ["failed", "done"]
    assert sorted(p.name for p in downloads.iterdir()) == ["two.bin"]

    rule = run_cli(db_path, "rules", "add", "127.0.0.1", "--max-filesize", "1k")
    assert rule.returncode == 0, rule.stderr
    [shown] = json.loads(run_cli(db_path, "rules", "ls", "--json").stdout)
    assert shown["max_filesize"] == 1024
    assert "max_filesize=1024" in run_cli(db_path, "rules", "ls").stdout
