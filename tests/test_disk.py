"""Disk faults, injected for real: full, read-only, vanished and unplugged
file systems, a .part changed behind our back, links planted to lead writes
out of the folder, file systems without hard links, and a SIGKILL at every
step of the finish. Each test asserts that nothing was lost."""

from __future__ import annotations

import asyncio
import errno
import hashlib
import json
import os
import shutil
import sqlite3
import warnings
from pathlib import Path

import pytest

from conftest import DIR_FD, KILLED, async_wait_until, make_symlink, run_cli
from dbfaults import fill_disk
from drayman.batch import Entry
from drayman.jobs import Job, JobState
from drayman.queue.engine import Engine
from filesystems import Mounts
from httpserver import LoopbackServer, make_body
from test_engine import fast_config, seed_interrupted_job

KiB, MiB = 1024, 1024 * 1024


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def files_in(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


async def wait_held(server: LoopbackServer, *paths: str) -> None:
    await async_wait_until(
        lambda: all(server.held_at(p) is not None for p in paths),
        timeout=30,
        what=f"the server to hold {paths}",
    )


async def wait_checkpoint(engine: Engine, job_id: int) -> None:
    """Until some bytes of the job are durable (so its .part is open and written)."""

    async def checkpointed() -> bool:
        return (await engine.queue.get(job_id)).bytes_done > 0

    await async_wait_until(checkpointed, what=f"a first checkpoint of job {job_id}")


def release(server: LoopbackServer, *paths: str) -> None:
    for path in paths:
        server.release_hold(path)


async def run_until_idle(engine: Engine) -> None:
    await asyncio.wait_for(engine.wait_idle(), 60)


def ls(db_path: Path) -> list[dict[str, object]]:
    result = run_cli(db_path, "ls", "--json")
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


async def paused_midway(
    db_path: Path, folder: Path, server: LoopbackServer, path: str, body: bytes
) -> Job:
    """Download ``path`` until the server holds half way, then pause: a job with
    its name, validators, .part identity and tail digest recorded by a real run."""
    server.add(path, body, hold_at=[len(body) // 2])
    async with Engine(db_path, fast_config()) as engine:
        [job_id] = await engine.queue.add([server.url(path)], dest_dir=folder)
        await wait_held(server, path)

        await wait_checkpoint(engine, job_id)
        # the pause checkpoints everything written so far
        await engine.queue.pause([job_id])
        await async_wait_until(lambda: not engine.active_ids, what="the transfer to stop")
        job = await engine.queue.get(job_id)
    release(server, path)
    assert job.state == JobState.PAUSED and job.part_identity and job.part_tail
    assert 0 < job.bytes_done <= len(body) // 2
    return job


async def resume(db_path: Path, job_id: int) -> Job:
    async with Engine(db_path, fast_config()) as engine:
        await engine.queue.resume([job_id])
        await run_until_idle(engine)
        return await engine.queue.get(job_id)


# -- 1. the disk fills up ----------------------------------------------------------------


async def test_disk_full_fails_the_job_keeps_durable_bytes_and_resumes_after_freeing(
    db_path: Path, downloads: Path, http_server: LoopbackServer, mounts: Mounts
) -> None:
    small = mounts.tmpfs("small", 4 * MiB)
    body, other = make_body(3 * MiB, seed=1), make_body(2 * MiB, seed=2)
    http_server.add("/big.bin", body, hold_at=[MiB])
    http_server.add("/other.bin", other, hold_at=[MiB])
    async with Engine(db_path, fast_config()) as engine:
        [big] = await engine.queue.add([http_server.url("/big.bin")], dest_dir=small)
        [elsewhere] = await engine.queue.add([http_server.url("/other.bin")], dest_dir=downloads)
        await wait_held(http_server, "/big.bin", "/other.bin")

        await wait_checkpoint(engine, big)
        # the free-space check passed (3 MiB of 4): now another program fills the disk
        filler = fill_disk(small)
        release(http_server, "/big.bin", "/other.bin")
        await run_until_idle(engine)
        failed, done = await engine.queue.get(big), await engine.queue.get(elsewhere)

    # the job on the full disk failed, in plain words, keeping what is durable
    assert failed.state == JobState.FAILED
    assert failed.error is not None and "the disk is full" in failed.error
    assert "\n" not in failed.error and str(small / "big.bin.part") in failed.error
    part = small / "big.bin.part"
    assert 0 < failed.bytes_done == part.stat().st_size < len(body)
    assert part.read_bytes() == body[: failed.bytes_done]
    # the job on the other disk went on and finished
    assert done.state == JobState.DONE, done.error
    assert (downloads / "other.bin").read_bytes() == other

    # free the space, `drayman retry`, `drayman run`: it resumes where it stopped
    filler.unlink()
    assert run_cli(db_path, "retry", str(big)).returncode == 0
    result = run_cli(db_path, "run", "--until-idle")
    assert result.returncode == 0, result.stderr
    [row] = [r for r in ls(db_path) if r["id"] == big]
    assert row["state"] == "done" and row["bytes_done"] == len(body)
    assert files_in(small) == ["big.bin"]
    assert sha((small / "big.bin").read_bytes()) == sha(body)
    last = http_server.requests_for("/big.bin")[-1]
    assert last.headers["Range"] == f"bytes={failed.bytes_done}-"


async def test_a_file_that_cannot_fit_is_refused_before_anything_is_written(
    db_path: Path, downloads: Path, http_server: LoopbackServer, mounts: Mounts
) -> None:
    small = mounts.tmpfs("small", MiB)
    http_server.add("/huge.bin", make_body(2 * MiB))
    http_server.add("/fits.bin", make_body(100 * KiB))
    async with Engine(db_path, fast_config()) as engine:
        [huge, fits] = await engine.queue.add(
            [http_server.url("/huge.bin"), http_server.url("/fits.bin")], dest_dir=small
        )
        await run_until_idle(engine)
        refused, done = await engine.queue.get(huge), await engine.queue.get(fits)
    assert refused.state == JobState.FAILED
    assert refused.error is not None
    assert f"not enough free space in {small}: 2.0 MiB needed" in refused.error
    assert "nothing was written" in refused.error
    # the size the server told is kept: the list shows 2 MiB, not "?"
    assert refused.bytes_done == 0 and refused.bytes_total == 2 * MiB
    assert done.state == JobState.DONE, done.error
    # no .part, nothing but the file that fitted
    assert files_in(small) == ["fits.bin"]
    assert len(http_server.requests_for("/huge.bin")) == 1


# -- 2. a destination that cannot be written, or goes away ---------------------------------


@pytest.mark.parametrize("where", ["folder", "template subfolder"])
async def test_read_only_destination_fails_that_job_only(
    db_path: Path,
    downloads: Path,
    http_server: LoopbackServer,
    mounts: Mounts,
    where: str,
) -> None:
    read_only = mounts.tmpfs("ro", MiB, read_only=True)
    http_server.add("/a.bin", make_body(100 * KiB))
    http_server.add("/b.bin", make_body(100 * KiB, seed=3))
    template = "{host}/{name}.{ext}" if where == "template subfolder" else None
    async with Engine(db_path, fast_config()) as engine:
        [stuck] = await engine.queue.add(
            [http_server.url("/a.bin")], dest_dir=read_only, template=template
        )
        [fine] = await engine.queue.add([http_server.url("/b.bin")], dest_dir=downloads)
        await run_until_idle(engine)
        stuck_job, fine_job = await engine.queue.get(stuck), await engine.queue.get(fine)
    assert stuck_job.state == JobState.FAILED
    assert stuck_job.error is not None and "read-only file system" in stuck_job.error
    assert fine_job.state == JobState.DONE, fine_job.error
    assert files_in(read_only) == []


async def test_folder_made_read_only_between_runs_fails_then_resumes_when_writable(
    db_path: Path, http_server: LoopbackServer, mounts: Mounts
) -> None:
    disk = mounts.tmpfs("disk", 8 * MiB)
    body = make_body(2 * MiB, seed=9)
    job = await paused_midway(db_path, disk, http_server, "/ro.bin", body)
    part = disk / "ro.bin.part"
    mounts.remount(disk, read_only=True)
    stuck = await resume(db_path, job.id)
    assert stuck.state == JobState.FAILED
    assert stuck.error is not None and "read-only file system" in stuck.error
    # nothing lost: the offset and the bytes are as the pause left them
    assert stuck.bytes_done == job.bytes_done == part.stat().st_size
    assert part.read_bytes() == body[: job.bytes_done]

    mounts.remount(disk, read_only=False)
    assert run_cli(db_path, "retry", str(job.id)).returncode == 0
    result = run_cli(db_path, "run", "--until-idle")
    assert result.returncode == 0, result.stderr
    assert files_in(disk) == ["ro.bin"]
    assert (disk / "ro.bin").read_bytes() == body
    assert http_server.requests_for("/ro.bin")[-1].headers["Range"] == f"bytes={job.bytes_done}-"


@pytest.mark.parametrize("how", ["deleted", "moved"])
async def test_folder_deleted_or_moved_while_downloading_is_an_error_not_a_finish(
    db_path: Path, downloads: Path, http_server: LoopbackServer, tmp_path: Path, how: str
) -> None:
    folder = downloads / "sub"
    body = make_body(2 * MiB)
    http_server.add("/v.bin", body, hold_at=[MiB])
    http_server.add("/w.bin", make_body(MiB, seed=5), hold_at=[512 * KiB])
    async with Engine(db_path, fast_config()) as engine:
        [job_id] = await engine.queue.add([http_server.url("/v.bin")], dest_dir=folder)
        [other] = await engine.queue.add([http_server.url("/w.bin")], dest_dir=downloads)
        await wait_held(http_server, "/v.bin", "/w.bin")
        await wait_checkpoint(engine, job_id)
        if how == "deleted":
            shutil.rmtree(folder)
        else:
            folder.rename(tmp_path / "elsewhere")
        release(http_server, "/v.bin", "/w.bin")
        await run_until_idle(engine)
        job, other_job = await engine.queue.get(job_id), await engine.queue.get(other)
    assert job.state == JobState.FAILED
    assert job.error is not None
    assert f"{folder / 'v.bin.part'} was deleted, moved or replaced" in job.error
    # nothing "finished" anywhere: no final file, in the old place or the new
    assert not folder.exists() or files_in(folder) == []
    if how == "moved":
        assert files_in(tmp_path / "elsewhere") == ["v.bin.part"]
    assert other_job.state == JobState.DONE, other_job.error


async def test_drive_unmounted_while_downloading_fails_that_job_only(
    db_path: Path, downloads: Path, http_server: LoopbackServer, mounts: Mounts
) -> None:
    """A drive that goes away under an open file (lazy unmount): writes would
    still "succeed" into it, but its folder is no longer at its path."""
    usb = mounts.tmpfs("usb", 8 * MiB)
    http_server.add("/u.bin", make_body(2 * MiB), hold_at=[MiB])
    http_server.add("/o.bin", make_body(MiB, seed=6), hold_at=[512 * KiB])
    async with Engine(db_path, fast_config()) as engine:
        [job_id] = await engine.queue.add([http_server.url("/u.bin")], dest_dir=usb)
        [other] = await engine.queue.add([http_server.url("/o.bin")], dest_dir=downloads)
        await wait_held(http_server, "/u.bin", "/o.bin")
        await wait_checkpoint(engine, job_id)
        mounts.unmount(usb, lazy=True)
        release(http_server, "/u.bin", "/o.bin")
        await run_until_idle(engine)
        job, other_job = await engine.queue.get(job_id), await engine.queue.get(other)
    assert job.state == JobState.FAILED
    assert job.error is not None and "was deleted, moved or replaced" in job.error
    assert files_in(usb) == []  # the empty mount point: nothing written there
    assert other_job.state == JobState.DONE, other_job.error


async def test_drive_failing_with_eio_keeps_durable_bytes_and_resumes_when_back(
    db_path: Path, downloads: Path, http_server: LoopbackServer, mounts: Mounts
) -> None:
    """ext4 shut down under a running download (every I/O fails with EIO, as
    when a drive is pulled); mounted again, the job resumes from its offset."""
    disk = mounts.ext4("disk", 32 * MiB)
    body = make_body(3 * MiB, seed=7)
    http_server.add("/e.bin", body, hold_at=[2 * MiB])
    http_server.add("/o.bin", make_body(MiB, seed=8), hold_at=[512 * KiB])
    async with Engine(db_path, fast_config()) as engine:
        [job_id] = await engine.queue.add([http_server.url("/e.bin")], dest_dir=disk)
        [other] = await engine.queue.add([http_server.url("/o.bin")], dest_dir=downloads)
        await wait_held(http_server, "/e.bin", "/o.bin")

        await wait_checkpoint(engine, job_id)
        mounts.shut_down(disk)
        release(http_server, "/e.bin", "/o.bin")
        await run_until_idle(engine)
        job, other_job = await engine.queue.get(job_id), await engine.queue.get(other)
    assert job.state == JobState.FAILED
    assert job.error is not None and "input/output error" in job.error
    assert other_job.state == JobState.DONE, other_job.error

    # the drive comes back (mounted again: maybe another device number)
    mounts.unmount(disk)
    disk = mounts.mount_again("disk")
    part = disk / "e.bin.part"
    assert part.stat().st_size >= job.bytes_done > 0
    assert part.read_bytes()[: job.bytes_done] == body[: job.bytes_done]
    assert run_cli(db_path, "retry", str(job_id)).returncode == 0
    result = run_cli(db_path, "run", "--until-idle")
    assert result.returncode == 0, result.stderr
    assert (disk / "e.bin").read_bytes() == body
    assert not part.exists()
    assert http_server.requests_for("/e.bin")[-1].headers["Range"] == f"bytes={job.bytes_done}-"


# -- 3. the .part changed between runs ------------------------------------------------------


@pytest.mark.parametrize(
    "change", ["deleted", "truncated", "grown", "changed in place", "replaced by a copy"]
)
async def test_part_changed_between_runs_resumes_only_from_what_is_verifiably_there(
    db_path: Path, downloads: Path, http_server: LoopbackServer, change: str
) -> None:
    body = make_body(3 * MiB, seed=11)
    job = await paused_midway(db_path, downloads, http_server, "/p.bin", body)
    part = downloads / "p.bin.part"
    n = job.bytes_done
    assert part.stat().st_size == n
    expected_range: str | None
    if change == "deleted":
        part.unlink()
        expected_range = None
    elif change == "truncated":
        os.truncate(part, n // 2)
        expected_range = f"bytes={n // 2}-"
    elif change == "grown":
        with open(part, "ab") as handle:
            handle.write(b"\0" * 300 * KiB)
        expected_range = f"bytes={n}-"
    elif change == "changed in place":
        # same file, bytes just before the offset overwritten: not ours any more
        with open(part, "r+b") as handle:
            handle.seek(n - 1000)
            handle.write(b"\0" * 1000)
        expected_range = None
    else:
        # a new file (new inode) with our bytes: a folder copied away and back
        copy = downloads / "copy.tmp"
        shutil.copyfile(part, copy)
        os.replace(copy, part)
        expected_range = f"bytes={n}-"
    done = await resume(db_path, job.id)
    assert done.state == JobState.DONE, done.error
    assert files_in(downloads) == ["p.bin"]
    assert sha((downloads / "p.bin").read_bytes()) == sha(body)
    last = http_server.requests_for("/p.bin")[-1]
    assert last.headers.get("Range") == expected_range


async def test_part_replaced_by_another_file_is_left_alone(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    body = make_body(2 * MiB, seed=12)
    job = await paused_midway(db_path, downloads, http_server, "/r.bin", body)
    part = downloads / "r.bin.part"
    stranger = make_body(3 * MiB, seed=13)  # longer than our offset, other bytes
    part.unlink()
    part.write_bytes(stranger)
    done = await resume(db_path, job.id)
    assert done.state == JobState.DONE, done.error
    assert part.read_bytes() == stranger  # not cut, not written to
    assert done.final_path == str(downloads / "r (1).bin")
    assert sha((downloads / "r (1).bin").read_bytes()) == sha(body)
    assert files_in(downloads) == ["r (1).bin", "r.bin.part"]
    assert "Range" not in http_server.requests_for("/r.bin")[-1].headers


# -- 4. a crash at every step of the finish -------------------------------------------------


FINISH_POINTS = [
    "finish.after-fsync",
    "finish.after-link",
    "finish.after-unlink",
    "finish.after-dir-fsync",
]


@pytest.mark.parametrize("point", FINISH_POINTS)
def test_sigkill_at_each_step_of_the_finish_ends_with_one_correct_file(
    db_path: Path, downloads: Path, http_server: LoopbackServer, point: str
) -> None:
    body = make_body(700 * KiB, seed=21)
    http_server.add("/f.bin", body)
    added = run_cli(
        db_path, "add", http_server.url("/f.bin"), "-d", str(downloads), "--sha256", sha(body)
    )
    assert added.returncode == 0, added.stderr
    crashed = run_cli(db_path, "run", "--until-idle", env={"DRAYMAN_CRASH_AT": point})
    assert crashed.returncode == KILLED, (crashed.returncode, crashed.stderr)
    [before] = ls(db_path)
    assert before["state"] == "running"  # as the dead process left it

    again = run_cli(db_path, "run", "--until-idle")
    assert again.returncode == 0, again.stderr
    [after] = ls(db_path)
    assert after["state"] == "done", after["error"]
    assert after["path"] == str(downloads / "f.bin")
    assert files_in(downloads) == ["f.bin"]
    assert (downloads / "f.bin").read_bytes() == body
    # the bytes crossed the wire once: the next run finished what was there
    assert http_server.bytes_sent["/f.bin"] == len(body)


def test_sigkill_between_writing_data_and_committing_a_checkpoint(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    # large enough for checkpoints every 4 MiB (the CLI's defaults), and paced so
    # that they come before the end (at full speed the last bytes may come first)
    body = make_body(14 * MiB, seed=22)
    http_server.add("/c.bin", body, rate=16 * MiB)
    assert run_cli(db_path, "add", http_server.url("/c.bin"), "-d", str(downloads)).returncode == 0
    # the second checkpoint's data is fsynced, its offset not yet committed
    env = {"DRAYMAN_CRASH_AT": "checkpoint.before-commit#2"}
    crashed = run_cli(db_path, "run", "--until-idle", "-j", "1", env=env)
    assert crashed.returncode == KILLED, (crashed.returncode, crashed.stderr)
    [before] = ls(db_path)
    committed = before["bytes_done"]
    assert isinstance(committed, int) and 0 < committed < len(body)
    part = downloads / "c.bin.part"
    assert part.stat().st_size > committed  # more on disk than the database claims

    again = run_cli(db_path, "run", "--until-idle")
    assert again.returncode == 0, again.stderr
    [after] = ls(db_path)
    assert after["state"] == "done", after["error"]
    assert files_in(downloads) == ["c.bin"]
    assert sha((downloads / "c.bin").read_bytes()) == sha(body)
    assert http_server.requests_for("/c.bin")[-1].headers["Range"] == f"bytes={committed}-"


def test_sigkill_before_a_small_files_first_checkpoint_leaves_a_part_the_next_run_owns(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    # a small file's .part gets its identity recorded with the finish's
    # checkpoint, not before: killed just before that commit, the database has
    # the name and no identity, and the next run still takes the file as its own
    body = make_body(64 * KiB, seed=23)
    http_server.add("/s.bin", body)
    assert run_cli(db_path, "add", http_server.url("/s.bin"), "-d", str(downloads)).returncode == 0
    env = {"DRAYMAN_CRASH_AT": "checkpoint.before-commit"}
    crashed = run_cli(db_path, "run", "--until-idle", env=env)
    assert crashed.returncode == KILLED, (crashed.returncode, crashed.stderr)
    [before] = ls(db_path)
    assert (before["state"], before["bytes_done"]) == ("running", 0)
    assert files_in(downloads) == ["s.bin.part"]
    assert (downloads / "s.bin.part").read_bytes() == body  # fsynced, not yet committed

    again = run_cli(db_path, "run", "--until-idle")
    assert again.returncode == 0, again.stderr
    [after] = ls(db_path)
    assert after["state"] == "done", after["error"]
    assert files_in(downloads) == ["s.bin"]
    assert (downloads / "s.bin").read_bytes() == body
    with sqlite3.connect(db_path) as conn:
        [(identity,)] = conn.execute("SELECT part_identity FROM jobs").fetchall()
    assert identity is not None  # recorded by the finish's checkpoint


async def test_a_copy_left_by_the_other_device_fallback_is_recognised(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    """A crash after the copy got the final name, before the .part was removed:
    two files with the same bytes. The next run keeps one and fetches nothing."""
    body = make_body(300 * KiB, seed=23)
    http_server.add("/x.bin", body)
    job_id = await seed_interrupted_job(
        db_path, downloads, http_server, "/x.bin", name="x.bin", bytes_done=len(body), running=True
    )
    (downloads / "x.bin").write_bytes(body)
    (downloads / "x.bin.part").write_bytes(body)
    async with Engine(db_path, fast_config()) as engine:
        await run_until_idle(engine)
        job = await engine.queue.get(job_id)
    assert job.state == JobState.DONE, job.error
    assert files_in(downloads) == ["x.bin"]
    assert (downloads / "x.bin").read_bytes() == body
    assert http_server.requests_for("/x.bin") == []


# -- 5. links planted to lead writes out of the folder ---------------------------------------


async def test_a_link_planted_at_the_final_name_is_neither_followed_nor_replaced(
    db_path: Path, downloads: Path, http_server: LoopbackServer, tmp_path: Path
) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_bytes(b"do not touch")
    body = make_body(200 * KiB, seed=31)
    http_server.add("/l.bin", body)
    # the whole file is in the .part; the finish was interrupted before the link
    job_id = await seed_interrupted_job(
        db_path, downloads, http_server, "/l.bin", name="l.bin", bytes_done=len(body)
    )
    (downloads / "l.bin.part").write_bytes(body)
    make_symlink(downloads / "l.bin", victim)
    async with Engine(db_path, fast_config()) as engine:
        await run_until_idle(engine)
        job = await engine.queue.get(job_id)
    assert job.state == JobState.DONE, job.error
    assert victim.read_bytes() == b"do not touch"
    assert os.readlink(downloads / "l.bin") == str(victim)
    assert job.final_path == str(downloads / "l (1).bin")
    assert (downloads / "l (1).bin").read_bytes() == body
    assert files_in(downloads) == ["l (1).bin", "l.bin"]


@pytest.fixture(params=[pytest.param("dir_fd", marks=DIR_FD), "path checks"])
def folder_mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Both ways of keeping to the folder: open directories (POSIX) and the
    resolve-and-compare checks Windows gets, run here on Linux."""
    import drayman.queue.folder

    if request.param == "path checks":
        monkeypatch.setattr(drayman.queue.folder, "DIR_FD_SUPPORTED", False)
    return str(request.param)


async def test_a_template_subfolder_replaced_by_a_link_is_not_followed(
    db_path: Path,
    downloads: Path,
    http_server: LoopbackServer,
    tmp_path: Path,
    folder_mode: str,
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    http_server.add("/ep1.mp4", make_body(50 * KiB, seed=32))
    http_server.add("/ep2.mp4", make_body(50 * KiB, seed=33))
    template = "{author}/{title}.{ext}"
    async with Engine(db_path, fast_config()) as engine:
        [first] = await engine.queue.add_entries(
            [entry(http_server.url("/ep1.mp4"), "Ep 1", "Ann")],
            dest_dir=downloads,
            template=template,
        )
        await run_until_idle(engine)
        assert (await engine.queue.get(first)).state == JobState.DONE
        # someone with write access to Downloads swaps Ann/ for a link to elsewhere
        (downloads / "Ann").rename(downloads / "Ann.real")
        make_symlink(downloads / "Ann", outside, directory=True)
        [second] = await engine.queue.add_entries(
            [entry(http_server.url("/ep2.mp4"), "Ep 2", "Ann")],
            dest_dir=downloads,
            template=template,
        )
        await run_until_idle(engine)
        job = await engine.queue.get(second)
    assert job.state == JobState.FAILED
    assert job.error is not None and "symbolic link" in job.error and "Ann" in job.error
    assert list(outside.iterdir()) == []
    assert files_in(downloads / "Ann.real") == ["Ep 1.mp4"]


async def test_a_template_subfolder_swapped_for_a_link_mid_download_gets_nothing_outside(
    db_path: Path,
    downloads: Path,
    http_server: LoopbackServer,
    tmp_path: Path,
    folder_mode: str,
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    http_server.add("/ep.mp4", make_body(2 * MiB, seed=34), hold_at=[MiB])
    async with Engine(db_path, fast_config()) as engine:
        [job_id] = await engine.queue.add_entries(
            [entry(http_server.url("/ep.mp4"), "Ep", "Ann")],
            dest_dir=downloads,
            template="{author}/{title}.{ext}",
        )
        await wait_held(http_server, "/ep.mp4")
        # the server holds, and the .part is open: swap the folder now
        await wait_checkpoint(engine, job_id)
        (downloads / "Ann").rename(downloads / "Ann.real")
        make_symlink(downloads / "Ann", outside, directory=True)
        release(http_server, "/ep.mp4")
        await run_until_idle(engine)
        job = await engine.queue.get(job_id)
    assert job.state == JobState.FAILED
    assert job.error is not None and "Ann" in job.error
    assert list(outside.iterdir()) == []
    # what was written stayed where it was opened, inside the chosen folder
    assert files_in(downloads / "Ann.real") == ["Ep.mp4.part"]


async def test_removing_files_never_follows_a_swapped_subfolder(
    db_path: Path, downloads: Path, http_server: LoopbackServer, tmp_path: Path
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    http_server.add("/ep.mp4", make_body(10 * KiB, seed=35))
    async with Engine(db_path, fast_config()) as engine:
        [job_id] = await engine.queue.add_entries(
            [entry(http_server.url("/ep.mp4"), "Ep", "Ann")],
            dest_dir=downloads,
            template="{author}/{title}.{ext}",
        )
        await run_until_idle(engine)
        (downloads / "Ann").rename(downloads / "Ann.real")
        make_symlink(downloads / "Ann", outside, directory=True)
        (outside / "Ep.mp4").write_bytes(b"someone else's")
        await engine.queue.remove([job_id], delete_files=True)
    assert (outside / "Ep.mp4").read_bytes() == b"someone else's"


def entry(url: str, title: str, author: str) -> Entry:
    return Entry(url=url, where="test", title=title, author=author)


# -- 6. file systems without hard links, and another device ---------------------------------


async def test_a_fat_file_system_without_hard_links_finishes_without_overwriting(
    db_path: Path,
    http_server: LoopbackServer,
    mounts: Mounts,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    try:
        fat, kind = mounts.fat("fat", 16 * MiB)
    except RuntimeError as exc:
        # neither the kernel's vfat nor fusefat (with /dev/fuse) here: the
        # same scenario with link() refused at the OS boundary, said out loud
        warnings.warn(f"no real FAT file system ({exc}); links refused instead", stacklevel=1)
        fat, kind = tmp_path / "fat", "links refused"
        fat.mkdir()
        refuse_links(monkeypatch, errno.EPERM)
    probe = fat / "probe"
    probe.write_bytes(b"x")
    with pytest.raises(OSError) as no_link:
        os.link(probe, fat / "probe2")
    assert no_link.value.errno in (errno.EPERM, errno.EOPNOTSUPP), kind
    probe.unlink()

    body, other = make_body(MiB, seed=41), make_body(300 * KiB, seed=42)
    done, renamed = await finish_beside_a_taken_name(
        db_path, fat, http_server, ("fat.bin", body), ("taken.bin", other)
    )
    assert done.state == JobState.DONE, done.error
    assert renamed.state == JobState.DONE, renamed.error
    assert (fat / "fat.bin").read_bytes() == body
    assert (fat / "taken.bin").read_bytes() == b"precious"
    assert renamed.final_path == str(fat / "taken (1).bin")
    assert (fat / "taken (1).bin").read_bytes() == other
    assert files_in(fat) == ["fat.bin", "taken (1).bin", "taken.bin"]


async def finish_beside_a_taken_name(
    db_path: Path,
    folder: Path,
    server: LoopbackServer,
    fresh: tuple[str, bytes],
    taken: tuple[str, bytes],
) -> tuple[Job, Job]:
    """Two jobs finish in ``folder``: a fresh download, and one whose finish was
    interrupted while a file (b"precious") took its name. Returns both, done or not."""
    server.add("/" + fresh[0], fresh[1])
    name, other = taken
    server.add("/" + name, other)
    taken_id = await seed_interrupted_job(
        db_path, folder, server, "/" + name, name=name, bytes_done=len(other)
    )
    (folder / (name + ".part")).write_bytes(other)
    (folder / name).write_bytes(b"precious")
    async with Engine(db_path, fast_config()) as engine:
        [fresh_id] = await engine.queue.add([server.url("/" + fresh[0])], dest_dir=folder)
        await run_until_idle(engine)
        return await engine.queue.get(fresh_id), await engine.queue.get(taken_id)


def refuse_links(monkeypatch: pytest.MonkeyPatch, code: int) -> None:
    """os.link answers ``code`` (the OS boundary: EXDEV cannot be had for real
    inside one folder)."""

    def link(src: str, dst: str, **kwargs: object) -> None:
        raise OSError(code, os.strerror(code), src, None, dst)

    monkeypatch.setattr(os, "link", link)


@pytest.mark.parametrize("code", [errno.EXDEV, errno.EPERM])
async def test_finish_without_link_never_overwrites_and_leaves_no_copy(
    db_path: Path,
    downloads: Path,
    http_server: LoopbackServer,
    monkeypatch: pytest.MonkeyPatch,
    code: int,
) -> None:
    body, other = make_body(MiB, seed=43), make_body(200 * KiB, seed=44)
    refuse_links(monkeypatch, code)
    done, renamed = await finish_beside_a_taken_name(
        db_path, downloads, http_server, ("d.bin", body), ("t.bin", other)
    )
    assert done.state == JobState.DONE, done.error
    assert renamed.state == JobState.DONE, renamed.error
    assert (downloads / "d.bin").read_bytes() == body
    assert (downloads / "t.bin").read_bytes() == b"precious"
    assert (downloads / "t (1).bin").read_bytes() == other
    assert files_in(downloads) == ["d.bin", "t (1).bin", "t.bin"]
