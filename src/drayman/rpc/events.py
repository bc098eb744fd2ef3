"""aria2's notifications, from the job table as the window sees it.

The table is the one source of truth: a job started by this engine, paused
from the window, or removed by ``drayman rm`` in another process is a row
that changed. This watcher diffs the rows' states, woken at once by this
process's commands and the engine's own state changes, and within
``poll_interval`` by writes of other processes (SQLite's data_version).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable

from drayman.errors import EnvironmentProblem
from drayman.jobs import Job, JobState
from drayman.queue.jobqueue import JobQueue

log = logging.getLogger(__name__)

START = "aria2.onDownloadStart"
PAUSE = "aria2.onDownloadPause"
STOP = "aria2.onDownloadStop"
COMPLETE = "aria2.onDownloadComplete"
ERROR = "aria2.onDownloadError"

#: the notification a job's new state calls for
ON_STATE = {JobState.RUNNING: START, JobState.PAUSED: PAUSE, JobState.DONE: COMPLETE}
ON_STATE[JobState.FAILED] = ERROR

#: a row that disappears in one of these was stopped by the user (aria2's
#: "removed"); a finished or failed one was only a result cleared away
UNFINISHED = frozenset({JobState.QUEUED, JobState.RUNNING, JobState.PAUSED})

Notify = Callable[[str, Job], None]


def notifications_for(old: JobState | None, new: JobState) -> list[str]:
    """What a client is told when a job goes from ``old`` (None: new row) to ``new``."""
    if old == new:
        return []
    said = ON_STATE.get(new)
    if said is None:
        return []
    if new in (JobState.DONE, JobState.FAILED) and old != JobState.RUNNING:
        # started and ended between two looks: a client still hears it start
        return [START, said]
    return [said]


class JobEvents:
    """Watches the table; calls ``notify(method, job)`` and ``on_removed(job)``."""

    def __init__(
        self,
        queue: JobQueue,
        notify: Notify,
        on_removed: Callable[[Job], None],
        *,
        poll_interval: float = 0.5,
    ) -> None:
        self.queue = queue
        self.notify = notify
        self.on_removed = on_removed
        self.poll_interval = poll_interval
        self._jobs: dict[int, Job] = {}
        self._wake = asyncio.Event()

    def learn(self, job: Job) -> None:
        """Know ``job`` from now on: if it goes before the next look, that look still
        says it stopped (a row added and removed between two looks was never seen)."""
        self._jobs.setdefault(job.id, job)

    def poke(self) -> None:
        """Something changed in this process: look now."""
        self._wake.set()

    async def run(self) -> None:
        queue = self.queue
        self._jobs = {job.id: job for job in await self.queue.jobs()}
        since = time.time()
        seen = await queue.data_version()
        while True:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.poll_interval):
                    await self._wake.wait()
            try:
                version = await queue.data_version()
                if not self._wake.is_set() and version == seen:
                    continue
                self._wake.clear()
                seen = version
                started = time.time()
                await self._look(since)
                since = started
            except EnvironmentProblem as exc:  # locked for now: the next look catches up
                log.info("RPC notifications wait for the database: %s", exc)

    async def _look(self, since: float) -> None:
        queue = self.queue
        # a second back: another process's clock, and writes in the same tick
        changed = await queue.jobs_updated_since(since - 1.0)
        present = set(await queue.ids())
        for job in changed:
            if job.id not in present:
                continue
            old = self._jobs.get(job.id)
            self._jobs[job.id] = job
            for method in notifications_for(None if old is None else old.state, job.state):
                self.notify(method, job)
        for job_id in set(self._jobs) - present:
            job = self._jobs.pop(job_id)
            if job.state in UNFINISHED:
                self.on_removed(job)
                self.notify(STOP, job)
