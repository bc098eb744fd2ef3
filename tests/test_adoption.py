"""Recovering a lost database: a new job resumes a ``.part`` only when it is provably ours.

Each ``.part`` carries a record (an extended attribute, see
``drayman.queue.partrecord``): the URL and database it belongs to, the
validators, the fsynced offset. A job added again after the database was
lost resumes from it with ``Range`` + ``If-Range``; anything that is not
verifiably the same remote file is left alone and downloaded from byte 0.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import Callable
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import pytest

from conftest import async_wait_until, make_symlink, run_cli, start_cli, wait_until
from dbfaults import fault_config, file_state, held_and_checkpointed, job_row
from drayman.jobs import JobState
from drayman.queue import bootid
from drayman.queue.engine import Engine
from drayman.queue.partrecord import (
    PartRecord,
    database_id,
    read_record,
    remove_record,
    url_id,
    write_record,
)
from httpserver import LoopbackServer, make_body

KiB, MiB = 1024, 1024 * 1024


def record_of(path: Path) -> dict[str, object]:
    """The part file's record, read as drayman reads it on this platform
    (an extended attribute on Linux and macOS, an NTFS stream on Windows)."""
    found = read_record(str(path))
    assert found is not None, f"no record on {path}"
    return asdict(found[0])


def test_whole_recovery_kill_damage_check_fresh_database_and_resume(
    db_path: Path, downloads: Path, http_server: LoopbackServer, tmp_path: Path
) -> None:
    """Download half, SIGKILL, damage the database, follow `drayman check`, resume."""
    size = 8 * MiB
    body = make_body(size)
    resource = http_server.add("/movie.mp4", body, rate=2 * MiB)
    url = http_server.url("/movie.mp4")
    assert run_cli(db_path, "add", url, "-d", str(downloads)).returncode == 0
    engine = start_cli(db_path, "run", "--until-idle", "--checkpoint-every", "0.2")
    part = downloads / "movie.mp4.part"

    def halfway() -> bool:
        found = read_record(str(part))
        return found is not None and found[0].offset >= 2 * MiB

    wait_until(halfway, timeout=30, what="half the file, recorded")
    engine.kill()  # SIGKILL; on Windows TerminateProcess, as abrupt
    engine.wait(timeout=10)
    record = record_of(part)
    offset = int(record["offset"])  # type: ignore[call-overload]
    assert 0 < offset <= part.stat().st_size < size
    assert record["etag"] == resource.etag and record["total"] == size
    assert url not in json.dumps(record)  # only its hash travels with the file

    # the database is damaged (its -wal is still beside it after the kill)
    with open(db_path, "r+b") as handle:
        handle.seek(16)
        handle.write(b"\x07" * 84)
    damaged = file_state(db_path)
    refused = run_cli(db_path, "ls")
    assert refused.returncode == 3 and "check" in refused.stderr
    check = run_cli(db_path, "check")
    assert check.returncode == 3 and "is damaged" in check.stdout
    assert file_state(db_path) == damaged

    # follow its advice: keep the damaged files, start afresh, add the job again
    kept = tmp_path / "kept"
    kept.mkdir()
    moves = [line.split() for line in check.stdout.splitlines() if line.strip().startswith("mv ")]
    assert {Path(source).name for _, source, _ in moves} >= {"jobs.db", "jobs.db-wal"}
    for _, source, target in moves:
        os.rename(source, kept / Path(target).name)
    assert not db_path.exists()
    resource.rate = None
    http_server.clear_requests()
    sent_before = http_server.bytes_sent["/movie.mp4"]
    assert run_cli(db_path, "add", url, "-d", str(downloads)).stdout.split() == ["1"]
    run = run_cli(db_path, "run", "--until-idle")
    assert run.returncode == 0, run.stderr
    assert (downloads / "movie.mp4").read_bytes() == body
    assert sorted(p.name for p in downloads.iterdir()) == ["movie.mp4"]  # no "movie (1).mp4"
    [request] = http_server.requests_for("/movie.mp4")
    assert request.headers["Range"] == f"bytes={offset}-"
    assert request.headers["If-Range"] == resource.etag
    assert http_server.bytes_sent["/movie.mp4"] - sent_before == size - offset
    [done] = json.loads(run_cli(db_path, "ls", "--json").stdout)
    assert (done["state"], done["bytes_done"]) == ("done", size)
    # the damaged database is kept as it was, with its journal
    assert file_state(kept / "jobs.db.damaged")[:2] == damaged[:2]


async def test_the_record_follows_the_durable_offset_and_leaves_with_the_part(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    body = make_body(3 * MiB)
    resource = http_server.add("/r.bin", body, hold_at=[2 * MiB])
    part = downloads / "r.bin.part"
    async with Engine(db_path, fault_config()) as engine:
        [job_id] = await engine.queue.add([http_server.url("/r.bin")], dest_dir=downloads)

        await async_wait_until(
            held_and_checkpointed(http_server, "/r.bin", 2 * MiB, db_path, job_id),
            timeout=30,
            what="checkpoints",
        )
        found = read_record(str(part))
        assert found is not None
        record, part_size = found
        assert record == PartRecord(
            db=database_id(db_path),
            url=url_id(http_server.url("/r.bin")),
            etag=resource.etag,
            last_modified=resource.last_modified,
            total=len(body),
            offset=record.offset,
        )
        # never above what is on disk; at least what the database says is
        assert job_row(db_path, job_id)["bytes_done"] <= record.offset <= part_size
        http_server.release_hold("/r.bin")
        await asyncio.wait_for(engine.wait_idle(), 30)
    final = downloads / "r.bin"
    assert final.read_bytes() == body
    assert read_record(str(final)) is None  # the finished file keeps no record


def test_a_record_is_written_as_its_fields_in_order_and_reads_back_the_same() -> None:
    plain = PartRecord(db="d", url="u", etag='"e"', last_modified=None, total=9, offset=4)
    live = replace(plain, boot="b", written=((4, 6), (7, 9)))
    # the format on disk: the version, then every field in its order (the
    # live part only when there is one), as earlier versions wrote it
    for record in (plain, live):
        fields = asdict(record)
        if record.boot is None:
            del fields["boot"], fields["written"]
        expected = json.dumps({"v": 1, **fields}, separators=(",", ":")).encode()
        assert record.encode() == expected
        assert PartRecord.decode(record.encode()) == record


# -- adoption: only verifiably the same remote file, only a file that is ours --------


def _plant(
    db_path: Path,
    downloads: Path,
    url: str,
    body: bytes,
    offset: int,
    *,
    etag: str | None,
    last_modified: str | None,
    name: str = "clip.bin",
) -> Path:
    """A ``.part`` as an earlier database left it: bytes past the offset, and its record."""
    part = downloads / f"{name}.part"
    part.write_bytes(body[: offset + 5000])
    assert write_record(
        str(part),
        PartRecord(
            db=database_id(db_path),
            url=url_id(url),
            etag=etag,
            last_modified=last_modified,
            total=len(body),
            offset=offset,
        ),
    )
    return part


async def _download(db_path: Path, downloads: Path, url: str) -> None:
    async with Engine(db_path, fault_config()) as engine:
        [job_id] = await engine.queue.add([url], dest_dir=downloads)
        await asyncio.wait_for(engine.wait_idle(), 30)
        assert (await engine.queue.get(job_id)).state == JobState.DONE


async def test_a_part_of_the_same_file_is_adopted_with_its_etag(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    body = make_body(2 * MiB)
    resource = http_server.add("/clip.bin", body)
    url = http_server.url("/clip.bin")
    _plant(db_path, downloads, url, body, MiB, etag=resource.etag, last_modified=None)
    await _download(db_path, downloads, url)
    assert (downloads / "clip.bin").read_bytes() == body
    assert sorted(p.name for p in downloads.iterdir()) == ["clip.bin"]
    [request] = http_server.requests_for("/clip.bin")
    assert (request.headers["Range"], request.headers["If-Range"]) == (
        f"bytes={MiB}-",
        resource.etag,
    )


async def test_a_part_is_adopted_with_last_modified_when_the_etag_is_weak(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    body = make_body(2 * MiB)
    resource = http_server.add("/clip.bin", body, etag='W/"weak"')
    url = http_server.url("/clip.bin")
    weak, date = 'W/"weak"', resource.last_modified
    _plant(db_path, downloads, url, body, MiB, etag=weak, last_modified=date)
    await _download(db_path, downloads, url)
    assert (downloads / "clip.bin").read_bytes() == body
    [request] = http_server.requests_for("/clip.bin")
    assert request.headers["If-Range"] == resource.last_modified


async def test_a_part_named_by_content_disposition_is_adopted_after_the_first_answer(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    body = make_body(2 * MiB)
    resource = http_server.add(
        "/v/8431", body, content_disposition='attachment; filename="Episode 1.mp4"'
    )
    url = http_server.url("/v/8431")
    name = "Episode 1.mp4"
    _plant(db_path, downloads, url, body, MiB, etag=resource.etag, last_modified=None, name=name)
    await _download(db_path, downloads, url)
    assert sorted(p.name for p in downloads.iterdir()) == ["Episode 1.mp4"]
    assert (downloads / "Episode 1.mp4").read_bytes() == body
    first, second = http_server.requests_for("/v/8431")
    assert "Range" not in first.headers  # its answer named the file
    assert (second.headers["Range"], second.headers["If-Range"]) == (f"bytes={MiB}-", resource.etag)


async def test_a_changed_remote_file_is_downloaded_again_never_spliced(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    old, new = make_body(2 * MiB, seed=1), make_body(2 * MiB, seed=2)
    http_server.add("/clip.bin", new)
    url = http_server.url("/clip.bin")
    _plant(db_path, downloads, url, old, MiB, etag='"old-version"', last_modified=None)
    await _download(db_path, downloads, url)
    assert (downloads / "clip.bin").read_bytes() == new
    [request] = http_server.requests_for("/clip.bin")
    assert request.headers["If-Range"] == '"old-version"'  # the server answered 200: all of it


def _no_record(db: Path, part: Path, url: str) -> None:
    remove_record(str(part))  # another program's file at our name
    assert read_record(str(part)) is None


def _rewrite_record(part: Path, **changes: Any) -> None:
    """The ``.part``'s record written again with ``changes`` (and no live part)."""
    found = read_record(str(part))
    assert found is not None
    assert write_record(str(part), replace(found[0], boot=None, written=(), **changes))


