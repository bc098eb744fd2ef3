"""Schedules: bands of local time that pause the queue or limit its speed.

Real time goes through an injected clock: the engine (or a real ``drayman
run``, through DRAYMAN_CLOCK_FILE) is told it is 21:59, then 22:00:30, then
01:00:10, and reconciles as it would at those hours, against real loopback
servers and real SQLite files. Nothing sleeps for hours.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import time
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from conftest import async_wait_until, cli_env, run_cli, stop_engine, wait_until
from drayman.errors import InvalidSchedule
from drayman.jobs import JobState
from drayman.queue.engine import Engine
from drayman.schedules import Band, days_text, instant, parse_band, state_at
from httpserver import LoopbackServer, make_body
from test_engine import fast_config

KiB, MiB = 1024, 1024 * 1024
BERLIN = ZoneInfo("Europe/Berlin")


def at(text: str, zone: ZoneInfo = BERLIN, fold: int = 0) -> float:
    """``'2026-10-24 21:59'`` in ``zone`` as seconds since the epoch."""
    return datetime.fromisoformat(text).replace(tzinfo=zone, fold=fold).timestamp()


class Clock:
    """A wall clock the test sets; the engine reads it as it reads time.time."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


# -- the bands themselves ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "spec", "days"),
    [
        ("mon-fri 09:00-18:00", "mon-fri 09:00-18:00", 0b0011111),
        ("daily 7:00-1:00", "daily 07:00-01:00", 0b1111111),
        ("22:00-06:00", "daily 22:00-06:00", 0b1111111),
        ("Sat,Sunday 00:00-24:00", "sat-sun 00:00-24:00", 0b1100000),
        ("fri-mon 22:00-00:00", "fri-mon 22:00-24:00", 0b1110001),
        ("weekdays 12:00-13:30", "mon-fri 12:00-13:30", 0b0011111),
        ("mon,wed,fri 08:00-09:00", "mon,wed,fri 08:00-09:00", 0b0010101),
    ],
)
def test_a_band_is_read_and_written_back_the_same(text: str, spec: str, days: int) -> None:
    band = parse_band(text)
    assert (band.spec, band.days) == (spec, days)
    assert parse_band(band.spec) == band
    assert days_text(band.days) == spec.split()[0]


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("mon-fro 09:00-18:00", "'fro' is not a day"),
        ("daily 09:00", "START-END"),
        ("daily 09:00-09:00", "cannot end when it starts"),
        ("daily 25:00-26:00", "not a time of day"),
        ("daily 09:60-10:00", "not a time of day"),
        ("daily 24:00-02:00", "cannot start at 24:00"),
        ("daily nine-ten", "not a time"),
        ("on mondays 09:00-10:00", "give the days, then the times"),
        ("", "give the days, then the times"),
    ],
)
def test_a_bad_band_is_one_clear_error(text: str, why: str) -> None:
    with pytest.raises(InvalidSchedule, match=why):
        parse_band(text)


def firings(band: Band, start: float, stop: float, zone: ZoneInfo) -> list[tuple[float, float]]:
    """Sweep real time minute by minute: the spans in which the band holds."""
    spans: list[tuple[float, float]] = []
    began: float | None = None
    t = start
    while t < stop:
        state = state_at([band], t, zone)
        holds = state.paused if band.pauses else bool(state.limit)
        if holds and began is None:
            began = t
        elif not holds and began is not None:
            spans.append((began, t))
            began = None
        t += 60
    assert began is None, "the sweep ends inside a band"
    return spans


def test_a_band_across_midnight_fires_once_a_night() -> None:
    band = parse_band("daily 22:00-01:00")
    spans = firings(band, at("2026-06-01 12:00"), at("2026-06-04 12:00"), BERLIN)
    assert [(datetime.fromtimestamp(a, BERLIN).strftime("%a %H:%M"), b - a) for a, b in spans] == [
        ("Mon 22:00", 3 * 3600),
        ("Tue 22:00", 3 * 3600),
        ("Wed 22:00", 3 * 3600),
    ]
    # on Friday only: it still ends on Saturday 01:00
    friday = parse_band("fri 22:00-01:00")
    spans = firings(friday, at("2026-06-01 00:00"), at("2026-06-08 00:00"), BERLIN)
    assert [(a, b) for a, b in spans] == [(at("2026-06-05 22:00"), at("2026-06-06 01:00"))]


