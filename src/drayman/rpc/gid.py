"""GIDs: aria2's 16 hex digits, made from the job row, so a job keeps its GID for good.

The first 8 digits are the job id, the last 8 the job's creation time (in
milliseconds, low 32 bits). Both are in the row and never change, so a job
has the same GID in every session and every process; and a job id given
again (drayman numbers on from the highest id left) is a new GID, never
mistaken for the removed download that had it.
"""

from __future__ import annotations

from collections.abc import Iterable

from drayman.jobs import Job
from drayman.rpc.errors import RpcFault

GID_DIGITS = 16
_HEX = frozenset("0123456789abcdefABCDEF")


def gid_of(job: Job) -> str:
    stamp = int(job.created_at * 1000) & 0xFFFFFFFF
    return f"{job.id & 0xFFFFFFFF:08x}{stamp:08x}"


def job_id_in(gid: str) -> int:
    """The job id a full GID carries; :class:`RpcFault` (aria2's words) if it is none."""
    check_gid(gid)
    if len(gid) != GID_DIGITS or int(gid[:8], 16) == 0:
        raise RpcFault(f"Invalid GID {gid}")
    return int(gid[:8], 16)


def check_gid(gid: str) -> None:
    if not gid or len(gid) > GID_DIGITS or not set(gid) <= _HEX:
        raise RpcFault(f"Invalid GID {gid}")


def expand(prefix: str, known: Iterable[str]) -> str:
    """The one known GID that starts with ``prefix`` (aria2 takes unique prefixes)."""
    check_gid(prefix)
    prefix = prefix.lower()
    matches = {gid for gid in known if gid.startswith(prefix)}
    if not matches:
        raise RpcFault(f"GID {prefix} is not found")
    if len(matches) > 1:
        raise RpcFault(f"GID {prefix} is not unique")
    return matches.pop()
