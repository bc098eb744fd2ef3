"""Soak: real ``drayman run`` engines, killed at random, against a misbehaving server.

For ``--minutes`` (default 10) it keeps a queue of downloads going while

* a loopback server (``tests/httpserver.py``, four origins) answers requests
  with random faults: connection resets, stalls, a Content-Length longer than
  the body, 503/429/500 (Retry-After in seconds or as a date), Range ignored,
  a 206 that starts at the wrong byte;
* files change on the server while they download (new bytes and validators;
  half of the time the same size, the case only validators catch); some
  files have a strong ETag, some only Last-Modified, a weak ETag, or nothing;
  a few are over 16 MiB, which the engine downloads in segments;
* the engine, a real ``drayman run`` subprocess, is SIGKILLed (4 times in 5)
  or SIGTERMed at random moments and started again;
* ``drayman add`` adds jobs as it goes (some with ``--sha256``, some sharing
  a name, some with hostile Content-Disposition names), and ``drayman
  pause``/``resume`` toggle a few.

Then the faults stop: paused jobs are resumed, failed ones retried, and one
engine drains the queue (bounded by ``--drain-minutes``). Every job is checked
against what the server had, with these definitions (printed with the verdict):

  verified   a done job whose file holds exactly one version of its URL that
             the server had while the job existed (sha256), has the recorded
             size, and lies in the job's folder
  corrupted  a done job whose bytes match no such version (a splice, a cut, a
             stale or foreign file), or whose file lies elsewhere
  lost       a job that was added and is gone from the table, a done job
             whose file is missing, or a job not done after the calm drain --
             except a job failed with a reason the server really caused: its
             --sha256 no longer matches because the file changed ("failed:
             the server changed the file", not lost)
  stray      a file under the work folder that no job owns (a job's own .part
             counts as owned while the job is not done)

  crashes    a traceback (an unexpected error) in the engines' log

It passes (exit 0) only with 0 corrupted, 0 lost, 0 stray and 0 crashes, after
a drain that finished in time. It also prints the engines' peak RSS and open
descriptors, and the descriptors of the idle engine after the drain against
those of the first engine, idle after its first download (an event loop
opens a few once, at its first connection: uvloop does).

``--seed`` fixes each file's bytes, sizes, validators and versions, the
fault drawn for the n-th request to each path, the batch sizes, the waits
between steps and the engines' lifetimes. Which job a change or a pause hits,
and which request comes n-th, depend on timing: two runs with one seed are
alike, not identical. Traffic stays on loopback (127.0.0.1-4); the run stops
by itself.

    python bench/soak.py                          # 10 minutes, seed 1
    python bench/soak.py --minutes 2 --seed 7 -j 8
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import hashlib
import json
import logging
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))

import psutil  # noqa: E402

from drayman.jobs import JobState  # noqa: E402
from drayman.queue.jobqueue import JobQueue  # noqa: E402
from drayman.queue.lock import lock_path_for  # noqa: E402
from httpserver import (  # noqa: E402
    Hook,
    LoopbackServer,
    RecordedRequest,
    http_date,
    loopback_host,
    make_body,
    strong_etag,
)

KiB, MiB = 1024, 1024 * 1024
ORIGINS = 4
#: the engine's --read-timeout; a stall lasts longer, so it is noticed
READ_TIMEOUT = 2.0
STALL_FOR = 2.5 * READ_TIMEOUT
#: a base date for Last-Modified values, far from the present
EPOCH = 1_700_000_000
VALIDATORS = (("strong", 0.65), ("last-modified", 0.15), ("weak", 0.1), ("none", 0.1))
HOSTILE_NAMES = (
    'attachment; filename="../../escape.bin"',
    "attachment; filename*=UTF-8''..%2F..%2Fup.bin",
    'attachment; filename="CON.txt"',
    'attachment; filename="a:b|c?.bin"',
    'attachment; filename="dots... "',
    "attachment; filename*=UTF-8''%E2%82%AC%20rates.bin",
)


def sha256_of(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(4 * MiB), b""):
            digest.update(block)
    return digest.hexdigest()


def draw(rng: random.Random, table: tuple[tuple[str, float], ...]) -> str:
    roll, total = rng.random(), 0.0
    for name, weight in table:
        total += weight
        if roll < total:
            return name
    return table[-1][0]


def draw_size(rng: random.Random) -> int:
    """Log-uniform from 4 KiB to 4 MiB; a few empty files, and a few of 16 to
    32 MiB, which the engine splits into segments (``run --split``)."""
    roll = rng.random()
    if roll < 0.01:
        return 0
    if roll < 0.04:
        return rng.randint(16 * MiB, 32 * MiB)
    return int(2 ** rng.uniform(12, 22))


# -- the files the server holds ----------------------------------------------------


@dataclass
class Version:
    number: int
    sha256: str
    size: int
    live_from: float
    live_until: float | None = None

    def live_during(self, start: float, end: float) -> bool:
        return self.live_from <= end and (self.live_until is None or self.live_until >= start)


@dataclass
class Remote:
    """One URL on the server, downloaded by one job."""

    key: int
    server: LoopbackServer
    chaos: Chaos
    validators: str
    disposition: str | None
    rate: int
    dest: Path
    with_sha256: bool
    versions: list[Version] = field(default_factory=list)
    job_id: int | None = None
    added_at: float = 0.0
    finished: bool = False

    @property
    def path(self) -> str:
        return f"/r/{self.key}/file-{self.key}.bin"

    @property
    def url(self) -> str:
        return self.server.url(self.path)

    def publish(self, seed: int, *, same_size: bool = False) -> None:
        """Put a new version on the server, atomically (one Resource swap).

        Its bytes depend on the seed, the file and the version number only."""
        number = len(self.versions)
        rng = random.Random(f"{seed}:file {self.key}:version {number}")
        size = self.versions[-1].size if same_size and self.versions else draw_size(rng)
        body = make_body(size, seed=rng.getrandbits(32))
        etag = {"strong": strong_etag(body), "weak": f'W/"{self.key}-{number}"'}.get(
            self.validators
        )
        last_modified = None
        if self.validators in ("strong", "last-modified"):
            last_modified = http_date(EPOCH + self.key * 100_000 + number * 3600)
        now = time.time()
        if self.versions:
            self.versions[-1].live_until = now
        self.versions.append(Version(number, sha256_of(body), size, now))
        self.server.add(
            self.path,
            body,
            etag=etag,
            last_modified=last_modified,
            content_disposition=self.disposition,
            rate=self.rate,
            hook=self.chaos.hook_for(self.path, number, size),
        )


class Chaos:
    """The faults of each answer, drawn from the seed, the file, its version and
    the answer's number (the server calls a resource's hook for each answer)."""

    FAULTS = (
        ("503", 0.05),
        ("429", 0.04),
        ("500", 0.02),
        ("reset", 0.08),
        ("stall", 0.03),
        ("long length", 0.04),
        ("range ignored", 0.05),
        ("wrong range start", 0.03),
        ("none", 0.66),
    )

    def __init__(self, seed: int) -> None:
        self.seed = seed
        self.on = True
        self._lock = threading.Lock()
        self.drawn: Counter[str] = Counter()

    def hook_for(self, path: str, version: int, size: int) -> Hook:
        def hook(index: int, request: RecordedRequest) -> dict[str, Any] | None:
            # runs in the server's thread
            with self._lock:
                if not self.on:
                    self.drawn["calm"] += 1
                    return None
            rng = random.Random(f"{self.seed}:{path}:{version}:{index}")
            fault = draw(rng, self.FAULTS)
            with self._lock:
                self.drawn[fault] += 1
            return self.faults(fault, rng, size)

        return hook

    @staticmethod
    def faults(fault: str, rng: random.Random, size: int) -> dict[str, Any] | None:
        """The fields of httpserver.Faults for one answer."""
        cut = rng.randrange(size) if size else 0
        if fault in ("503", "429"):
            wait = rng.randint(1, 3)
            # Retry-After in seconds, or as an HTTP date
            after = str(wait) if fault == "503" else http_date(time.time() + wait)
            return {"status": int(fault), "status_headers": (("Retry-After", after),)}
        if fault == "500":
            return {"status": 500}
        if fault == "reset":
            return {"reset_after": cut}
        if fault == "stall":
            return {"stall_after": cut, "stall_for": STALL_FOR}
        if fault == "long length":
            return {"lie_length": rng.randint(1, 64 * KiB)}
        if fault == "range ignored":
            return {"ignore_range": True}
        if fault == "wrong range start":
            return {"range_start_shift": rng.choice((-4096, -1, 1, 4096))}
        return None


# -- the engine and the command line ----------------------------------------------------


@dataclass
class EngineStats:
    starts: int = 0
    sigkills: int = 0
    sigterms: int = 0
    unexpected_exits: list[str] = field(default_factory=list)
    slowest_stop: float = 0.0
    bad_stop_codes: list[int] = field(default_factory=list)
    peak_rss: int = 0
    peak_fds: int = 0


class Soak:
    def __init__(self, args: argparse.Namespace, workdir: Path) -> None:
        self.args = args
        self.workdir = workdir
        self.db = workdir / "db" / "jobs.db"
        self.area = workdir / "area"
        self.downloads = self.area / "downloads"
        self.log_path = workdir / "engine.log"
        self.rng = random.Random(args.seed)
        # separate streams, so that one decision's timing does not shift the others
        self.kill_rng = random.Random(f"{args.seed}:kills")
        self.change_rng = random.Random(f"{args.seed}:changes")
        self.pause_rng = random.Random(f"{args.seed}:pauses")
        self.chaos = Chaos(args.seed)
        self.servers: list[LoopbackServer] = []
        self.remotes: list[Remote] = []
        self.by_job: dict[int, Remote] = {}
        self.stats = EngineStats()
        self.failed_reasons: Counter[str] = Counter()
        self.add_refusals: list[str] = []
        self.changes = 0
        self.pauses = 0
        self.queue: JobQueue | None = None
        #: set when the faults end
        self.calm = asyncio.Event()
        self.started = time.monotonic()

    # -- command line ---------------------------------------------------------------

    def drayman(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "drayman", "--db", str(self.db), *args]

    async def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        return await asyncio.to_thread(
            subprocess.run, self.drayman(*args), capture_output=True, text=True, timeout=120
        )

    # -- engines --------------------------------------------------------------------

    async def start_engine(self) -> asyncio.subprocess.Process:
        args = ["-v", "run", "-j", str(self.args.jobs), "--read-timeout", str(READ_TIMEOUT)]
        args += ["--checkpoint-every", "0.5", "--max-attempts", "12"]
        log = self.open_log(f"--- engine start at t={self.elapsed():.1f}s")
        try:
            engine = await asyncio.create_subprocess_exec(
                *self.drayman(*args), stdout=log, stderr=subprocess.STDOUT
            )
        finally:
            log.close()  # the engine has its own copy
        self.stats.starts += 1
        return engine

    def open_log(self, line: str) -> IO[str]:
        log = open(self.log_path, "a")  # noqa: SIM115 - handed to a subprocess
        log.write(line + "\n")
        log.flush()
        return log

    async def engine_ready(self, engine: asyncio.subprocess.Process) -> int | None:
        """Wait for the engine's lock (it holds the database by then); its fds then."""
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and engine.returncode is None:
            if lock_holder(lock_path_for(self.db)) == str(engine.pid):
                return self.sample(engine)[1]
            await asyncio.sleep(0.05)
        return None

    async def warm_up(self, engine: asyncio.subprocess.Process) -> int | None:
        """Download one file (an ordinary job of the soak); the idle engine's fds then."""
        assert self.queue is not None
        remote = self.new_remote()
        await self.add([remote])
        assert remote.job_id is not None
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and engine.returncode is None:
            done = (await self.queue.get(remote.job_id)).state == JobState.DONE
            try:
                idle = not psutil.Process(engine.pid).net_connections(kind="inet")
            except psutil.Error:
                return None
            if done and idle:
                return self.sample(engine)[1]
            await asyncio.sleep(0.1)
        return None

    def sample(self, engine: asyncio.subprocess.Process) -> tuple[int, int]:
        """(RSS, open descriptors) now; updates the peaks."""
        try:
            process = psutil.Process(engine.pid)
            rss = int(process.memory_info().rss)
            fds = process.num_fds() if sys.platform != "win32" else process.num_handles()
            status = Path(f"/proc/{engine.pid}/status")
            if status.exists():  # Linux: the kernel's high-water mark, between samples too
                for line in status.read_text().splitlines():
                    if line.startswith("VmHWM:"):
                        rss = max(rss, int(line.split()[1]) * 1024)
        except (psutil.Error, OSError):
            return 0, 0
        self.stats.peak_rss = max(self.stats.peak_rss, rss)
        self.stats.peak_fds = max(self.stats.peak_fds, fds)
        return rss, fds

    async def stop_engine(self, engine: asyncio.subprocess.Process, *, kill: bool) -> None:
        if engine.returncode is not None:
            return
        self.sample(engine)
        if kill:
            engine.kill()  # SIGKILL: no chance to checkpoint
            await engine.wait()
            self.stats.sigkills += 1
            return
        started = time.monotonic()
        engine.terminate()
        try:
            code = await asyncio.wait_for(engine.wait(), 30)
        except TimeoutError:
            engine.kill()
            code = await engine.wait()
        self.stats.sigterms += 1
        self.stats.slowest_stop = max(self.stats.slowest_stop, time.monotonic() - started)
        if code != 0:
            self.stats.bad_stop_codes.append(code)

    async def supervise(self, engine: asyncio.subprocess.Process, until: float) -> None:
        """Run engines one after another, each stopped at a random moment."""
        while True:
            deadline = min(time.monotonic() + self.kill_rng.uniform(0.5, 20.0), until)
            while time.monotonic() < deadline and engine.returncode is None:
                self.sample(engine)
                await asyncio.sleep(0.25)
            if engine.returncode is not None:
                self.stats.unexpected_exits.append(
                    f"exit {engine.returncode} at t={self.elapsed():.0f}s"
                )
            await self.stop_engine(engine, kill=self.kill_rng.random() < 0.8)
            if time.monotonic() >= until:
                return
            await asyncio.sleep(self.kill_rng.choice((0.0, 0.0, 0.0, 0.2, 1.0)))
            engine = await self.start_engine()
            await self.engine_ready(engine)

    # -- the queue ------------------------------------------------------------------

    def new_remote(self) -> Remote:
        key = len(self.remotes)
        # each file's traits come from the seed and its number, whatever the timing
        rng = random.Random(f"{self.args.seed}:file {key}")
        roll = rng.random()
        if roll < 0.15:
            disposition: str | None = 'attachment; filename="shared.bin"'
        elif roll < 0.22:
            disposition = rng.choice(HOSTILE_NAMES)
        else:
            disposition = None
        dest = self.downloads if rng.random() < 0.75 else self.downloads / f"sub{key % 3}"
        remote = Remote(
            key=key,
            server=self.servers[key % ORIGINS],
            chaos=self.chaos,
            validators=draw(rng, VALIDATORS),
            disposition=disposition,
            rate=rng.choice((256 * KiB, 512 * KiB, 1 * MiB, 2 * MiB)),
            dest=dest,
            with_sha256=rng.random() < 0.05,
        )
        remote.publish(self.args.seed)
        self.remotes.append(remote)
        return remote

    def outstanding(self) -> list[Remote]:
        return [r for r in self.remotes if r.job_id is not None and not r.finished]

    async def add(self, batch: list[Remote]) -> None:
        """``drayman add`` while the engine runs; a refusal (exit 3) is tried again."""
        by_dest: dict[Path, list[Remote]] = {}
        for remote in batch:
            by_dest.setdefault(remote.dest, []).append(remote)
        groups = [[r] for r in batch if r.with_sha256]
        for dest_batch in by_dest.values():
            plain = [r for r in dest_batch if not r.with_sha256]
            if plain:
                groups.append(plain)
        for group in groups:
            args = ["add", *(r.url for r in group), "-d", str(group[0].dest)]
            if group[0].with_sha256:
                args += ["--sha256", group[0].versions[-1].sha256]
            for _ in range(10):
                added_at = time.time()
                result = await self.cli(*args)
                if result.returncode == 0:
                    break
                self.add_refusals.append(result.stderr.strip()[:200])
                await asyncio.sleep(0.5)
            else:
                raise RuntimeError(f"drayman add kept failing: {result.stderr.strip()}")
            ids = [int(line) for line in result.stdout.split()]
            if len(ids) != len(group):
                raise RuntimeError(f"drayman add printed {ids} for {len(group)} URLs")
            for remote, job_id in zip(group, ids, strict=True):
                remote.job_id, remote.added_at = job_id, added_at
                self.by_job[job_id] = remote

    async def nap(self, seconds: float) -> bool:
        """Sleep; True when the faults are over (the helpers then stop, between steps:
        a helper cancelled in the middle of `drayman add` would lose the new ids)."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self.calm.wait(), seconds)
        return self.calm.is_set()

    async def feed(self) -> None:
        while not await self.nap(self.rng.uniform(0.3, 1.5)):
            batch = self.rng.randint(1, 8)
            if len(self.outstanding()) < self.args.backlog:
                await self.add([self.new_remote() for _ in range(batch)])

    async def change_files(self) -> None:
        rng = self.change_rng
        while not await self.nap(rng.uniform(1.0, 4.0)):
            candidates = self.outstanding()
            if candidates:
                chosen = rng.choice(candidates)
                chosen.publish(self.args.seed, same_size=rng.random() < 0.5)
                self.changes += 1

    async def pause_some(self) -> None:
        rng = self.pause_rng
        while not await self.nap(rng.uniform(4.0, 12.0)):
            candidates = self.outstanding()
            if not candidates:
                continue
            chosen = rng.sample(candidates, min(len(candidates), rng.randint(1, 3)))
            ids = [str(r.job_id) for r in chosen]
            await self.cli("pause", *ids)
            self.pauses += 1
            await self.nap(rng.uniform(0.5, 4.0))
            await self.cli("resume", *ids)

    async def watch(self) -> None:
        """Follow the table: free the bodies of done jobs, note failures, report."""
        assert self.queue is not None
        seen_failed: set[tuple[int, int]] = set()
        next_report = time.monotonic() + 30
        while not await self.nap(1.0):
            try:
                jobs = await self.queue.jobs()
            except Exception as exc:  # a busy database is the engine's business, not ours
                print(f"  (could not read the table: {exc})", flush=True)
                continue
            for job in jobs:
                remote = self.by_job.get(job.id)
                if remote is None:
                    continue
                if job.state == JobState.DONE and not remote.finished:
                    remote.finished = True
                    remote.server.remove(remote.path)  # done is final: free the memory
                elif job.state == JobState.FAILED and (job.id, job.attempts) not in seen_failed:
                    seen_failed.add((job.id, job.attempts))
                    self.failed_reasons[reason_of(job.error)] += 1
            if time.monotonic() >= next_report:
                next_report += 30
                counts = Counter(j.state.value for j in jobs)
                print(
                    f"  t={self.elapsed():4.0f}s jobs={len(jobs)} {dict(sorted(counts.items()))} "
                    f"engines={self.stats.starts} kills={self.stats.sigkills} "
                    f"changes={self.changes} peak_rss={self.stats.peak_rss / MiB:.0f}MiB",
                    flush=True,
                )

    def elapsed(self) -> float:
        return time.monotonic() - self.started

    # -- the whole run --------------------------------------------------------------

    async def run(self) -> int:
        for n in range(ORIGINS):
            server = LoopbackServer(loopback_host(n), keepalive_timeout=2.0, record=False)
            self.servers.append(server.start())
        try:
            self.downloads.mkdir(parents=True)
            self.queue = await JobQueue.open(self.db)
            try:
                return await self._run()
            finally:
                await self.queue.close()
        finally:
            for server in self.servers:
                server.stop()

    async def _run(self) -> int:
        args = self.args
        print(
            f"soak: {args.minutes:g} min, seed {args.seed}, -j {args.jobs}, "
            f"backlog {args.backlog}, work folder {self.workdir}",
            flush=True,
        )
        # the level to come back to: the first engine's descriptors, idle after
        # its first download (an event loop opens a few once, at the first
        # connection) with the connection closed by the server's keep-alive
        first = await self.start_engine()
        await self.engine_ready(first)
        fds_start = await self.warm_up(first)
        until = time.monotonic() + args.minutes * 60
        helpers = [
            asyncio.create_task(self.feed()),
            asyncio.create_task(self.change_files()),
            asyncio.create_task(self.pause_some()),
            asyncio.create_task(self.watch()),
        ]
        try:
            await self.supervise(first, until)
            self.calm.set()
            await asyncio.gather(*helpers)
        finally:
            for task in helpers:
                task.cancel()
        chaos_seconds = self.elapsed()

        # the calm: no more faults or changes; everything gets a fair chance
        self.chaos.on = False
        failed_during = len(await self.queue.jobs(JobState.FAILED)) if self.queue else 0
        for command in (("resume", "--all"), ("retry", "--failed")):
            result = await self.cli(*command)
            if result.returncode != 0:
                raise RuntimeError(f"drayman {' '.join(command)}: {result.stderr.strip()}")
        print(f"  t={self.elapsed():4.0f}s faults off; draining", flush=True)
        drain = await self.start_engine()
        await self.engine_ready(drain)
        drain_deadline = time.monotonic() + args.drain_minutes * 60
        fds_idle: int | None = None
        drained = False
        try:
            assert self.queue is not None
            while time.monotonic() < drain_deadline and drain.returncode is None:
                self.sample(drain)
                counts = await self.queue.counts()
                if counts[JobState.QUEUED] == 0 and counts[JobState.RUNNING] == 0:
                    drained = True
                    break
                await asyncio.sleep(0.5)
            if drained:
                # idle connections close after the server's 2 s keep-alive
                settle = time.monotonic() + 15
                while time.monotonic() < settle:
                    fds_idle = self.sample(drain)[1]
                    if fds_start is not None and fds_idle <= fds_start:
                        break
                    await asyncio.sleep(0.25)
        finally:
            await self.stop_engine(drain, kill=False)
        drain_seconds = self.elapsed() - chaos_seconds

        listing = await self.cli("ls", "--json")
        if listing.returncode != 0:
            raise RuntimeError(f"drayman ls --json: {listing.stderr.strip()}")
        verdict = self.verify(json.loads(listing.stdout))
        self.report(verdict, chaos_seconds, drain_seconds, failed_during, fds_start, fds_idle)
        bad = verdict["corrupted"] or verdict["lost"] or verdict["stray"] or verdict["crashes"]
        return 1 if bad or not drained else 0

    # -- the verdict ------------------------------------------------------------------

    def verify(self, jobs: list[dict[str, Any]]) -> dict[str, list[str]]:
        table = {job["id"]: job for job in jobs}
        verdict: dict[str, list[str]] = {
            "verified": [],
            "corrupted": [],
            "lost": [],
            "failed: the server changed the file": [],
            "stray": [],
            "crashes": self.engine_crashes(),
        }
        owned: set[Path] = set()
        for remote in self.remotes:
            if remote.job_id is None:
                continue
            label = f"job {remote.job_id} ({remote.url}, {remote.validators} validators)"
            job = table.get(remote.job_id)
            if job is None:
                verdict["lost"].append(f"{label}: gone from the table")
                continue
            if job["path"] and job["state"] != JobState.DONE.value:
                owned.add(Path(job["path"] + ".part"))  # a job not done may keep its part
            if job["state"] == JobState.DONE.value:
                verdict[self.check_done(remote, job, label, owned)].append(label)
            elif (
                job["state"] == JobState.FAILED.value
                and remote.with_sha256
                and len(remote.versions) > 1
                and "checksum mismatch" in (job["error"] or "")
            ):
                verdict["failed: the server changed the file"].append(label)
            else:
                verdict["lost"].append(f"{label}: {job['state']} after the drain: {job['error']}")
        for job in jobs:
            if job["id"] not in self.by_job:  # the soak's own bookkeeping failed
                print(f"  UNKNOWN job {job['id']} {job['url']} in the table", flush=True)
                verdict["lost"].append(f"job {job['id']}: in the table, unknown to the soak")
                if job["path"]:
                    owned |= {Path(job["path"]), Path(job["path"] + ".part")}
        owned.add(self.log_path)
        for path in sorted(self.workdir.rglob("*")):
            # the database folder is drayman's own (database, WAL, engine lock)
            if path.is_file() and path not in owned and path.parent != self.db.parent:
                verdict["stray"].append(str(path.relative_to(self.workdir)))
        return verdict

    def engine_crashes(self) -> list[str]:
        """Tracebacks in the engines' log: a bug, even when the job recovered."""
        lines = read_text(self.log_path).splitlines()
        return [
            f"{lines[n - 1] if n else ''} / {line}"
            for n, line in enumerate(lines)
            if "Traceback" in line or "unexpected error" in line or "internal error" in line
        ]

    def check_done(self, remote: Remote, job: dict[str, Any], label: str, owned: set[Path]) -> str:
        if not job["path"]:
            return "lost"
        path = Path(job["path"])
        if not path.is_file():
            print(f"  LOST {label}: done, but {path} is missing", flush=True)
            return "lost"
        owned.add(path)
        if path.resolve().parent != remote.dest.resolve():
            print(f"  CORRUPTED {label}: {path} is not in {remote.dest}", flush=True)
            return "corrupted"
        size = path.stat().st_size
        digest = sha256_file(path)
        matches = [v for v in remote.versions if v.sha256 == digest]
        finished = job["finished_at"] or time.time()
        if size != job["bytes_total"] or size != job["bytes_done"]:
            problem = f"{size} bytes on disk, {job['bytes_done']}/{job['bytes_total']} recorded"
        elif not matches:
            sizes = [v.size for v in remote.versions]
            problem = f"{size} bytes match none of its {len(sizes)} versions (sizes {sizes})"
        elif not any(v.live_during(remote.added_at, finished) for v in matches):
            problem = f"holds version {matches[0].number}, not live while the job existed"
        else:
            return "verified"
        print(f"  CORRUPTED {label}: {problem}", flush=True)
        return "corrupted"

    def report(
        self,
        verdict: dict[str, list[str]],
        chaos_seconds: float,
        drain_seconds: float,
        failed_during: int,
        fds_start: int | None,
        fds_idle: int | None,
    ) -> None:
        stats = self.stats
        added = sum(1 for r in self.remotes if r.job_id is not None)
        faults = {k: v for k, v in self.chaos.drawn.most_common() if k not in ("none", "calm")}
        print(
            f"\nsoak finished: seed {self.args.seed}, {chaos_seconds / 60:.1f} min of faults, "
            f"{drain_seconds:.0f} s of calm drain"
        )
        refusals = len(self.add_refusals)
        print(f"  jobs added: {added} (by `drayman add`; {refusals} refusals, tried again)")
        print(
            f"  engines: {stats.starts} started, {stats.sigkills} SIGKILLed, "
            f"{stats.sigterms} SIGTERMed (slowest stop {stats.slowest_stop:.1f} s, "
            f"non-zero exits on SIGTERM: {stats.bad_stop_codes or 'none'}), "
            f"unexpected exits: {stats.unexpected_exits or 'none'}"
        )
        print(
            f"  server: {sum(self.chaos.drawn.values())} answers, faults {faults}; "
            f"{self.changes} file changes; {self.pauses} pause/resume rounds"
        )
        print(
            f"  failed during the faults (then retried): {failed_during} jobs; reasons seen: "
            f"{dict(self.failed_reasons.most_common(8)) or 'none'}"
        )
        print(
            f"  engine: peak RSS {stats.peak_rss / MiB:.1f} MiB, peak open fds {stats.peak_fds}; "
            f"idle after the drain: {fds_idle} fds ({fds_start} in the first engine, "
            "idle after its first download)"
        )
        print(
            "  definitions: verified = done, file in its folder, recorded size, sha256 of a "
            "version the server had while the job existed; corrupted = done but not so; "
            "lost = gone from the table, done without its file, or not done after the calm "
            "drain (failed because a --sha256 file really changed is counted apart); "
            "stray = a file no job owns; crashes = tracebacks in the engine log"
        )
        log = read_text(self.log_path)
        warnings = Counter(
            pattern for line in log.splitlines() for pattern in ENGINE_WARNINGS if pattern in line
        )
        interrupted = sum(int(n) for n in re.findall(r"(\d+) job\(s\) were running when", log))
        restarts = len(re.findall(r"starting (?:again )?from byte 0", log))
        retries = len(re.findall(r"^drayman: job \d+: .*; retrying in", log, re.MULTILINE))
        print(
            f"  engine log: {interrupted} transfers found running after a kill and resumed, "
            f"{retries} retries scheduled, {restarts} restarts from byte 0 (file changed, "
            f"Range ignored or no validator); warnings: {dict(warnings) or 'none'}"
        )
        for kind in ("corrupted", "lost", "stray", "crashes"):
            for line in verdict[kind][:20]:
                print(f"  {kind.upper()}: {line}")
        summary = ", ".join(f"{len(v)} {k}" for k, v in verdict.items())
        print(f"RESULT: {summary}", flush=True)