@pytest.mark.parametrize(
    ("spec", "day", "expected"),
    [
        # spring forward in Berlin, 2026-03-29: 02:00 CET -> 03:00 CEST
        ("daily 01:00-04:00", "2026-03-29", ("2026-03-29 01:00", "2026-03-29 04:00", 2 * 3600)),
        ("daily 02:30-05:00", "2026-03-29", ("2026-03-29 03:00", "2026-03-29 05:00", 2 * 3600)),
        ("daily 00:00-02:30", "2026-03-29", ("2026-03-29 00:00", "2026-03-29 03:00", 2 * 3600)),
        # wholly inside the skipped hour: its length, from the jump
        ("daily 02:15-02:45", "2026-03-29", ("2026-03-29 03:00", "2026-03-29 03:30", 1800)),
        # fall back, 2026-10-25: 03:00 CEST -> 02:00 CET (02:00-03:00 happens twice)
        ("daily 01:00-04:00", "2026-10-25", ("2026-10-25 01:00", "2026-10-25 04:00", 4 * 3600)),
        ("daily 02:15-02:45", "2026-10-25", ("2026-10-25 02:15", "2026-10-25 02:45", 1800)),
        ("daily 02:30-05:00", "2026-10-25", ("2026-10-25 02:30", "2026-10-25 05:00", 3.5 * 3600)),
        ("daily 22:00-02:30", "2026-10-24", ("2026-10-24 22:00", "2026-10-25 02:30", 4.5 * 3600)),
    ],
)
def test_a_band_across_a_dst_change_fires_exactly_once(
    spec: str, day: str, expected: tuple[str, str, float]
) -> None:
    # on that one weekday, swept over three days: it must hold exactly once
    base = datetime.fromisoformat(day)
    spec = spec.replace("daily", base.strftime("%a").lower())
    start = (base - timedelta(days=1)).replace(tzinfo=BERLIN).timestamp()
    stop = (base + timedelta(days=2)).replace(tzinfo=BERLIN).timestamp()
    for band in (parse_band(spec, rate=100 * KiB), parse_band(spec)):  # a limit, a pause
        spans = firings(band, start, stop, BERLIN)
        assert len(spans) == 1, [
            (datetime.fromtimestamp(a, BERLIN), datetime.fromtimestamp(b, BERLIN)) for a, b in spans
        ]
        [(began, ended)] = spans
        first, last, length = expected
        # the wall clock shows the expected start and end, and the real length is right
        assert datetime.fromtimestamp(began, BERLIN).strftime("%Y-%m-%d %H:%M") == first
        assert datetime.fromtimestamp(ended, BERLIN).strftime("%Y-%m-%d %H:%M") == last
        assert ended - began == length


def test_instant_of_a_skipped_and_a_repeated_time() -> None:
    spring, fall = datetime(2026, 3, 29).date(), datetime(2026, 10, 25).date()
    # 02:30 does not exist on the spring day: it happens at the jump (01:00 UTC)
    assert instant(spring, 150, BERLIN) == datetime.fromisoformat("2026-03-29T01:00Z").timestamp()
    # 02:30 happens twice on the fall day: the first time (00:30 UTC, still CEST)
    assert instant(fall, 150, BERLIN) == datetime.fromisoformat("2026-10-25T00:30Z").timestamp()


def test_back_to_back_pause_bands_pause_until_the_last_ends() -> None:
    bands = [parse_band("daily 22:00-24:00"), parse_band("daily 00:00-07:00")]
    state = state_at(bands, at("2026-06-01 23:00"), BERLIN)
    assert state.paused
    assert state.paused_until == at("2026-06-02 07:00")
    assert state.until_text(BERLIN) == "07:00"
    assert state.next_change == at("2026-06-02 00:00")
    limits = [parse_band("daily 00:00-24:00", rate=2 * MiB), parse_band("12:00-13:00", rate=MiB)]
    assert state_at(limits, at("2026-06-01 12:30"), BERLIN).limit == MiB
    assert state_at(limits, at("2026-06-01 13:00"), BERLIN).limit == 2 * MiB
    assert state_at([], at("2026-06-01 13:00"), BERLIN).paused is False