def _other_database(db: Path, part: Path, url: str) -> None:
    _rewrite_record(part, db=database_id(db.parent / "other.db"))


def _other_url(db: Path, part: Path, url: str) -> None:
    _rewrite_record(part, url=url_id(url + "?v=2"))


def _no_validator(db: Path, part: Path, url: str) -> None:
    _rewrite_record(part, etag='W/"weak"', last_modified=None)


def _shorter_than_recorded(db: Path, part: Path, url: str) -> None:
    os.truncate(part, 1000)  # something else changed it


def _symlink(db: Path, part: Path, url: str) -> None:
    target = db.parent / "elsewhere.bin"
    os.replace(part, target)  # keeps its record
    make_symlink(part, target)


def _hard_link(db: Path, part: Path, url: str) -> None:
    os.link(part, db.parent / "second-name.bin")


def _another_user(db: Path, part: Path, url: str) -> None:
    os.chown(part, 65534, 65534)


@pytest.mark.parametrize(
    "spoil",
    [
        _no_record,
        _other_database,
        _other_url,
        _no_validator,
        _shorter_than_recorded,
        _symlink,
        _hard_link,
        pytest.param(
            _another_user,
            marks=pytest.mark.skipif(
                not hasattr(os, "geteuid") or os.geteuid() != 0,
                reason="giving a file to another user needs root (and POSIX owners)",
            ),
        ),
    ],
    ids=lambda f: f.__name__.strip("_"),
)
async def test_a_part_that_is_not_provably_ours_is_left_alone(
    db_path: Path,
    downloads: Path,
    http_server: LoopbackServer,
    spoil: Callable[[Path, Path, str], None],
) -> None:
    db_path.parent.mkdir(parents=True)
    body = make_body(2 * MiB)
    resource = http_server.add("/clip.bin", body)
    url = http_server.url("/clip.bin")
    part = _plant(db_path, downloads, url, body, MiB, etag=resource.etag, last_modified=None)
    spoil(db_path, part, url)
    real = part.resolve()
    before = real.read_bytes()
    await _download(db_path, downloads, url)
    # a new name, the whole file from byte 0; the other file untouched
    assert (downloads / "clip (1).bin").read_bytes() == body
    assert not (downloads / "clip.bin").exists()
    [request] = http_server.requests_for("/clip.bin")
    assert "Range" not in request.headers
    assert real.read_bytes() == before


