"""A job row as aria2's status struct (``tellStatus``): every number a string.

aria2 says ``active`` (downloading), ``waiting`` (queued, not started),
``paused``, ``error``, ``complete`` and ``removed``; drayman's states map one
to one, and ``removed`` is a job removed during this session (its row is
gone, the server remembers it until ``removeDownloadResult``).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from drayman.jobs import Job, JobState
from drayman.queue.progress import JobProgress
from drayman.rpc.gid import gid_of
from drayman.urls import redact_password

ACTIVE, WAITING, PAUSED, ERROR, COMPLETE, REMOVED = (
    "active",
    "waiting",
    "paused",
    "error",
    "complete",
    "removed",
)

STATUS_OF: dict[JobState, str] = {
    JobState.RUNNING: ACTIVE,
    JobState.QUEUED: WAITING,
    JobState.PAUSED: PAUSED,
    JobState.FAILED: ERROR,
    JobState.DONE: COMPLETE,
}

#: aria2's exit codes (its EXIT STATUS): finished, unknown error, removed
FINISHED, UNKNOWN_ERROR, REMOVED_CODE = "0", "1", "31"

#: the piece a bitfield bit stands for (aria2's default --piece-length)
PIECE_LENGTH = 1024 * 1024


def _bitfield(done: int, total: int) -> str:
    """aria2's hex bitfield: one bit per piece, highest bit first, pieces in order.

    drayman's segments are not pieces; the completed length is shown as the
    first pieces done, which is exact for one connection and close for several.
    """
    pieces = -(-total // PIECE_LENGTH)
    full = total if done >= total else done // PIECE_LENGTH * PIECE_LENGTH
    have = min(-(-full // PIECE_LENGTH), pieces)
    bits = "1" * have + "0" * (pieces - have)
    bits += "0" * (-len(bits) % 8)
    return "".join(f"{int(bits[i : i + 8], 2):02x}" for i in range(0, len(bits), 8))


def file_path(job: Job) -> str:
    """The file's absolute path; the empty string until its name is known (as aria2)."""
    if job.final_path is not None:
        return job.final_path
    if job.requested_name:
        return os.path.join(job.dest_dir, job.requested_name)
    return ""


def uris(job: Job) -> list[dict[str, str]]:
    # aria2: "used" once the URI was tried, "waiting" before
    untried = job.state in (JobState.QUEUED, JobState.PAUSED) and not job.bytes_done
    status = "waiting" if untried and not job.attempts else "used"
    return [{"uri": redact_password(job.url), "status": status}]


def files(job: Job, completed: int) -> list[dict[str, Any]]:
    return [
        {
            "index": "1",
            "path": file_path(job),
            "length": str(job.bytes_total or 0),
            "completedLength": str(completed),
            "selected": "true",
            "uris": uris(job),
        }
    ]


def status_of(
    job: Job,
    live: JobProgress | None = None,
    keys: Sequence[str] = (),
    *,
    removed: bool = False,
) -> dict[str, Any]:
    """The struct aria2's ``tellStatus`` answers; only ``keys`` when given."""
    total = job.bytes_total or 0
    completed = job.bytes_done
    speed = 0
    if live is not None and job.state == JobState.RUNNING:
        completed = live.bytes_done
        total = live.bytes_total or total
        speed = int(live.speed)
    status = REMOVED if removed else STATUS_OF[job.state]
    struct: dict[str, Any] = {
        "gid": gid_of(job),
        "status": status,
        "totalLength": str(total),
        "completedLength": str(completed),
        "uploadLength": "0",
        "downloadSpeed": str(speed),
        "uploadSpeed": "0",
        "connections": "1" if status == ACTIVE else "0",
        "pieceLength": str(PIECE_LENGTH),
        "numPieces": str(-(-total // PIECE_LENGTH)),
        "dir": job.dest_dir,
        "files": files(job, completed),
    }
    if total:
        struct["bitfield"] = _bitfield(completed, total)
    if status in (ERROR, COMPLETE, REMOVED):
        code = {ERROR: UNKNOWN_ERROR, COMPLETE: FINISHED, REMOVED: REMOVED_CODE}[status]
        struct["errorCode"] = code
        struct["errorMessage"] = (
            (job.error or "") if status == ERROR else ("Removed" if status == REMOVED else "")
        )
    elif job.error and job.state == JobState.QUEUED:
        # a transient failure, retried later: say why it is waiting
        struct["errorMessage"] = job.error
    if keys:
        return {key: struct[key] for key in keys if key in struct}
    return struct