# -- the engine ---------------------------------------------------------------------


async def set_clock(engine: Engine, clock: Clock, when: float) -> None:
    """Move the engine's clock and wait until it has reconciled at that time."""
    clock.now = when
    await async_wait_until(
        lambda: engine.schedule_checked_at == when, what=f"the engine to see {when}"
    )


async def test_a_pause_band_checkpoints_running_jobs_and_resumes_them_at_its_end(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    body = make_body(3 * MiB + 11)
    # slow enough to be caught mid-file, fast enough to finish soon after
    for name in ("a.bin", "mine.bin", "urgent.bin"):
        http_server.add(f"/{name}", body, rate=768 * KiB)
    clock = Clock(at("2026-06-01 21:59"))
    async with Engine(db_path, fast_config(), clock=clock, timezone=BERLIN) as engine:
        await engine.queue.add_schedule("daily 22:00-01:00")
        [job] = await engine.queue.add([http_server.url("/a.bin")], dest_dir=downloads)
        [mine] = await engine.queue.add([http_server.url("/mine.bin")], dest_dir=downloads)
        [urgent] = await engine.queue.add(
            [http_server.url("/urgent.bin")], dest_dir=downloads, ignore_schedule=True
        )

        async def has_checkpointed(job_id: int) -> bool:
            return (await engine.queue.get(job_id)).bytes_done > 0

        for job_id in (job, mine, urgent):
            await async_wait_until(lambda j=job_id: has_checkpointed(j), what="bytes on disk")
        await engine.queue.pause([mine])  # the user's own pause

        await set_clock(engine, clock, at("2026-06-01 22:00:30"))
        assert engine.schedule.paused
        assert engine.schedule.until_text(BERLIN) == "01:00"
        await async_wait_until(lambda: job not in engine.active_ids, what="the band's pause")
        held = await engine.queue.get(job)
        # back in the queue with its bytes checkpointed: the .part holds at least them
        assert held.state == JobState.QUEUED
        assert 0 < held.bytes_done < len(body)
        part = downloads / "a.bin.part"
        assert part.stat().st_size >= held.bytes_done
        assert urgent in engine.active_ids  # --ignore-schedule goes on

        # all night: nothing starts again, however often the engine looks
        for when in ("2026-06-01 23:30", "2026-06-02 00:59:50"):
            await set_clock(engine, clock, at(when))
            assert engine.schedule.paused
            assert job not in engine.active_ids
        assert (await engine.queue.get(job)).bytes_done == held.bytes_done
        requests_before = len(http_server.requests_for("/a.bin"))

        await set_clock(engine, clock, at("2026-06-02 01:00:10"))
        assert not engine.schedule.paused
        await asyncio.wait_for(engine.wait_idle(), 30)
        done = await engine.queue.get(job)
        assert done.state == JobState.DONE, done.error
        assert (downloads / "a.bin").read_bytes() == body
        # it resumed from its checkpoint, with a Range request
        resumed = http_server.requests_for("/a.bin")[requests_before:]
        assert resumed and resumed[0].headers["Range"].startswith(f"bytes={held.bytes_done}-")
        assert (await engine.queue.get(urgent)).state == JobState.DONE
        # the user's pause outlives the band
        assert (await engine.queue.get(mine)).state == JobState.PAUSED


async def test_a_band_added_or_removed_by_another_process_applies_at_once(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    from drayman.queue.jobqueue import JobQueue

    http_server.add("/f.bin", make_body(4 * MiB), rate=512 * KiB)
    clock = Clock(at("2026-06-01 12:00"))
    async with Engine(db_path, fast_config(), clock=clock, timezone=BERLIN) as engine:
        [job_id] = await engine.queue.add([http_server.url("/f.bin")], dest_dir=downloads)
        await async_wait_until(lambda: job_id in engine.active_ids, what="running")
        other = await JobQueue.open(db_path)  # `drayman schedule add` in another terminal
        try:
            band = await other.add_schedule("daily 11:00-13:00")
            await async_wait_until(lambda: job_id not in engine.active_ids, what="the pause")
            assert engine.schedule.paused
            await other.remove_schedule(band)
            await async_wait_until(lambda: job_id in engine.active_ids, what="the resume")
            assert not engine.schedule.paused
            await other.add_schedule("12:00-12:30", rate=64 * KiB)
            await async_wait_until(lambda: engine.schedule_limit == 64 * KiB, what="the limit")
        finally:
            await other.close()
        await engine.queue.pause([job_id])


async def test_a_band_across_a_dst_change_pauses_the_engine_exactly_once(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    http_server.add("/f.bin", make_body(4 * MiB), rate=256 * KiB)
    clock = Clock(at("2026-10-24 23:00"))
    holds = 0
    async with Engine(db_path, fast_config(), clock=clock, timezone=BERLIN) as engine:
        # 02:15-02:45 happens twice by the wall clock that night
        await engine.queue.add_schedule("daily 02:15-02:45")
        [job_id] = await engine.queue.add([http_server.url("/f.bin")], dest_dir=downloads)
        await async_wait_until(lambda: job_id in engine.active_ids, what="running")
        was_paused = False
        for step in range(0, 6 * 60, 5):  # six hours in five-minute steps: 00:00 to 06:00 UTC
            await set_clock(engine, clock, at("2026-10-24 22:00", ZoneInfo("UTC")) + step * 60)
            if engine.schedule.paused and not was_paused:
                holds += 1
            was_paused = engine.schedule.paused
        await engine.queue.pause([job_id])
    assert holds == 1


async def test_a_limit_band_slows_the_downloads_and_lifts_at_its_end(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    body = make_body(3 * MiB)
    http_server.add("/big.bin", body)  # as fast as loopback goes
    rate = 128 * KiB
    clock = Clock(at("2026-06-01 10:00"))
    samples: list[tuple[float, int]] = []
    async with Engine(db_path, fast_config(), clock=clock, timezone=BERLIN) as engine:
        await engine.queue.add_schedule("mon-fri 09:00-18:00", rate=rate)
        [job_id] = await engine.queue.add([http_server.url("/big.bin")], dest_dir=downloads)

        def sample(snapshot: object) -> None:
            for progress in engine_snapshot_active(snapshot):
                if progress.job_id == job_id:
                    samples.append((time.monotonic(), progress.bytes_done))

        engine.subscribe(sample)
        await async_wait_until(lambda: engine.schedule_limit == rate, what="the band's limit")
        await async_wait_until(lambda: len(samples) >= 2 and samples[-1][1] > 0, what="bytes")
        first = samples[-1]
        await async_wait_until(lambda: samples[-1][0] - first[0] >= 1.5, what="time to pass")
        last = samples[-1]
        # never faster than the band allows, plus the bucket's burst and a block in
        # flight on each of up to 8 connections (unlimited, 3 MiB take milliseconds)
        slack = rate // 2 + 8 * 64 * KiB
        assert last[1] - first[1] <= rate * (last[0] - first[0]) + slack
        assert engine.max_speed == 0  # the band is not the user's own limit
        await set_clock(engine, clock, at("2026-06-01 18:00:05"))
        assert engine.schedule_limit == 0
        # lifted: the rest comes at loopback speed (at the band's rate it would take 20 s)
        await asyncio.wait_for(engine.wait_idle(), 15)
        assert (downloads / "big.bin").read_bytes() == body


def engine_snapshot_active(snapshot: object) -> tuple:  # type: ignore[type-arg]
    return getattr(snapshot, "active", ())


# -- the command line -------------------------------------------------------------------


def test_schedule_add_ls_rm(db_path: Path) -> None:
    added = run_cli(db_path, "schedule", "add", "mon-fri 09:00-18:00", "--limit", "500k")
    assert (added.returncode, added.stdout) == (0, "1\n"), added.stderr
    assert run_cli(db_path, "schedule", "add", "daily 22:00-07:00", "--pause").stdout == "2\n"
    listed = json.loads(run_cli(db_path, "schedule", "ls", "--json").stdout)
    assert [(b["id"], b["spec"], b["action"], b["limit"]) for b in listed] == [
        (1, "mon-fri 09:00-18:00", "limit", 500 * 1024),
        (2, "daily 22:00-07:00", "pause", None),
    ]
    text = run_cli(db_path, "schedule", "ls").stdout
    assert "mon-fri 09:00-18:00  limit 500.0 KiB/s" in text
    assert run_cli(db_path, "schedule", "rm", "1").returncode == 0
    assert [b["id"] for b in json.loads(run_cli(db_path, "schedule", "ls", "--json").stdout)] == [2]


@pytest.mark.parametrize(
    "args",
    [
        ["schedule", "add", "mon-fro 09:00-18:00", "--pause"],
        ["schedule", "add", "daily 09:00-18:00"],
        ["schedule", "add", "daily 09:00-18:00", "--pause", "--limit", "1M"],
        ["schedule", "add", "daily 09:00-18:00", "--limit", "0"],
        ["schedule", "add", "daily 09:00-18:00", "--limit", "fast"],
        ["schedule", "rm", "7"],
    ],
)
def test_bad_schedule_commands_are_one_line_and_change_nothing(
    db_path: Path, args: list[str]
) -> None:
    run_cli(db_path, "schedule", "add", "daily 01:00-02:00", "--pause")
    result = run_cli(db_path, *args)
    assert result.returncode == 2, result
    assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    listed = json.loads(run_cli(db_path, "schedule", "ls", "--json").stdout)
    assert [b["spec"] for b in listed] == ["daily 01:00-02:00"]


def test_add_ignore_schedule_shows_in_ls(db_path: Path, downloads: Path) -> None:
    ids = run_cli(
        db_path, "add", "http://127.0.0.1:1/a", "-d", str(downloads), "--ignore-schedule"
    ).stdout.split()
    ids += run_cli(db_path, "add", "http://127.0.0.1:1/b", "-d", str(downloads)).stdout.split()
    listed = json.loads(run_cli(db_path, "ls", "--json").stdout)
    assert [(j["id"], j["ignore_schedule"]) for j in listed] == [(1, True), (2, False)]


def test_run_until_idle_waits_through_a_pause_band_and_says_so_once(
    db_path: Path, downloads: Path, tmp_path: Path, http_server: LoopbackServer
) -> None:
    body = make_body(200 * KiB)
    http_server.add("/night.bin", body)
    clock_file = tmp_path / "clock"
    clock_file.write_text(str(at("2026-06-01 23:00")))
    assert run_cli(db_path, "schedule", "add", "daily 22:00-01:00", "--pause").returncode == 0
    added = run_cli(db_path, "add", http_server.url("/night.bin"), "-d", str(downloads))
    assert added.returncode == 0, added.stderr
    env = cli_env(db_path, {"DRAYMAN_CLOCK_FILE": str(clock_file), "TZ": "Europe/Berlin"})
    stderr = tmp_path / "stderr.txt"
    with open(stderr, "w") as err:
        engine = subprocess.Popen(
            [sys.executable, "-m", "drayman", "run", "--until-idle"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=err,
            text=True,
        )
        try:
            wait_until(lambda: "until 01:00" in stderr.read_text(), what="the notice")
            # the queue is held, not idle: the run waits and fetches nothing
            clock_file.write_text(str(at("2026-06-02 00:30")))
            assert engine.poll() is None
            assert not http_server.requests_for("/night.bin")
            clock_file.write_text(str(at("2026-06-02 01:00:05")))
            assert engine.wait(timeout=30) == 0
        finally:
            stop_engine(engine)
    assert (downloads / "night.bin").read_bytes() == body
    text = stderr.read_text()
    assert text.count("the schedule pauses downloads until 01:00") == 1, text