# -- the live part: ranges written, not fsynced, believed on the same boot only ------


def test_a_live_part_is_kept_beside_the_offset_and_believed_on_its_boot_only(
    downloads: Path,
) -> None:
    part = downloads / "live.bin.part"
    part.write_bytes(b"x" * 4096)
    record = PartRecord(
        db="d",
        url="u",
        etag='"e"',
        last_modified=None,
        total=4096,
        offset=1024,
        boot="boot-1",
        written=((0, 2048), (3000, 3500)),
    )
    assert write_record(str(part), record)
    found = read_record(str(part))
    assert found is not None and found[0] == record
    assert found[0].live_ranges("boot-1") == ((0, 2048), (3000, 3500))
    assert found[0].live_ranges("boot-2") == ()  # after a reboot: not a byte of it
    assert found[0].live_ranges(None) == ()  # a platform that cannot tell: likewise
    # a record written without it (a single stream's, a restart's) drops it
    assert write_record(str(part), replace(record, boot=None, written=()))
    found = read_record(str(part))
    assert found is not None and found[0].written == () and found[0].boot is None


@pytest.mark.parametrize(
    "written",
    [[[5, 5]], [[-1, 10]], [[0, 5000]], [[0, 1.5]], [[True, 10]], [[0]], "0-10", [[0, "9"]]],
)
def test_a_live_part_that_is_not_sound_makes_the_record_worthless(
    downloads: Path, written: object
) -> None:
    raw = {
        "v": 1,
        "db": "d",
        "url": "u",
        "etag": '"e"',
        "last_modified": None,
        "total": 4096,
        "offset": 0,
        "boot": "b",
        "written": written,
    }
    assert PartRecord.decode(json.dumps(raw).encode()) is None


def test_boot_id_is_the_kernels_and_a_test_may_fake_another(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bootid.boot_id.cache_clear()
    monkeypatch.delenv(bootid.BOOT_ID_ENV, raising=False)
    try:
        found = bootid.boot_id()
        if sys.platform.startswith("linux"):
            kernel = Path("/proc/sys/kernel/random/boot_id").read_text().strip()
            assert found == f"linux:{kernel}"
        elif sys.platform in ("darwin", "win32"):
            assert found
        bootid.boot_id.cache_clear()
        monkeypatch.setenv(bootid.BOOT_ID_ENV, "another-boot")
        assert bootid.boot_id() == "another-boot"
    finally:
        bootid.boot_id.cache_clear()