#: what the engine logs when something went wrong on its side (see the engine log)
ENGINE_WARNINGS = (
    "did not stop in time",
    "a checkpoint failed",
    "could not write the last block",
    "could not save progress",
    "cannot record progress",
    "cannot record its state yet",
    "it will resume from its last recorded offset",
    "it is left alone, taking another name",
)


def lock_holder(path: str) -> str:
    """The pid in an engine's lock file, read from byte 1 (Windows locks byte 0)."""
    try:
        with open(path, "rb") as handle:
            handle.seek(1)
            return handle.read(32).decode("ascii", "replace").strip()
    except OSError:
        return ""


def read_text(path: Path) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def reason_of(error: str | None) -> str:
    """An error message without its numbers and digests, to count kinds of failure."""
    text = re.sub(r"[0-9a-f]{32,}", "<sha256>", error or "no error recorded")
    return re.sub(r"\d+", "N", text)[:90]


def main() -> int:
    # a client hanging up mid-answer is what the faults are for: no tracebacks
    logging.getLogger("aiohttp").setLevel(logging.CRITICAL)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="time with faults (10)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("-j", "--jobs", type=int, default=6, help="the engine's -j (6)")
    parser.add_argument("--backlog", type=int, default=40, help="jobs kept added and not done (40)")
    parser.add_argument(
        "--drain-minutes", type=float, default=8.0, help="deadline of the calm drain (8)"
    )
    parser.add_argument("--workdir", type=Path, help="keep the files here (default: a temp folder)")
    parser.add_argument("--keep", action="store_true", help="keep the work folder even if clean")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="drayman-soak-"))
    workdir.mkdir(parents=True, exist_ok=True)
    code = asyncio.run(Soak(args, workdir).run())
    if code == 0 and not args.keep and args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)
    else:
        print(f"work folder kept: {workdir} (engine log: {workdir / 'engine.log'})")
    return code


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    sys.exit(main())
