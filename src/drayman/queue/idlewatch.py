"""When is the queue done? Once, after the last job ends.

Armed, the watch waits for work: the jobs queued or running then, and any
queued later (a shutdown must not cut off a download added meanwhile). The
queue is done when none of them is queued or running any more: each ended
(done or failed; a job you paused counts as set aside), and no failed
attempt waits for its retry (such a job is still queued, with its time). A
queue held by a schedule band is not done. An empty queue is never done:
there is nothing to wait for.

The watch reads the job table, so it works the same for the engine of
``drayman run`` and for a window that only views another process's engine.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from drayman.jobs import JobState
from drayman.queue.jobqueue import JobQueue


@dataclass(frozen=True)
class QueueDone:
    """The jobs that ended since the watch was armed."""

    #: final paths of the jobs that finished
    files: tuple[str, ...]
    failed: int


class IdleWatch:
    """Tells once (per batch) that the queue is done."""

    def __init__(self, queue: JobQueue, *, clock: Callable[[], float] = time.time) -> None:
        self._queue = queue
        self._clock = clock
        self._armed_at: float | None = None
        self._saw_work = False

    async def arm(self) -> None:
        """Start watching: the jobs queued or running now are the batch."""
        self._armed_at = self._clock()
        self._saw_work = await self._queue.has_work()

    def note_work(self) -> None:
        """A job started (the engine says so): a batch too quick for a poll still counts."""
        if self._armed_at is not None:
            self._saw_work = True

    def disarm(self) -> None:
        self._armed_at = None
        self._saw_work = False

    @property
    def armed(self) -> bool:
        return self._armed_at is not None

    async def check(self) -> QueueDone | None:
        """The batch's outcome if the queue is done now, else None; then it waits for
        the next batch (what is queued after)."""
        if self._armed_at is None:
            return None
        if await self._queue.has_work():
            self._saw_work = True
            return None
        if not self._saw_work:
            return None
        since, self._armed_at, self._saw_work = self._armed_at, self._clock(), False
        ended = [
            job
            for job in await self._queue.jobs_updated_since(since)
            if job.state in (JobState.DONE, JobState.FAILED)
            and job.finished_at is not None
            and job.finished_at >= since
        ]
        files = tuple(
            job.final_path
            for job in ended
            if job.state == JobState.DONE and job.final_path is not None
        )
        return QueueDone(files=files, failed=sum(job.state == JobState.FAILED for job in ended))
