"""The segment table of a segmented download: which bytes each connection fetches.

A file of ``total`` bytes is tiled by segments ``[start, end)``; each holds
``[start, written)`` in the file (writes returned) and ``[start, received)``
in hand (gathered, being written or written). The functions here plan the
table, rebuild it on resume, share the work (an idle connection takes an
unclaimed segment, else steals the upper half of the slowest one's rest) and
say what is held; :mod:`.segmented` runs the connections over it.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import aiohttp

from drayman.headers import ContentRange, if_range_validator, parse_content_range
from drayman.jobs import Job
from drayman.queue.partfile import HAVE_PWRITE
from drayman.queue.transferconfig import TransferConfig
from drayman.rules import Rule, connection_limit
from drayman.storage import SegmentRecord


@dataclass(eq=False, slots=True)
class Segment:
    start: int
    #: first byte after the segment; work stealing moves it down
    end: int
    #: next byte to read: [start, received) is held (gathered, being written or written)
    received: int
    #: [start, written) is in the file (its writes returned)
    written: int
    busy: bool = False
    #: the end of the writes returned, as the writing thread saw it (ahead of
    #: ``written`` until the loop hears of it): what the live note claims
    returned: int = 0
    #: when its connection took it (``time.monotonic()``) and what it held then
    claimed_at: float = 0.0
    claimed_from: int = 0

    def claim(self, now: float) -> None:
        """A connection takes the segment at ``now``: its speed is timed from here."""
        self.busy = True
        self.claimed_at, self.claimed_from = now, self.received

    def seconds_left(self, now: float) -> float | None:
        """How long its connection needs for the rest at its speed so far
        (inf: nothing came yet; None: too early to tell)."""
        elapsed = now - self.claimed_at
        if elapsed < SPEED_AFTER:
            return None
        got = self.received - self.claimed_from
        return (self.end - self.received) * elapsed / got if got > 0 else math.inf


#: a connection's speed is not judged before it has run this long (seconds)
SPEED_AFTER = 0.25


def validator_of(job: Job) -> str | None:
    """What If-Range carries: the strong ETag, else Last-Modified; None: no resume."""
    return if_range_validator(job.etag, job.last_modified)


def connections_for(
    config: TransferConfig,
    rules: Sequence[Rule],
    job: Job,
    response: aiohttp.ClientResponse,
    total: int | None,
    *,
    server_ignores_ranges: bool,
) -> int:
    """How many connections a single stream's first answer may grow into (1: none).

    Only a file of known size, with a validator to pin it down, from a server
    that does not refuse ranges outright; and only when what is left is large
    enough that extra connections pay for themselves (``split_min_size``).
    ``server_ignores_ranges``: a range request of this transfer was ignored.
    """
    if total is None or config.split < 2 or not HAVE_PWRITE or response.status not in (200, 206):
        return 1
    if server_ignores_ranges:
        return 1
    left = total - first_byte(response)
    if left < config.split_min_size or validator_of(job) is None:
        return 1
    if response.headers.get("Accept-Ranges", "").strip().lower() == "none":
        return 1
    return max(connection_cap(config, rules, job, left), 1)


def connection_cap(config: TransferConfig, rules: Sequence[Rule], job: Job, left: int) -> int:
    """Connections worth opening for ``left`` bytes, within the host rules' limit."""
    wanted = min(config.split, max(left // max(config.min_segment, 1), 1))
    # a host rule's limit holds for the connections of one job too
    cap = connection_limit(rules, job.host)
    return min(wanted, cap) if cap else wanted


def first_byte(response: aiohttp.ClientResponse) -> int:
    """Where an already checked 200 or 206 starts."""
    if response.status != 206:
        return 0
    parsed = parse_content_range(response.headers.get("Content-Range", ""))
    assert isinstance(parsed, ContentRange)
    return parsed.start


def plan(start: int, total: int, connections: int) -> list[Segment]:
    """[start, total) in ``connections`` equal pieces, after a done [0, start)."""
    segments = [Segment(0, start, start, start)] if start else []
    size = (total - start) // connections
    for n in range(connections):
        first = start + n * size
        end = total if n == connections - 1 else first + size
        segments.append(Segment(first, end, first, first))
    return segments


def tiles(records: Iterable[SegmentRecord], total: int) -> bool:
    """Do the segments cover [0, total) exactly, in order, each within itself?"""
    position = 0
    for record in records:
        if record.start != position or not record.start <= record.durable <= record.stop:
            return False
        position = record.stop
    return position == total


def merge(
    records: Sequence[SegmentRecord], written: Iterable[tuple[int, int]], total: int
) -> list[Segment]:
    """Segments tiling [0, total) whose held prefixes are every byte known written:
    the durable ones of ``records`` and the ranges in ``written``.

    The database's segments keep their bounds (an untouched one is still a
    connection's work); a written range that starts inside one's missing
    part splits it there.
    """
    spans = sorted(
        [(r.start, r.durable) for r in records if r.durable > r.start]
        + [(max(a, 0), min(b, total)) for a, b in written if min(b, total) > max(a, 0)]
    )
    held: list[list[int]] = []
    for start, end in spans:
        if held and start <= held[-1][1]:
            held[-1][1] = max(held[-1][1], end)
        else:
            held.append([start, end])
    starts = sorted({r.start for r in records} | {start for start, _ in held} | {0})
    segments = []
    for n, start in enumerate(starts):
        stop = starts[n + 1] if n + 1 < len(starts) else total
        # each held span starts a segment: only one reaching back to ``start`` covers it
        end = next((e for s, e in held if s <= start < e), start)
        segments.append(Segment(start, stop, min(end, stop), min(end, stop)))
    return segments


def durable_prefix(records: Sequence[SegmentRecord]) -> int:
    """Where the bytes durable from byte 0 on, without a gap, end."""
    position = 0
    for record in records:
        if record.start != position:
            break
        position = record.durable
        if record.durable < record.stop:
            break
    return position


def written_ranges(segments: Sequence[Segment], *, returned: bool = False) -> list[tuple[int, int]]:
    """[start, written) of every segment, joined where they touch.

    ``returned``: up to what the writing threads saw return (called from
    one of them: the loop may change the list meanwhile, so a copy is read,
    and a segment missed only makes the claim smaller).
    """
    ranges: list[tuple[int, int]] = []
    for segment in tuple(segments):
        end = max(segment.written, segment.returned) if returned else segment.written
        if end <= segment.start:
            continue
        if ranges and ranges[-1][1] == segment.start:
            ranges[-1] = (ranges[-1][0], end)
        else:
            ranges.append((segment.start, end))
    return ranges


def take_work(
    segments: list[Segment], min_segment: int, now: float, min_seconds: float
) -> tuple[Segment | None, bool]:
    """An unclaimed segment, else the upper half of what the slowest connection
    has left (True: stolen).

    Only from a connection that needs ``min_seconds`` or more for its rest,
    at its speed so far (one too new to judge is left alone: the caller
    looks again later), and only pieces of ``min_segment`` or more. The bytes
    the server has already sent the victim past the cut are thrown away and
    fetched again, and a steal costs a request: a nearly done connection's
    tail is cheaper left to it.
    """
    for segment in segments:
        if not segment.busy and segment.received < segment.end:
            segment.claim(now)
            return segment, False
    victim, longest = None, min_seconds
    for segment in segments:
        if not segment.busy or segment.end - segment.received < 2 * min_segment:
            continue
        seconds = segment.seconds_left(now)
        if seconds is not None and seconds >= longest:
            victim, longest = segment, seconds
    if victim is None:
        return None, False
    left = victim.end - victim.received
    middle = victim.received + left // 2
    stolen = Segment(middle, victim.end, middle, middle)
    stolen.claim(now)
    # the victim's connection stops at its new end by itself
    victim.end = middle
    segments.insert(segments.index(victim) + 1, stolen)
    return stolen, True


def absorb(segments: list[Segment], segment: Segment, stream_end: int) -> bool:
    """Carry a stream on into the next segment if nobody fetches it.

    Only an untouched one: the first connection of a fresh download has
    the whole body, and after the server ignored a range request it is
    the one connection that can fetch what the others could not.
    """
    index = segments.index(segment) + 1
    if index >= len(segments):
        return False
    after = segments[index]
    if after.busy or after.written != after.start or after.end > stream_end:
        return False
    segment.end = after.end
    del segments[index]
    return True
