"""What the engine tells its viewers, a few times a second, never per chunk."""

from __future__ import annotations

import collections
from dataclasses import dataclass

from drayman.jobs import Job, JobState


@dataclass(frozen=True, slots=True)
class JobProgress:
    job_id: int
    name: str | None
    bytes_done: int
    bytes_total: int | None
    #: bytes per second, averaged over the last few seconds
    speed: float
    #: False once the server has shown it cannot resume (it ignored a range
    #: request, or names no version of the file): what is stopped now starts
    #: again from byte 0
    resumable: bool = True

    @property
    def eta(self) -> float | None:
        """Seconds until done at the current speed, if that can be known."""
        if self.bytes_total is None or self.speed <= 0:
            return None
        return max(self.bytes_total - self.bytes_done, 0) / self.speed


@dataclass(frozen=True, slots=True)
class JobChange:
    """A state the engine gave a job (started, done, failed, retrying...)."""

    job_id: int
    state: JobState
    name: str | None = None
    error: str | None = None
    next_attempt_at: float | None = None
    #: something the user should know without -v ("the server cannot resume; ...")
    note: str | None = None
    #: the job left the list (``state`` is then the last one it had)
    removed: bool = False
    #: where a done file is (its absolute path)
    path: str | None = None


@dataclass(frozen=True, slots=True)
class EngineSnapshot:
    active: tuple[JobProgress, ...]
    changes: tuple[JobChange, ...]
    total_speed: float


class SpeedMeter:
    """Bytes per second over a sliding window of samples."""

    def __init__(self, window: float = 3.0) -> None:
        self.window = window
        self._samples: collections.deque[tuple[float, int]] = collections.deque()

    def sample(self, now: float, received: int) -> float:
        samples = self._samples
        samples.append((now, received))
        while len(samples) > 2 and now - samples[1][0] >= self.window:
            samples.popleft()
        first_time, first_bytes = samples[0]
        elapsed = now - first_time
        return (received - first_bytes) / elapsed if elapsed > 0 else 0.0


class TransferProgress:
    """Counters the engine samples a few times a second; updated per block only."""

    __slots__ = (
        "bytes_total",
        "file_name",
        "finishing",
        "job_id",
        "position",
        "received",
        "server_ignores_ranges",
        "server_names_no_version",
    )

    def __init__(self, job: Job) -> None:
        self.job_id = job.id
        self.file_name = job.file_name
        #: bytes of the file we have (written or buffered)
        self.position = job.bytes_done
        self.bytes_total = job.bytes_total
        #: bytes read from the network by this transfer (for the speed)
        self.received = 0
        #: the server answered a range request of this transfer with the whole
        #: file (or the wrong range): the rest comes over one connection from
        #: byte 0, and what was saved before is lost. The one record of it: the
        #: transfer and its segments set it, the engine shows it
        self.server_ignores_ranges = False
        #: the server's answer carries neither a strong ETag nor a Last-Modified:
        #: nothing would show a resume that the file is still the same, so what
        #: is stopped starts again from byte 0 (never two versions spliced)
        self.server_names_no_version = False
        #: every byte is in hand and the network is done with: the file is
        #: being made durable and given its name (fsyncs, link, "done"). The
        #: engine then lets another job have the slot (:meth:`.Landing.finishing`)
        self.finishing = False

    @property
    def resumable(self) -> bool:
        """Whether what this transfer saved can be resumed from: not when the
        server ignored a range or names no version of the file."""
        return not (self.server_ignores_ranges or self.server_names_no_version)
