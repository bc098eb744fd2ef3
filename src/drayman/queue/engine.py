"""The engine: a reconciler over the job table.

It starts queued jobs whose time has come, up to the concurrency limits, and
stops transfers whose job is no longer ``running`` in the table (paused or
removed, by this process or another). Commands never talk to the engine
directly; they write the table, and the engine catches up: at once for
writes through :attr:`Engine.queue`, within ``poll_interval`` for writes from
other processes (SQLite's ``data_version`` tells when anything changed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import tzinfo

import aiohttp

from drayman.errors import (
    DraymanError,
    EnvironmentProblem,
    InvalidProxy,
    LinkRefused,
    TooSlow,
    TransferError,
)
from drayman.jobs import Job, JobState
from drayman.names import filename_from_url
from drayman.proxies import ProxyEnvironment, ProxySettings
from drayman.queue.bandlimit import BothBuckets
from drayman.queue.jobqueue import SPEED_SETTING, JobQueue
from drayman.queue.lock import EngineLock
from drayman.queue.progress import (
    EngineSnapshot,
    JobChange,
    JobProgress,
    SpeedMeter,
    TransferProgress,
)
from drayman.queue.proxyroutes import ProxyRoutes, connector_options
from drayman.queue.ratelimit import JobShare, TokenBucket
from drayman.queue.refresh import LinkRefresher
from drayman.queue.retry import RetryPolicy
from drayman.queue.segments import validator_of
from drayman.queue.session import create_session, session_limit, tls_context
from drayman.queue.systemtrust import trust_loaded
from drayman.queue.thumbnails import ThumbnailFetcher
from drayman.queue.transfer import Transfer
from drayman.queue.transferconfig import TransferConfig
from drayman.rules import Rule, connection_limit
from drayman.schedules import Band, ScheduleState, local_zone, state_at
from drayman.storage import Runnable
from drayman.units import human_size


def proxy_settings(config: TransferConfig) -> ProxySettings:
    """The run's proxy choice: ``--proxy`` (or the window's setting), ``--no-proxy``."""
    return ProxySettings(
        proxy=config.proxy, use_environment=config.proxy_from_environment, lost=config.proxy_lost
    )


log = logging.getLogger(__name__)

Subscriber = Callable[[EngineSnapshot], None]


@dataclass(frozen=True)
class EngineConfig:
    concurrency: int = 4
    #: at most this many transfers per host (0 = only the global limit)
    per_host: int = 4
    #: bytes per second for all transfers together (0 = unlimited)
    max_speed: int = 0
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    transfer: TransferConfig = field(default_factory=TransferConfig)
    #: how often to look for writes by other processes
    poll_interval: float = 0.5
    #: how often viewers get a progress snapshot
    progress_interval: float = 0.25
    #: how long shutdown waits for transfers to checkpoint
    stop_timeout: float = 4.0


@dataclass
class _Running:
    job: Job
    transfer: Transfer
    task: asyncio.Task[None]
    meter: SpeedMeter
    #: whether the user was told that this transfer started again from byte 0
    restart_told: bool = False
    #: stopped by a pause band of the schedule: back to the queue, not paused
    held: bool = False

    @property
    def on_network(self) -> bool:
        """Not yet finishing: it holds one of the engine's slots (``concurrency``)."""
        return not self.transfer.progress.finishing


def renamed_note(job: Job) -> str | None:
    """Say so when a done file got another name than asked, not to overwrite a file."""
    name = job.file_name
    if name is None:
        return None
    wanted = job.requested_name
    if wanted is None:
        # named after the URL: "big (1).iso" where the URL says "big.iso"
        from_url = filename_from_url(job.url)
        stem, ext = os.path.splitext(from_url or "")
        taken = _NUMBERED.fullmatch(name)
        if from_url is None or taken is None or (taken["stem"], taken["ext"] or "") != (stem, ext):
            return None
        wanted = from_url
    if wanted == name:
        return None
    return f"{wanted} was already there; saved as {name} (nothing was overwritten)"


#: "name (2).ext": the form a name takes when the plain one is taken
_NUMBERED = re.compile(r"(?P<stem>.*) \(\d+\)(?P<ext>\.[^.]*)?", re.DOTALL)


