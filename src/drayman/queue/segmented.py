"""Segmented downloads: one file over several connections, like ``aria2c -x8 -s8``.

When the server can resume (a strong validator: a strong ETag, else
Last-Modified; and a known length) a large file is cut into segments, each
fetched over its own connection with ``Range: bytes=a-b`` and ``If-Range``
and written in place (``pwritev`` in the executor, MiB-scale blocks) into
one preallocated ``.part``. The rules of a single stream hold per segment:

- A checkpoint fsyncs the file, *then* commits every segment's durable end,
  and the job's ``bytes_done`` (their sum), in one transaction. A segment
  counts only writes that had returned before the fsync began.
- A 206 is written only if its Content-Range has the asked start and end and
  the known total, and its validators are the recorded ones. Other
  validators (or another total) mean the file changed: the whole job starts
  again from byte 0 (:class:`RestartRequired`), never a splice.
- A 200 to a range request means the server ignores ranges: that connection
  is closed and no more ranges are asked for. The connection holding the
  whole body (the first of a fresh download) carries on through the
  segments nobody fetches, so the file still arrives over one connection;
  until the first range request is answered it waits at the end of its
  segment rather than leave the next one to an answer that may never come.
  Segments no connection can complete (a resume, or a later range answered
  200) end the download with :class:`RangesIgnored`: the transfer starts
  once more from byte 0 over one connection, never a loop of restarts.
- Extra connections start only once one range request was answered
  correctly, so a server without ranges costs one wasted request, not seven.
- On resume, each unfinished segment is asked for from its durable end; a
  ``.part`` that is not exactly the file's size is not trusted.
- After a crash of the process (not of the machine) more is known: the
  ``.part``'s record has a live part, rewritten without fsync whenever a
  write returns, naming the ranges written and the boot (:mod:`.bootid`).
  On the same boot those bytes are in the page cache, so the resume asks
  only for what is missing; after a reboot (or with no boot id) it is
  ignored. Either way the database still holds only fsynced offsets, and
  every answer is checked as above (If-Range, Content-Range, validators).
- Work stealing: a connection that finishes its segment splits the largest
  remaining one and fetches its upper half; the connection working on that
  one stops at its new end. No piece is made smaller than ``min_segment``.

Progress goes to the transfer's counters per chunk (no database write, no
callback per chunk); the database hears only from checkpoints.

A segmented download grows out of a single stream's :class:`Transfer` and
borrows its public parts: the request (headers per hop, TLS, redirects), the
open folder, the speed limits, the ``.part``'s record, how a checkpoint is
recorded, and the finish (:meth:`Transfer.finish_in_place`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import aiohttp

from drayman.errors import (
    FolderEscape,
    PartFileLost,
    RangesIgnored,
    RestartRequired,
    TransferError,
    TransientError,
)
from drayman.faults import crash_point
from drayman.headers import (
    ContentRange,
    content_length,
    if_range_validator,
    parse_content_range,
)
from drayman.jobs import Job
from drayman.queue.blocking import run_blocking
from drayman.queue.bootid import boot_id
from drayman.queue.neterrors import http_error, network_error
from drayman.queue.partcheck import PartNotOurs
from drayman.queue.partfile import HAVE_PWRITE, PositionalPart
from drayman.queue.partrecord import LiveNote, database_id, read_record_at, url_id, write_note
from drayman.queue.stall import SpeedWatch
from drayman.rules import connection_limit
from drayman.storage import SegmentRecord
from drayman.units import human_size

if TYPE_CHECKING:  # (a name for types only: transfer.py imports this module)
    from drayman.queue.transfer import Transfer

log = logging.getLogger(__name__)

_NETWORK_ERRORS = (aiohttp.ClientError, TimeoutError, ConnectionError, ssl.SSLError, TransientError)


def validator_of(job: Job) -> str | None:
    """What If-Range carries: the strong ETag, else Last-Modified; None: no resume."""
    return if_range_validator(job.etag, job.last_modified)


def connections_for(transfer: Transfer, response: aiohttp.ClientResponse, total: int | None) -> int:
    """How many connections a single stream's first answer may grow into (1: none).

    Only a file of known size, with a validator to pin it down, from a server
    that does not refuse ranges outright; and only when what is left is large
    enough that extra connections pay for themselves (``split_min_size``).
    """
    config = transfer.config
    if total is None or config.split < 2 or not HAVE_PWRITE or response.status not in (200, 206):
        return 1
    if transfer.single_stream:  # the server ignored a range request of this transfer
        return 1
    left = total - _first_byte(response)
    if left < config.split_min_size or validator_of(transfer.job) is None:
        return 1
    if response.headers.get("Accept-Ranges", "").strip().lower() == "none":
        return 1
    return max(_connection_cap(transfer, left), 1)


def _connection_cap(transfer: Transfer, left: int) -> int:
    config = transfer.config
    wanted = min(config.split, max(left // max(config.min_segment, 1), 1))
    # a host rule's limit holds for the connections of one job too
    cap = connection_limit(transfer.rules, transfer.job.host)
    return min(wanted, cap) if cap else wanted


def _first_byte(response: aiohttp.ClientResponse) -> int:
    """Where an already checked 200 or 206 starts."""
    if response.status != 206:
        return 0
    parsed = parse_content_range(response.headers.get("Content-Range", ""))
    assert isinstance(parsed, ContentRange)
    return parsed.start


async def take_over(
    transfer: Transfer,
    response: aiohttp.ClientResponse,
    total: int,
    connections: int,
    *,
    fresh: bool,
) -> None:
    """Carry a single stream's checked answer on as the first of ``connections``.

    The answer covers [start, total): the bytes before ``start`` are the
    stream's durable prefix (cut back to, and recorded, already).
    """
    job = transfer.job
    part_path = job.part_path
    validator = validator_of(job)
    assert part_path is not None and validator is not None
    start = _first_byte(response)
    await transfer.release_part()
    folder = await transfer.open_folder(create=False)
    part = await asyncio.to_thread(PositionalPart.create, part_path, total, folder=folder)
    segments = plan(start, total, connections)
    first = next(s for s in segments if s.start == start)
    download = SegmentedDownload(transfer, part, total, segments, validator, connections)
    await download.run(first=(first, response))
    await transfer.finish_in_place(total, fresh=fresh)


async def resume(transfer: Transfer) -> bool:
    """Resume a job left with segments; False if it has none to resume.

    A segment table that does not add up (or a ``.part`` of the wrong size)
    is dropped and the job starts over from byte 0 as a single stream. A
    complete one is left to the single stream too: every byte is durable,
    so ``bytes_done`` is a true prefix and the usual finish applies.
    """
    store, job = transfer.store, transfer.job
    if job.bytes_done == 0:
        # nothing durable to resume (and no query for each of many small jobs)
        return False
    records = await store.segments(job.id)
    if not records:
        return False
    total, validator, part_path = job.bytes_total, validator_of(job), job.part_path
    if (
        total is not None
        and validator is not None
        and part_path is not None
        and _tiles(records, total)
        and sum(r.durable - r.start for r in records) == job.bytes_done
    ):
        if job.bytes_done == total:
            return False
        folder = await transfer.open_folder(create=False)
        try:
            part = await asyncio.to_thread(
                PositionalPart.reopen, part_path, total, folder=folder, identity=job.part_identity
            )
        except PartNotOurs as exc:
            # the single stream leaves it alone and takes another name
            log.warning("job %d: %s", job.id, exc)
            part = None
        if part is not None:
            written = await _written_before_crash(transfer, part)
            segments = _merge(records, written, total)
            have = sum(s.written - s.start for s in segments)
            if have > job.bytes_done:
                log.info(
                    "job %d: %s written before the crash beyond the last checkpoint; kept",
                    job.id,
                    human_size(have - job.bytes_done),
                )
            transfer.progress.bytes_total = total
            transfer.progress.position = have
            connections = max(1, _connection_cap(transfer, total - have))
            download = SegmentedDownload(
                transfer, part, total, segments, validator, connections, saved=records
            )
            await download.run()
            await transfer.finish_in_place(total, fresh=False)
            return True
        log.info("job %d: the partial file is not %d bytes long; starting over", job.id, total)
    else:
        log.info("job %d: its segment table does not add up; starting over", job.id)
    await store.save_segments(job.id, [], 0)
    transfer.job = await store.get(job.id)
    return False


async def _written_before_crash(
    transfer: Transfer, part: PositionalPart
) -> tuple[tuple[int, int], ...]:
    """The ranges the ``.part``'s live record says were written, if it is believed.

    Only a record of this job's very file (database, URL, validators, size)
    noted on this boot: its bytes are then in the page cache, though perhaps
    not on the disk yet.
    """
    job, path = transfer.job, part.path
    record = await run_blocking(read_record_at, path, part.fileno())
    if (
        record is None
        or record.db != database_id(transfer.store.path)
        or record.url != url_id(job.original_url)
        or (record.etag, record.last_modified, record.total)
        != (job.etag, job.last_modified, job.bytes_total)
    ):
        return ()
    ranges = record.live_ranges(boot_id())
    if record.written and not ranges:
        log.info("job %d: written on another boot; resuming from the last checkpoint", job.id)
    return ranges


def _merge(
    records: Sequence[SegmentRecord], written: Iterable[tuple[int, int]], total: int
) -> list[_Segment]:
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
        segments.append(_Segment(start, stop, min(end, stop), min(end, stop)))
    return segments


def _tiles(records: Iterable[SegmentRecord], total: int) -> bool:
    """Do the segments cover [0, total) exactly, in order, each within itself?"""
    position = 0
    for record in records:
        if record.start != position or not record.start <= record.durable <= record.stop:
            return False
        position = record.stop
    return position == total


def plan(start: int, total: int, connections: int) -> list[_Segment]:
    """[start, total) in ``connections`` equal pieces, after a done [0, start)."""
    segments = [_Segment(0, start, start, start)] if start else []
    size = (total - start) // connections
    for n in range(connections):
        first = start + n * size
        end = total if n == connections - 1 else first + size
        segments.append(_Segment(first, end, first, first))
    return segments


@dataclass(eq=False, slots=True)
class _Segment:
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


class _RangesIgnored(Exception):
    """The server answered a range request wrongly (a 200, or the wrong range)."""


class _Refused(Exception):
    """An extra connection got an HTTP error (many servers limit connections)."""

    def __init__(self, error: TransferError) -> None:
        super().__init__(str(error))
        self.error = error


class SegmentedDownload:
    """Fetch the unfinished segments of one ``.part`` over up to ``connections``."""

    def __init__(
        self,
        transfer: Transfer,
        part: PositionalPart,
        total: int,
        segments: list[_Segment],
        validator: str,
        connections: int,
        *,
        saved: Sequence[SegmentRecord] | None = None,
    ) -> None:
        """``saved``: the segments as the database has them, when ``segments``
        hold more (bytes written before a crash, not fsynced yet)."""
        self.transfer = transfer
        self.config = transfer.config
        self.part = part
        self.total = total
        self.segments = segments
        self.validator = validator
        self.limit = max(connections, 1)
        #: False after a wrong answer to a range request: ask for no more ranges
        self.ranges_ok = True
        #: a range request was answered correctly: extra connections may start
        self.proven = False
        #: how many times work was stolen (for tests and logs)
        self.steals = 0
        self.min_segment = max(self.config.min_segment, 1)
        self._workers: set[asyncio.Task[None]] = set()
        self._primary: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        #: set when a segment is let go of, ranges are proven, or a connection
        #: failed: what a stream waiting at the end of its segment waits for
        self._changed = asyncio.Event()
        self._due = asyncio.Event()
        self._stopping = False
        #: the .part is not at its name any more (or its folder leads elsewhere):
        #: not one more byte goes to it, nothing more is recorded
        self._halt = False
        self._lock = asyncio.Lock()
        #: executor calls on the file still running (the fd outlives them all)
        self._io: set[asyncio.Future[Any]] = set()
        self._saved = (
            [SegmentRecord(s.start, s.end, s.written) for s in segments]
            if saved is None
            else list(saved)
        )
        self._committed = sum(r.durable - r.start for r in self._saved)
        #: bytes the last checkpoint tried to record (it may have met a locked database)
        self._tried = self._committed
        self._prefix = _durable_prefix(self._saved)
        self._step = transfer.checkpoint_step(total)
        self._errors_left = 3 * self.limit
        self._last_error: BaseException | None = None
        #: how the server showed that it ignores ranges (once ranges_ok is False)
        self._ignored = ""
        #: the record's live part (ranges written, this boot) goes with every write
        boot = boot_id()
        self._note: LiveNote | None = None
        if boot is not None and transfer.keeps_record:
            self._note = LiveNote(transfer.record_base(), boot)

    # -- the whole download ------------------------------------------------------

    async def run(self, first: tuple[_Segment, aiohttp.ClientResponse] | None = None) -> None:
        """Return when every segment is written and durable, or raise.

        Whatever happens, the bytes written so far are fsynced and recorded
        before this returns (a pause, a shutdown, a failed connection).
        """
        checkpointer = asyncio.create_task(self._checkpoint_loop(), name="drayman-segments-sync")
        finished = False
        try:
            if first is not None:
                segment, response = first
                segment.busy = True
                self._primary = self._spawn(segment, response)
            await self._supervise(checkpointer)
            finished = True
        except (PartFileLost, FolderEscape):
            self._halt = True
            raise
        finally:
            try:
                await self._stop_workers()
                # never cancel a commit half way: ask the loop to stop, let it finish
                self._stopping = True
                self._due.set()
                with contextlib.suppress(Exception):
                    await asyncio.shield(checkpointer)
                try:
                    if not self._halt:
                        await asyncio.shield(self._checkpoint())
                except Exception as exc:
                    if finished:
                        raise
                    # the download's own error matters more than this one
                    log.warning("job %d: could not save progress: %s", self.transfer.job.id, exc)
            finally:
                self._close_part()
        job_id, count = self.transfer.job.id, len(self.segments)
        log.debug("job %d: %d segment(s), %d steal(s)", job_id, count, self.steals)

    async def _supervise(self, checkpointer: asyncio.Task[None]) -> None:
        self._fill()
        while self._workers:
            wake = asyncio.ensure_future(self._wake.wait())
            try:
                done, _ = await asyncio.wait(
                    {*self._workers, checkpointer, wake}, return_when=asyncio.FIRST_COMPLETED
                )
            finally:
                wake.cancel()
            self._wake.clear()
            if checkpointer in done:
                checkpointer.result()  # a failed checkpoint ends the download
            for task in done & self._workers:
                self._workers.discard(task)
                error = task.exception()
                if error is not None:
                    self._after_error(error)
            self._fill()
        if any(s.written < s.end for s in self.segments):
            if not self.ranges_ok:
                # what is left can only come over one connection, from byte 0
                raise RangesIgnored(detail=self._ignored)
            if self._last_error is not None:
                raise self._last_error
            raise RestartRequired(detail="the server stopped answering range requests")

    def _after_error(self, error: BaseException) -> None:
        """A connection failed: carry on without it, or end the download."""
        job_id = self.transfer.job.id
        self._changed.set()
        if isinstance(error, _RangesIgnored):
            log.info("job %d: %s; no more connections", job_id, error)
            self.ranges_ok = False
            self._ignored = str(error)
        elif isinstance(error, _Refused):
            if not self._workers:
                raise error.error
            # the server wants fewer connections: keep those that work
            log.info("job %d: an extra connection was refused: %s", job_id, error.error)
            self.limit = max(len(self._workers), 1)
            self._last_error = error.error
        elif isinstance(error, _NETWORK_ERRORS):
            self._errors_left -= 1
            if self._errors_left < 0 or not _retryable(error, self.config.read_timeout):
                raise error
            log.info("job %d: a connection failed (%s); trying its segment again", job_id, error)
            self._last_error = error
        else:
            raise error

    def _fill(self) -> None:
        """Start connections up to the limit; one only, until ranges are proven."""
        if self.proven:
            target = self.limit
        else:
            primary = self._primary is not None and self._primary in self._workers
            target = min(self.limit, int(primary) + 1)
        while len(self._workers) < target:
            segment = self._take_work()
            if segment is None:
                return
            self._spawn(segment, None)

    def _spawn(
        self, segment: _Segment, response: aiohttp.ClientResponse | None
    ) -> asyncio.Task[None]:
        task = asyncio.create_task(
            self._work(segment, response), name=f"drayman-job-{self.transfer.job.id}-segment"
        )
        self._workers.add(task)
        return task

    async def _stop_workers(self) -> None:
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers.clear()

    # -- sharing the work ------------------------------------------------------------

    def _take_work(self) -> _Segment | None:
        """An unclaimed segment, else the upper half of the largest one left."""
        if not self.ranges_ok:
            return None
        for segment in self.segments:
            if not segment.busy and segment.received < segment.end:
                segment.busy = True
                return segment
        busy = [s for s in self.segments if s.busy]
        if not busy:
            return None
        victim = max(busy, key=lambda s: s.end - s.received)
        left = victim.end - victim.received
        if left < 2 * self.min_segment:
            return None
        middle = victim.received + left // 2
        stolen = _Segment(middle, victim.end, middle, middle, busy=True)
        # the victim's connection stops at its new end by itself
        victim.end = middle
        self.segments.insert(self.segments.index(victim) + 1, stolen)
        self.steals += 1
        return stolen

    def _absorb(self, segment: _Segment, stream_end: int) -> bool:
        """Carry a stream on into the next segment if nobody fetches it.

        Only an untouched one: the first connection of a fresh download has
        the whole body, and after the server ignored a range request it is
        the one connection that can fetch what the others could not.
        """
        index = self.segments.index(segment) + 1
        if index >= len(self.segments):
            return False
        after = self.segments[index]
        if after.busy or after.written != after.start or after.end > stream_end:
            return False
        segment.end = after.end
        del self.segments[index]
        return True

    async def _carry_on(self, segment: _Segment, stream_end: int, watch: SpeedWatch) -> bool:
        """At the end of ``segment``: absorb the next one, or False to stop here.

        Before any range request was answered, the next segment may be held
        by the one asking: wait for its answer. A 206 proves ranges (stop
        here, it fetches that segment); anything else lets the segment go,
        and this stream, which may be the only one the server will give,
        carries on through it.
        """
        while True:
            self._changed.clear()
            if self._absorb(segment, stream_end):
                return True
            index = self.segments.index(segment) + 1
            waiting = (
                not self.proven
                and self.ranges_ok
                and index < len(self.segments)
                and self.segments[index].busy
                and self.segments[index].end <= stream_end
            )
            if not waiting:
                return False
            with watch.paused():  # the server is not slow: we hold back
                await self._changed.wait()

    # -- one connection ------------------------------------------------------------------

    async def _work(self, segment: _Segment, response: aiohttp.ClientResponse | None) -> None:
        """Fetch ``segment``, then any work left, over one connection."""
        current: _Segment | None = segment
        while current is not None:
            try:
                if response is None:
                    response, stream_end = await self._open(current)
                else:
                    stream_end = self.total
                async with response:
                    await self._receive(current, response, stream_end)
            finally:
                response = None
                self._release(current)
            current = self._take_work()

    async def _open(self, segment: _Segment) -> tuple[aiohttp.ClientResponse, int]:
        """Ask for the rest of ``segment``; return the checked answer and its end."""
        first, last = segment.received, segment.end - 1
        headers = {"Range": f"bytes={first}-{last}", "If-Range": self.validator}
        response = await self.transfer.request(headers)
        try:
            self._check(response, first, last)
        except BaseException:
            response.close()
            raise
        if not self.proven:
            self.proven = True
            self._wake.set()
            self._changed.set()
        return response, last + 1

    def _check(self, response: aiohttp.ClientResponse, first: int, last: int) -> None:
        status = response.status
        if status in (200, 206) and not self.transfer.same_validators(
            response.headers.get("ETag"), response.headers.get("Last-Modified")
        ):
            raise RestartRequired(detail="the file changed on the server")
        if status == 200:
            raise _RangesIgnored("the server ignored a range request")
        if status == 416:
            raise RestartRequired(detail="the server refused a range of the file")
        if status != 206:
            raise _Refused(http_error(response, self.transfer.clock()))
        try:
            parsed = parse_content_range(response.headers.get("Content-Range", ""))
        except ValueError as exc:
            raise _RangesIgnored(f"bad Content-Range: {exc}") from exc
        if not isinstance(parsed, ContentRange) or parsed.total != self.total:
            raise RestartRequired(detail="the file's size changed")
        if (parsed.start, parsed.end) != (first, last):
            raise _RangesIgnored(
                f"the server sent bytes {parsed.start}-{parsed.end} for {first}-{last}"
            )
        try:
            length = content_length(response.headers.get("Content-Length"))
        except ValueError:
            length = -1
        if length is not None and length != last - first + 1:
            raise _RangesIgnored("a Content-Length contradicted its Content-Range")

    async def _receive(
        self, segment: _Segment, response: aiohttp.ClientResponse, stream_end: int
    ) -> None:
        """Stream into ``segment`` until its (moving) end; gather, then write in blocks."""
        transfer, config = self.transfer, self.config
        progress = transfer.progress
        block, every = config.block_size, config.checkpoint_seconds
        # each connection is judged on its own: one that trickles is retried
        watch = SpeedWatch(config.min_speed, config.min_speed_time)
        gathered: list[bytes] = []
        size = 0
        writing: asyncio.Future[int] | None = None
        content = response.content
        # a slow connection hands its bytes to the disk on the checkpoint clock too
        flush_at = time.monotonic() + every
        try:
            while segment.received < segment.end or await self._carry_on(
                segment, stream_end, watch
            ):
                chunk = await content.readany()
                if not chunk:
                    break
                read = len(chunk)
                progress.received += read
                watch.received(read)
                while chunk:
                    room = segment.end - segment.received
                    if room <= 0 and not await self._carry_on(segment, stream_end, watch):
                        break  # the rest belongs to another connection's segment
                    room = segment.end - segment.received
                    piece, chunk = (chunk, b"") if len(chunk) <= room else _cut(chunk, room)
                    gathered.append(piece)
                    size += len(piece)
                    segment.received += len(piece)
                    progress.position += len(piece)
                if transfer.limited():
                    with watch.paused():  # our own speed limit is not the server being slow
                        await transfer.throttle(read)
                if size >= block or (size and time.monotonic() >= flush_at):
                    writing = await self._write(segment, gathered, size, writing)
                    gathered, size = [], 0
                    flush_at = time.monotonic() + every
                if progress.position - self._tried >= self._step:
                    self._due.set()
            if segment.received < segment.end:
                # only an early end of the answer leaves the loop before the segment's end
                raise TransientError(detail="the connection closed in the middle of a segment")
        finally:
            # keep what was read: these bytes passed every check
            try:
                if gathered and not self._halt:
                    writing = await self._write(segment, gathered, size, writing)
            finally:
                if writing is not None:
                    await asyncio.shield(writing)
        if segment.received >= segment.end and not content.at_eof():
            # stopped at a moved end: the rest of this answer is not ours
            response.close()

    async def _write(
        self,
        segment: _Segment,
        chunks: list[bytes],
        size: int,
        previous: asyncio.Future[int] | None,
    ) -> asyncio.Future[int]:
        """Start writing ``chunks`` (they end at ``segment.received``) after the last write.

        A write's end is recorded in ``segment.written`` as soon as it returns
        (writes of one connection return in order), so the next checkpoint
        covers it.
        """
        if previous is not None:
            await asyncio.shield(previous)
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(
            None, self._write_noted, segment, chunks, segment.received - size
        )
        self._track(future)

        def returned(done: asyncio.Future[int]) -> None:
            if not done.cancelled() and done.exception() is None:
                segment.written = max(segment.written, done.result())

        future.add_done_callback(returned)
        return future

    def _release(self, segment: _Segment) -> None:
        """The connection is done with ``segment``: what was not written is not held."""
        self.transfer.progress.position -= segment.received - segment.written
        segment.received = segment.written
        segment.busy = False
        self._changed.set()

    # -- durability --------------------------------------------------------------------

    def _write_noted(self, segment: _Segment, chunks: list[bytes], offset: int) -> int:
        """Write, then note every range written so far (no fsync), in one executor call.

        The note is made in the writing thread, right after the write: it
        claims what had returned by then (``returned``), this write included.
        Notes of several connections may land out of order: an older one
        claims less, never more than is there.
        """
        end = self.part.write_at(chunks, offset)
        segment.returned = max(segment.returned, end)
        note = self._note
        if note is not None and not self._halt:
            data = note.encode(self._prefix, self._written_ranges(returned=True))
            if data is not None and not write_note(self.part.path, data, self.part.fileno()):
                self._note = None  # the file system takes no notes
        return end

    def _written_ranges(self, *, returned: bool = False) -> list[tuple[int, int]]:
        """[start, written) of every segment, joined where they touch.

        ``returned``: up to what the writing threads saw return (called from
        one of them: the loop may change the list meanwhile, so a copy is read,
        and a segment missed only makes the claim smaller).
        """
        ranges: list[tuple[int, int]] = []
        for segment in tuple(self.segments):
            end = max(segment.written, segment.returned) if returned else segment.written
            if end <= segment.start:
                continue
            if ranges and ranges[-1][1] == segment.start:
                ranges[-1] = (ranges[-1][0], end)
            else:
                ranges.append((segment.start, end))
        return ranges

    async def _checkpoint_loop(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.config.checkpoint_seconds):
                    await self._due.wait()
            self._due.clear()
            if not self._stopping:
                await asyncio.shield(self._checkpoint(strict=False))

    async def _checkpoint(self, *, strict: bool = True) -> None:
        """fsync, *then* commit every segment's written end: never the other order.

        One beside the download (not ``strict``) that finds the database
        locked or full does not stop it, as on a single stream: the recorded
        offsets stay older, safe ones, and the next checkpoint tries again.
        """
        async with self._lock:
            records = [SegmentRecord(s.start, s.end, s.written) for s in self.segments]
            if records == self._saved or self.part.closed:
                return
            loop = asyncio.get_running_loop()
            sync = loop.run_in_executor(None, self.part.sync)
            self._track(sync)
            await sync
            crash_point("checkpoint.before-commit")
            done = self._tried = sum(r.durable - r.start for r in records)
            job_id = self.transfer.job.id
            prefix = _durable_prefix(records)
            if prefix != self._prefix:
                # the .part's own record (partrecord.py) can only say "a prefix"
                # durably; its live part goes on saying what else was written
                self._prefix = prefix
                live = self._written_ranges() if self._note is not None else []
                await self.transfer.write_record(prefix, fd=self.part.fileno(), written=live)
            saving = self.transfer.store.save_segments(job_id, records, done)
            if not await self.transfer.commit_progress(saving, strict=strict):
                return
            self._saved, self._committed = records, done
            self.transfer.note_progress(done)

    def _track(self, future: asyncio.Future[Any]) -> None:
        self._io.add(future)
        future.add_done_callback(self._io.discard)

    def _close_part(self) -> None:
        """Close the file, but never under a write or fsync still running in a thread."""
        running = [f for f in self._io if not f.done()]
        if not running:
            self.part.close()
            return
        waiting = set(running)

        def one_done(future: asyncio.Future[Any]) -> None:
            waiting.discard(future)
            if not waiting:
                self.part.close()

        for future in running:
            future.add_done_callback(one_done)


def _durable_prefix(records: list[SegmentRecord]) -> int:
    """Where the bytes durable from byte 0 on, without a gap, end."""
    position = 0
    for record in records:
        if record.start != position:
            break
        position = record.durable
        if record.durable < record.stop:
            break
    return position


def _retryable(error: BaseException, read_timeout: float) -> bool:
    """A network error worth another connection (a certificate refusal is not)."""
    if isinstance(error, TransferError):
        return error.transient
    return network_error(error, read_timeout=read_timeout).transient


def _cut(chunk: bytes, at: int) -> tuple[bytes, bytes]:
    return chunk[:at], chunk[at:]