def _started_again(job: Job, progress: TransferProgress) -> bool:
    """Whether a transfer that had bytes on record threw them away (a server
    that ignores ranges, a file changed on the server): what it holds is no
    more than what it received since it began."""
    if job.bytes_done <= 0 or progress.received <= 0:
        return False
    return progress.position - progress.received < job.bytes_done // 2


class Engine:
    """Downloads the jobs of one database. Use ``async with Engine(path) as e:``."""

    def __init__(
        self,
        db_path: str | os.PathLike[str],
        config: EngineConfig | None = None,
        *,
        clock: Callable[[], float] = time.time,
        timezone: tzinfo | None = None,
    ) -> None:
        """``clock`` is the wall clock (seconds since the epoch) that retries
        and the schedule read, and ``timezone`` the zone of the schedule's
        bands (default: this computer's); tests pass their own."""
        self.db_path = os.fspath(db_path)
        self.config = config or EngineConfig()
        self._clock = clock
        self._zone = timezone or local_zone()
        #: the schedule's bands, and what they say now
        self._schedules: list[Band] = []
        self.schedule = ScheduleState()
        #: the clock reading the schedule was last applied at
        self.schedule_checked_at: float | None = None
        #: a limit band's speed, shared by the jobs that follow the schedule
        self._band_limiter = TokenBucket(0)
        self._lock = EngineLock(self.db_path)
        self._queue: JobQueue | None = None
        self._links: LinkRefresher | None = None
        self._session: aiohttp.ClientSession | None = None
        #: which proxy each request goes through (see drayman.proxies)
        self._routes: ProxyRoutes | None = None
        self._limiter = TokenBucket(self.config.max_speed)
        self._running: dict[int, _Running] = {}
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._stopping = False
        self._tasks: list[asyncio.Task[None]] = []
        self._subscribers: list[Subscriber] = []
        self._changes: list[JobChange] = []
        #: jobs this engine marked failed: what `run --until-idle` answers
        #: for (failures left by earlier runs are not this run's)
        self.failed_here: set[int] = set()
        #: commands given through self.queue so far (see _on_change)
        self._changes_seen = 0
        #: the stored global speed limit last applied
        self._speed_setting_seen: str | None = None
        #: why the database could not be used on the last reconciliation
        self._db_trouble: str | None = None
        #: the table may hold news beyond "a transfer ended": a command was
        #: given, here or by another process (data_version moved)
        self._table_changed = True
        self._rules: list[Rule] = []

    # -- life cycle ----------------------------------------------------------------

    @property
    def queue(self) -> JobQueue:
        """The command API; writes through it wake the engine at once."""
        if self._queue is None:
            raise RuntimeError("the engine is not started")
        return self._queue

    async def start(self) -> None:
        """Take the engine lock, recover from a crash, and start scheduling.

        Raises :class:`EngineAlreadyRunning` if another engine holds the lock,
        :class:`InvalidCAFile` for a bad ``config.transfer.ca_files`` entry,
        :class:`InvalidProxy` for a proxy variable that is no proxy URL.
        """
        ca_files = self.config.transfer.ca_files
        # before anything is opened: a bad CA file or proxy variable leaves nothing to undo
        await trust_loaded()  # the system's authorities, before any handshake (.systemtrust)
        ssl_context = await asyncio.to_thread(tls_context, ca_files) if ca_files else None
        try:
            environment = ProxyEnvironment.from_environ(os.environ)
        except InvalidProxy:
            if self.config.transfer.proxy_from_environment:
                raise
            environment = ProxyEnvironment()  # --no-proxy: a bad variable does not matter
        # open first: it creates the folder and refuses a foreign file
        self._queue = await JobQueue.open(self.db_path)
        try:
            self._lock.acquire()
            recovered = await self._queue.store.recover_running()
            if recovered:
                log.info("%d job(s) were running when drayman stopped; resuming them", recovered)
        except BaseException:
            await self._queue.close()
            self._queue = None
            self._lock.release()
            raise
        self._queue.on_change(self._on_change)
        self._links = LinkRefresher(self._queue.store, page_proxy=self._page_proxy)
        self._session = create_session(
            self.config.transfer, self.config.concurrency, ssl_context=ssl_context
        )
        transfer, concurrency = self.config.transfer, self.config.concurrency
        self._routes = ProxyRoutes(
            self._session,
            proxy_settings(transfer),
            environment,
            make_session=lambda connector: create_session(
                transfer, concurrency, connector=connector
            ),
            connector_options=connector_options(session_limit(transfer, concurrency), ssl_context),
        )
        self._tasks = [
            asyncio.create_task(self._reconcile_loop(), name="drayman-reconcile"),
            asyncio.create_task(self._progress_loop(), name="drayman-progress"),
        ]

    def _on_change(self) -> None:
        # a command may have queued work: not idle until a reconciliation that
        # started after this change says so
        self._changes_seen += 1
        self._table_changed = True
        self._idle.clear()
        self._wake.set()

    async def stop(self) -> None:
        """Checkpoint every transfer, put the jobs back in the queue, release the lock.

        Bounded by ``config.stop_timeout``: a transfer stuck in a dead disk is
        abandoned rather than holding the process hostage (its offset in the
        database is still a safe, older one).
        """
        if self._stopping:
            return
        self._stopping = True
        for task in self._tasks:
            task.cancel()
        for running in list(self._running.values()):
            running.task.cancel()
        pending = [r.task for r in self._running.values()] + self._tasks
        if pending:
            _, still = await asyncio.wait(pending, timeout=self.config.stop_timeout)
            if still:
                log.warning("%d transfer(s) did not stop in time: %s", len(still), still)
        self._publish()
        if self._routes is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1.0):
                    await self._routes.close()
        if self._session is not None:
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1.0):
                    await self._session.close()
        if self._queue is not None:
            with contextlib.suppress(Exception):
                await self._queue.close()
        self._lock.release()

    async def __aenter__(self) -> Engine:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    async def wait_idle(self) -> None:
        """Return when no job is queued or running."""
        self._wake.set()
        await self._idle.wait()

    @property
    def active_ids(self) -> list[int]:
        """The jobs on the network now: what ``concurrency`` counts (a job whose
        bytes are all in hand, being made durable, is running but not active)."""
        return [job_id for job_id, running in self._running.items() if running.on_network]

    # -- live settings ---------------------------------------------------------------

    def thumbnails(self, cache_dir: str | os.PathLike[str] | None = None) -> ThumbnailFetcher:
        """A thumbnail fetcher on the engine's HTTP session (see :mod:`.thumbnails`)."""
        if self._session is None:
            raise RuntimeError("the engine is not started")
        return ThumbnailFetcher(cache_dir, session=self._session, routes=self._routes)

    def reconfigure(self, config: EngineConfig) -> None:
        """Apply new settings live: limits at once, timeouts and retries to new transfers."""
        self.config = replace(config, concurrency=max(config.concurrency, 1))
        self._limiter.set_rate(config.max_speed)
        if self._routes is not None:
            self._routes.settings = proxy_settings(config.transfer)
        self._wake.set()

    def set_max_speed(self, rate: int) -> None:
        self.reconfigure(replace(self.config, max_speed=rate))

    def set_concurrency(self, concurrency: int, per_host: int | None = None) -> None:
        per_host = self.config.per_host if per_host is None else max(per_host, 0)
        self.reconfigure(replace(self.config, concurrency=concurrency, per_host=per_host))

    # -- viewers ------------------------------------------------------------------------

    def subscribe(self, subscriber: Subscriber) -> Callable[[], None]:
        """Get an :class:`EngineSnapshot` a few times a second; returns an unsubscribe."""
        self._subscribers.append(subscriber)
        return lambda: self._subscribers.remove(subscriber)

    def _publish(self) -> None:
        now = time.monotonic()
        active = []
        for job_id, running in self._running.items():
            progress = running.transfer.progress
            speed = running.meter.sample(now, progress.received)
            self._tell_restart(running)
            active.append(
                JobProgress(
                    job_id=job_id,
                    name=progress.file_name,
                    bytes_done=progress.position,
                    bytes_total=progress.bytes_total,
                    speed=speed,
                    resumable=progress.resumable,
                )
            )
        changes, self._changes = tuple(self._changes), []
        snapshot = EngineSnapshot(
            active=tuple(active), changes=changes, total_speed=sum(p.speed for p in active)
        )
        for subscriber in list(self._subscribers):
            try:
                subscriber(snapshot)
            except Exception:
                log.exception("a progress subscriber failed")

    def _tell_restart(self, running: _Running) -> None:
        """Say, once and without -v, that a transfer threw its saved bytes away."""
        progress = running.transfer.progress
        if running.restart_told or not _started_again(running.job, progress):
            return
        running.restart_told = True
        if progress.server_ignores_ranges:
            why = "the server cannot resume"
        elif validator_of(running.job) is None:
            etag = "only a weak ETag" if running.job.etag else "no ETag"
            why = f"the server names no version of the file ({etag}, no Last-Modified)"
        else:
            why = "it could not resume"
        saved = human_size(running.job.bytes_done)
        self._changes.append(
            JobChange(
                running.job.id,
                JobState.RUNNING,
                name=progress.file_name,
                note=f"{why}; starting again from 0 (the {saved} saved before are lost)",
            )
        )

    async def _progress_loop(self) -> None:
        while True:
            await asyncio.sleep(self.config.progress_interval)
            self._publish()

    # -- the reconciler -------------------------------------------------------------------

    async def _reconcile_loop(self) -> None:
        store = self.queue.store
        seen_version = -1
        while not self._stopping:
            due: float | None = None
            again = False
            try:
                # what the table says after reconciling: read by the claim in its
                # own transaction, else in one read. A write by another process
                # before it is acted on in another round at once; one after it,
                # by the polls below
                seen = await self._reconcile()
                version, due = seen if seen is not None else await store.poll()
                if version != seen_version:
                    # another process wrote: commands may be among its writes
                    self._table_changed = again = True
                seen_version = version
                change = self.schedule.next_change
                if change is not None and (due is None or change < due):
                    due = change
                if self._db_trouble is not None:
                    log.warning("the database can be used again")
                    self._db_trouble = None
            except EnvironmentProblem as exc:
                # locked by another program, a full disk: keep every transfer
                # going and try again (said once, not at every poll)
                if str(exc) != self._db_trouble:
                    log.warning("%s; trying again", exc)
                self._db_trouble = str(exc)
                self._table_changed = True
            if again:
                continue
            timeout = self.config.poll_interval
            if due is not None:
                timeout = min(timeout, max(due - self._clock(), 0.0) + 0.01)
            while not self._stopping:
                # asyncio.timeout, not wait_for: on 3.11 wait_for can swallow a
                # cancellation that races with the event, and stop() then waits
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(timeout):
                        await self._wake.wait()
                if self._wake.is_set():
                    self._wake.clear()
                    break
                if self._db_trouble is not None:
                    break
                try:
                    version = await store.data_version()
                except EnvironmentProblem:
                    break
                if version != seen_version:
                    seen_version = version
                    self._table_changed = True
                    break
                if due is not None and self._clock() >= due:
                    break
                if self._schedule_moved():
                    break

    async def _apply_speed_limits(self) -> None:
        """Limits written by any process (``drayman limit``) take effect here."""
        store = self.queue.store
        stored = await store.get_setting(SPEED_SETTING)
        if stored is not None and stored != self._speed_setting_seen:
            self._speed_setting_seen = stored
            self.config = replace(self.config, max_speed=int(stored))
            self._limiter.set_rate(int(stored))
        if self._running:
            for job_id, rate in (await store.job_speeds(self._running)).items():
                running = self._running.get(job_id)
                if running is not None and running.transfer.job_limiter.rate != (rate or 0):
                    running.transfer.job_limiter.set_rate(rate or 0)

    @property
    def max_speed(self) -> int:
        """The global limit in force, bytes/s (0 = none)."""
        return self._limiter.rate

    def job_speed_limit(self, job_id: int) -> int | None:
        """The limit in force for a running job, or None if it is not running."""
        running = self._running.get(job_id)
        return None if running is None else running.transfer.job_limiter.rate

    async def _reconcile(self) -> tuple[int, float | None] | None:
        """One round; (data_version, the next retry due) if its claim read them."""
        store = self.queue.store
        generation = self._changes_seen
        if self._table_changed:
            # a command (here or in another process) may have paused, removed
            # or limited jobs, or changed the rules; a transfer that merely
            # ended changed nothing of that, and skips these reads
            self._table_changed = False
            try:
                await self._apply_speed_limits()
                self._rules = await store.rules()
                self._schedules = await store.schedules()
                # 1. stop what the table no longer says is running
                if self._running:
                    states = await store.states(self._running)
                    for job_id, running in list(self._running.items()):
                        state = states.get(job_id)
                        if state != JobState.RUNNING and not running.task.done():
                            log.info("job %d: %s; stopping", job_id, state or "removed")
                            running.task.cancel()
                            # viewers drop its live bar: paused, not frozen mid-download
                            name = running.transfer.progress.file_name
                            self._changes.append(
                                JobChange(
                                    job_id,
                                    state or JobState.RUNNING,
                                    name=name,
                                    removed=state is None,
                                )
                            )
            except BaseException:
                self._table_changed = True
                raise
        self._apply_schedule()
        # 2. start what the limits allow: jobs whose bytes are all in hand hold
        # no slot while their files are made durable (fsyncs, link, "done"), so
        # the next transfer starts meanwhile; at most as many again finish at once
        concurrency = self.config.concurrency
        free = min(concurrency - len(self.active_ids), 2 * concurrency - len(self._running))
        seen = None
        if free > 0 and not self._stopping:
            seen = await self._start_jobs(free)
        # 3. idle?
        if not self._running:
            stale = generation != self._changes_seen
            if not stale and not await store.has_work():
                self._idle.set()
                return seen
        self._idle.clear()
        return seen

    async def _start_jobs(self, free: int) -> tuple[int, float | None]:
        """Claim and launch up to ``free`` runnable jobs, within the per-host limits;
        return (data_version, the next retry due), read in the claim's transaction."""
        rules = self._rules
        running_hosts = Counter(r.job.host for r in self._running.values() if r.on_network)
        concurrency, per_host_default = free, self.config.per_host

        def pick(runnable: Runnable) -> list[int]:
            # on the database's thread, in the claim's transaction: only what is
            # copied here, never the engine's own state
            per_host = Counter(running_hosts)
            left = concurrency

            def limit(host: str) -> int:
                return connection_limit(rules, host) or per_host_default

            def at_limit(host: str) -> bool:
                return bool(limit(host)) and per_host[host] >= limit(host)

            busy = {host for host in per_host if at_limit(host)}
            chosen: list[int] = []
            # the query skips hosts already at their limit; a host that reaches it
            # within this batch is skipped here and excluded from the next query,
            # so each round either fills the slots or shrinks the candidates
            while left > 0:
                skipped = False
                taken = set(chosen)
                for job in runnable(left + len(taken), busy):
                    if job.id in taken or left <= 0:
                        continue
                    if at_limit(job.host):
                        busy.add(job.host)
                        skipped = True
                        continue
                    chosen.append(job.id)
                    per_host[job.host] += 1
                    left -= 1
                if not skipped:
                    break
            return chosen

        # one write chooses and claims them all; the rows come back as the claim
        # stored them, with their cookies: the transfer reads neither again
        claimed = await self.queue.store.claim_runnable(
            pick,
            held=self.schedule.paused,
            # never sent around the proxy the user chose: held until it is known
            own_proxy_only=self.config.transfer.proxy_lost is not None,
        )
        for one in claimed.claimed:  # best first
            self._launch(one.job, rules, cookies=one.cookies)
        return claimed.data_version, claimed.next_attempt_at

    def _page_proxy(self, job: Job) -> str | None:
        """What a job's page is read through when its link is renewed: the way a
        request to the page would go (its proxy, a rule's, run's, the variables'),
        "" for straight. :class:`.ProxyLost` when that is a lost proxy."""
        routes, page = self._routes, job.page_url
        if routes is None or page is None:
            return None
        return routes.proxy_for(page, job_proxy=job.proxy, rules=self._rules) or ""

    def _launch(self, job: Job, rules: Sequence[Rule], *, cookies: str | None) -> None:
        assert self._session is not None
        # the job's fair part of the total limit, however many connections it
        # opens, and of a schedule band's limit unless it ignores the schedule
        limiter: TokenBucket = JobShare(self._limiter)
        if not job.ignore_schedule:
            limiter = BothBuckets(limiter, JobShare(self._band_limiter))
        config = self.config.transfer
        if job.split is not None:  # its own connections (aria2's split, over the RPC)
            config = replace(config, split=job.split)
        transfer = Transfer(
            job,
            self.queue.store,
            self._session,
            config,
            limiter=limiter,
            rules=rules,
            clock=self._clock,
            routes=self._routes,
            claimed=True,
            cookies=cookies,
            on_finishing=self._finishing,
        )
        task = asyncio.create_task(self._run_job(job, transfer), name=f"drayman-job-{job.id}")
        self._running[job.id] = _Running(job, transfer, task, SpeedMeter())
        self._count_users()
        self._changes.append(JobChange(job.id, JobState.RUNNING, name=job.file_name))

    async def _run_job(self, job: Job, transfer: Transfer) -> None:
        store = self.queue.store
        try:
            try:
                await transfer.run()
            finally:
                # a transfer over before the next snapshot still tells its restart
                running = self._running.get(job.id)
                if running is not None:
                    self._tell_restart(running)
            finished = transfer.job
            self._changes.append(
                JobChange(
                    job.id,
                    JobState.DONE,
                    name=finished.file_name,
                    path=finished.final_path,
                    note=renamed_note(finished),
                )
            )
        except asyncio.CancelledError:
            running = self._running.get(job.id)
            if running is not None and running.held and not self._stopping:
                # a pause band: back to the queue (a user's pause meanwhile wins)
                await asyncio.shield(self._release_held(job.id))
            elif self._stopping:
                try:
                    await asyncio.shield(store.release(job.id))
                except EnvironmentProblem as exc:
                    # still "running" in the table: the next start queues it again
                    log.warning("job %d: %s", job.id, exc)
                except ValueError:
                    # stop() gave up waiting (a lock outlasted stop_timeout) and
                    # closed the database under us: the next start queues it again
                    log.info("job %d: left running; the next start resumes it", job.id)
            # else: paused or removed; the table already says so
        except EnvironmentProblem as exc:
            # the database, not the download, failed (locked, disk full): the
            # job keeps its place and its attempts; its offset is an older one
            await asyncio.shield(self._after_db_error(job, exc))
        except TransferError as exc:
            await asyncio.shield(self._after_failure(job, transfer, exc))
        except DraymanError as exc:
            log.warning("job %d: %s", job.id, exc)
            await asyncio.shield(self._after_failure(job, transfer, exc))
        except Exception as exc:
            log.exception("job %d: unexpected error", job.id)
            error = TransferError(f"internal error: {type(exc).__name__}: {exc}")
            await asyncio.shield(self._after_failure(job, transfer, error))
        finally:
            self._running.pop(job.id, None)
            self._count_users()
            self._wake.set()

    def _finishing(self) -> None:
        """A transfer's network part ended (or began again): its slot is free (or taken)."""
        self._count_users()
        self._wake.set()

    def _count_users(self) -> None:
        """How many transfers share each bucket (each gets a share of its rate)."""
        on_network = [r for r in self._running.values() if r.on_network]
        self._limiter.users = len(on_network)
        self._band_limiter.users = sum(not r.job.ignore_schedule for r in on_network)

    def _apply_schedule(self) -> None:
        """Enforce what the bands say now: a limit, or a hold on the queue."""
        now = self._clock()
        state = state_at(self._schedules, now, self._zone)
        if state.paused != self.schedule.paused:
            if state.paused:
                until = state.until_text(self._zone, now)
                log.info("the schedule pauses the queue until %s", until)
            else:
                log.info("the schedule's pause is over")
        if state.limit != self._band_limiter.rate:
            self._band_limiter.set_rate(state.limit)
        self.schedule = state
        self.schedule_checked_at = now
        if state.paused:
            for job_id, running in self._running.items():
                if not running.job.ignore_schedule and not running.held:
                    log.info("job %d: the schedule pauses it; it resumes at the band's end", job_id)
                    running.held = True
                    running.task.cancel()

    def _schedule_moved(self) -> bool:
        """Do the bands say something new now? (Time passed, or the clock was set.)"""
        if not self._schedules:
            return False
        now = self._clock()
        state = state_at(self._schedules, now, self._zone)
        old = self.schedule
        if (state.paused, state.paused_until, state.limit) != (
            old.paused,
            old.paused_until,
            old.limit,
        ):
            return True  # the reconciliation applies it, and notes the time
        self.schedule_checked_at = now
        return False

    @property
    def timezone(self) -> tzinfo:
        """The time zone the schedule's bands are read in."""
        return self._zone

    @property
    def schedule_limit(self) -> int:
        """The limit a schedule band puts on its jobs now, bytes/s (0 = none)."""
        return self._band_limiter.rate

    async def _release_held(self, job_id: int) -> None:
        """Put a job the schedule stopped back in the queue, its bytes checkpointed."""
        try:
            if await self.queue.store.release(job_id):
                self._changes.append(JobChange(job_id, JobState.QUEUED))
        except EnvironmentProblem as exc:
            # still "running" in the table: the next start queues it again
            log.warning("job %d: %s", job_id, exc)

    async def _after_failure(self, job: Job, transfer: Transfer, exc: DraymanError) -> None:
        store = self.queue.store
        # progress starts the count again, unless the attempt was cut for
        # being too slow: a drip brings a few bytes every time, forever
        progressed = transfer.made_progress and not isinstance(exc, TooSlow)
        policy = self.config.retry
        if progressed:
            attempts = 1
        elif policy.spends_attempt(exc):
            attempts = job.attempts + 1
        else:
            attempts = job.attempts  # offline: waiting costs the job nothing
        message = " ".join(str(exc).split())
        transient = isinstance(exc, TransferError) and exc.transient
        if transient and not policy.exhausted(attempts, exc):
            delay = policy.delay_after(exc, attempts)
            log.info("job %d: %s; retrying in %.0f s", job.id, message, delay)
            await self._requeue(job.id, message, attempts, delay)
        else:
            if isinstance(exc, LinkRefused) and job.page_url and self._links is not None:
                # an expired signed link: its page may give a fresh one
                why = await self._links.refresh(job)
                if why is None:
                    count = self._links.count(job.id)
                    delay = 0.0 if count <= 1 else policy.delay(count)
                    await self._requeue(
                        job.id, f"{message}; a fresh link came from its page", attempts, delay
                    )
                    return
                message = f"{message}; {why}"
            if transient:
                message = f"{message} (gave up after {attempts} attempts)"
            log.info("job %d failed: %s", job.id, message)
            if await self._write_until_stored(
                job.id,
                lambda: store.fail(
                    job.id,
                    error=message,
                    attempts=attempts,
                    bytes_total=transfer.progress.bytes_total,
                ),
            ):
                self.failed_here.add(job.id)
                self._changes.append(JobChange(job.id, JobState.FAILED, error=message))

    async def _after_db_error(self, job: Job, exc: EnvironmentProblem) -> None:
        """Put the job back in the queue, as it was, once the database takes writes."""
        message = " ".join(str(exc).split())
        log.warning("job %d: %s; it will resume from its last recorded offset", job.id, message)
        await self._requeue(job.id, message, job.attempts, self.config.retry.delay(1))

    async def _requeue(self, job_id: int, message: str, attempts: int, delay: float) -> None:
        """Back to the queue, due ``delay`` seconds after the write finally lands."""
        at: float | None = None

        def requeue() -> Awaitable[bool]:
            nonlocal at
            at = self._clock() + delay
            return self.queue.store.requeue(
                job_id, error=message, attempts=attempts, next_attempt_at=at
            )

        if await self._write_until_stored(job_id, requeue):
            self._changes.append(
                JobChange(job_id, JobState.QUEUED, error=message, next_attempt_at=at)
            )

    async def _write_until_stored(self, job_id: int, write: Callable[[], Awaitable[bool]]) -> bool:
        """Record a job's outcome, waiting out a locked or full database.

        The job stays in ``_running`` meanwhile, so nothing else starts it.
        If the engine stops first, the row still says ``running``, and the
        next start queues it again (DESIGN.md, invariant 6).
        """
        delay, told = 0.2, False
        while True:
            try:
                return await write()
            except EnvironmentProblem as exc:
                if self._stopping:
                    return False
                if not told:
                    log.warning("job %d: cannot record its state yet (%s)", job_id, exc)
                    told = True
            except Exception:
                if self._stopping:  # the connection closed under us: the next start recovers
                    return False
                raise
            await asyncio.sleep(delay)
            if self._stopping:
                return False
            delay = min(delay * 2, 5.0)
