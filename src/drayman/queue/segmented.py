"""Segmented downloads: one file over several connections, like ``aria2c -x8 -s8``.

When the server can resume (a strong validator: a strong ETag, else
Last-Modified; and a known length) a large file is cut into segments, each
fetched over its own connection with ``Range: bytes=a-b`` and ``If-Range``
and written in place (``pwritev`` on the blocking lane, MiB-scale blocks; on
plain HTTP by a :mod:`.pump` thread per connection) into one preallocated
``.part``. The rules of a single stream hold per segment:

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
- On resume, each unfinished segment is asked for from its durable end (or,
  after a crash of the process on the same boot, from what the ``.part``'s
  live note says was written: :mod:`.segmentwrites`); a ``.part`` that is
  not exactly the file's size is not trusted.
- Work stealing: a connection that finishes its segment takes the upper half
  of the slowest one's rest (:func:`.segments.take_work` says when that pays).
- A download opens ``split_first`` connections, and up to ``split`` only when
  the server paces each one (:mod:`.growth`).

Progress goes to the transfer's counters per chunk (no database write, no
callback per chunk); the database hears only from checkpoints.

A segmented download grows out of a single stream's answer
(:mod:`.transfer`) and shares its parts: the job's requests and limits
(:class:`.jobclient.JobClient`), and where the bytes land
(:class:`.landing.Landing`: the folder, the ``.part``'s record, recorded
progress, the finish). The segment table is :mod:`.segments`'; the writes
and checkpoints, :mod:`.segmentwrites`'; how many connections, and what a
failed one means, :mod:`.connectionpolicy`'.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import logging
import threading
import time
from asyncio import FIRST_COMPLETED as FIRST
from collections.abc import Sequence

import aiohttp

from drayman.errors import FolderEscape, PartFileLost, TransientError
from drayman.queue.answer import check_range_answer
from drayman.queue.connectionpolicy import ConnectionPolicy
from drayman.queue.jobclient import JobClient
from drayman.queue.landing import Landing
from drayman.queue.partfile import PositionalPart
from drayman.queue.pump import Pump
from drayman.queue.segmentpump import SegmentSink, pump_into
from drayman.queue.segments import (
    Segment,
    absorb,
    take_work,
)
from drayman.queue.segmentwrites import SegmentWrites
from drayman.queue.stall import ReadDeadline, SpeedWatch, held_back
from drayman.storage import SegmentRecord

__all__ = ["SegmentedDownload"]

log = logging.getLogger(__name__)

#: the most a segment's pump gathers before it writes (and notes) it: smaller than a
#: single stream's, since what a crash finds not yet written is fetched again, per connection
_NOTED_BLOCK = 256 * 1024


class SegmentedDownload:
    """Fetch the unfinished segments of one ``.part`` over up to ``connections``."""

    def __init__(
        self,
        landing: Landing,
        client: JobClient,
        part: PositionalPart,
        total: int,
        segments: list[Segment],
        validator: str,
        connections: int,
        *,
        saved: Sequence[SegmentRecord] | None = None,
    ) -> None:
        """``saved``: the segments as the database has them, when ``segments``
        hold more (bytes written before a crash, not fsynced yet)."""
        self.landing = landing
        self.client = client
        self.config = landing.config
        self.part = part
        self.total = total
        self.segments = segments
        self.validator = validator
        #: how many connections, and what a failed one means
        self.policy = ConnectionPolicy(
            landing.job.id, connections, self.config.split_first, self.config.read_timeout
        )
        #: a range request was answered correctly: extra connections may start
        self.proven = False
        #: how many times work was stolen (for tests and logs)
        self.steals = 0
        self.min_segment = max(self.config.min_segment, 1)
        self._workers: set[asyncio.Task[None]] = set()
        #: held while the table is cut (stealing) and while a pump thread claims bytes
        self._table_lock = threading.Lock()
        self._primary: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        #: set when a segment is let go of, ranges are proven, or a connection
        #: failed: what a stream waiting at the end of its segment waits for
        self._changed = asyncio.Event()
        self._due = asyncio.Event()
        self._stopping = False
        self.writes = SegmentWrites(landing, part, segments, saved)

    @property
    def ranges_ok(self) -> bool:
        """No range request of this transfer was answered wrongly: ranges may be asked for."""
        return not self.landing.progress.server_ignores_ranges

    # -- the whole download ------------------------------------------------------

    async def run(self, first: tuple[Segment, aiohttp.ClientResponse] | None = None) -> None:
        """Return when every segment is written and durable, or raise.

        Whatever happens, the bytes written so far are fsynced and recorded
        before this returns (a pause, a shutdown, a failed connection).
        """
        checkpointer = asyncio.create_task(self._checkpoint_loop(), name="drayman-segments-sync")
        config = self.config
        self.policy.watch(
            time.monotonic(), self.segments, config.grow_after, config.grow_min_seconds
        )
        finished = False
        try:
            if first is not None:
                segment, response = first
                segment.claim(time.monotonic())
                self._primary = self._spawn(segment, response)
            await self._supervise(checkpointer)
            finished = True
        except (PartFileLost, FolderEscape):
            self.writes.halt = True
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
                    if not self.writes.halt:
                        await asyncio.shield(self.writes.checkpoint())
                except Exception as exc:
                    if finished:
                        raise
                    # the download's own error matters more than this one
                    log.warning("job %d: could not save progress: %s", self.landing.job.id, exc)
            finally:
                self.writes.close()
        job_id, count = self.landing.job.id, len(self.segments)
        log.debug("job %d: %d segment(s), %d steal(s)", job_id, count, self.steals)

    async def _supervise(self, checkpointer: asyncio.Task[None]) -> None:
        self._fill()
        while self._workers:
            wake = asyncio.ensure_future(self._wake.wait())
            again = self.policy.look_again(self.proven, len(self._workers))
            try:
                done, _ = await asyncio.wait(
                    {*self._workers, checkpointer, wake}, timeout=again, return_when=FIRST
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
                    self._changed.set()
                    self.policy.after_error(error, len(self._workers), self.landing.progress)
            # under a speed limit drayman holds the connections back, not the server
            holding = not self.proven or self.client.limited()
            self.policy.consider_growth(time.monotonic(), self.segments, holding)
            self._fill()
        if any(s.written < s.end for s in self.segments):
            raise self.policy.unfinished(self.ranges_ok)

    def _fill(self) -> None:
        """Start connections up to the limit; one only, until ranges are proven."""
        if self.proven:
            target = self.policy.limit
        else:
            primary = self._primary is not None and self._primary in self._workers
            target = min(self.policy.limit, int(primary) + 1)
        while len(self._workers) < target:
            segment = self._take_work()
            if segment is None:
                return
            self._spawn(segment, None)

    def _spawn(
        self, segment: Segment, response: aiohttp.ClientResponse | None
    ) -> asyncio.Task[None]:
        task = asyncio.create_task(
            self._work(segment, response), name=f"drayman-job-{self.landing.job.id}-segment"
        )
        self._workers.add(task)
        return task

    async def _stop_workers(self) -> None:
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        self._workers.clear()

    # -- sharing the work ------------------------------------------------------------

    def _take_work(self) -> Segment | None:
        """An unclaimed segment, else the upper half of the largest one left."""
        if not self.ranges_ok:
            return None
        # a pump thread claims its next bytes under the same lock: the cut is above them
        with self._table_lock:
            segment, stolen = take_work(
                self.segments, self.min_segment, time.monotonic(), self.config.steal_min_seconds
            )
        self.steals += stolen
        return segment

    async def _carry_on(
        self, segment: Segment, stream_end: int, watch: SpeedWatch, deadline: ReadDeadline
    ) -> bool:
        """At the end of ``segment``: absorb the next one, or False to stop here.

        Before any range request was answered, the next segment may be held
        by the one asking: wait for its answer. A 206 proves ranges (stop
        here, it fetches that segment); anything else lets the segment go,
        and this stream, which may be the only one the server will give,
        carries on through it.
        """
        while True:
            self._changed.clear()
            if absorb(self.segments, segment, stream_end):
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
            with held_back(watch, deadline):  # the server is not slow: we hold back
                await self._changed.wait()

    # -- one connection ------------------------------------------------------------------

    async def _work(self, segment: Segment, response: aiohttp.ClientResponse | None) -> None:
        """Fetch ``segment``, then any work left, over one connection."""
        current: Segment | None = segment
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

    async def _open(self, segment: Segment) -> tuple[aiohttp.ClientResponse, int]:
        """Ask for the rest of ``segment``; return the checked answer and its end."""
        first, last = segment.received, segment.end - 1
        headers = {"Range": f"bytes={first}-{last}", "If-Range": self.validator}
        response = await self.client.request(headers)
        try:
            same = self.landing.same_validators
            check_range_answer(response, first, last, self.total, same, self.client.clock())
        except BaseException:
            response.close()
            raise
        if not self.proven:
            self.proven = True
            self._wake.set()
            self._changed.set()
        return response, last + 1

    async def _receive(
        self, segment: Segment, response: aiohttp.ClientResponse, stream_end: int
    ) -> None:
        """Stream into ``segment`` until its (moving) end; gather, then write in blocks."""
        client, config = self.client, self.config
        progress = self.landing.progress
        block, every = config.block_size, config.checkpoint_seconds
        # each connection is judged on its own: one that trickles is retried
        watch = SpeedWatch(config.min_speed, config.min_speed_time)
        deadline = ReadDeadline(config.read_timeout)
        # a fast connection's rest goes to a pump (at once, without a probe)
        probe = client.speed_probe(response, stream_end - segment.received)
        # made at once, before any await: aiohttp reads no more of the answer
        pump = Pump(response, _NOTED_BLOCK) if probe is not None and probe.fast(0) else None
        gathered: list[bytes] = []
        size = 0
        writing: asyncio.Future[int] | None = None
        content = response.content
        # a slow connection hands its bytes to the disk on the checkpoint clock too
        flush_at = time.monotonic() + every
        try:
            # no byte for read_timeout while reading: a stalled connection
            async with deadline.guard():
                while pump is None and (
                    segment.received < segment.end
                    or await self._carry_on(segment, stream_end, watch, deadline)
                ):
                    chunk = await content.readany()
                    if not chunk:
                        break
                    deadline.fed()
                    read = len(chunk)
                    progress.received += read
                    watch.received(read)
                    while chunk:
                        room = segment.end - segment.received
                        if room <= 0 and not await self._carry_on(
                            segment, stream_end, watch, deadline
                        ):
                            break  # the rest belongs to another connection's segment
                        room = segment.end - segment.received
                        piece, chunk = (chunk, b"") if len(chunk) <= room else _cut(chunk, room)
                        gathered.append(piece)
                        size += len(piece)
                        segment.received += len(piece)
                        progress.position += len(piece)
                    if client.limited():
                        # our own speed limit is not the server being slow
                        with held_back(watch, deadline):
                            await client.throttle(read)
                    if size >= block or (size and time.monotonic() >= flush_at):
                        with deadline.paused():  # waiting for our disk, not the server
                            writing = await self.writes.write(segment, gathered, size, writing)
                        gathered, size = [], 0
                        flush_at = time.monotonic() + every
                    if progress.position - self.writes.tried >= self.writes.step:
                        self._due.set()
                    # (its connection still there: an answer read whole has let go of it)
                    left = stream_end - segment.received
                    if probe is not None and probe.fast(read) and client.may_pump(response, left):
                        pump = Pump(response, _NOTED_BLOCK)
            if pump is None and segment.received < segment.end:
                # only an early end of the answer leaves the loop before the segment's end
                raise TransientError(detail="the connection closed in the middle of a segment")
        finally:
            # keep what was read: these bytes passed every check
            try:
                if gathered and not self.writes.halt:
                    writing = await self.writes.write(segment, gathered, size, writing)
            finally:
                if writing is not None:
                    await asyncio.shield(writing)
        if pump is not None:  # every byte gathered is written: the pump goes on from there
            async with deadline.guard():
                await self._pump(segment, response, stream_end, watch, deadline, pump)
        elif segment.received >= segment.end and not content.at_eof():
            # stopped at a moved end: the rest of this answer is not ours
            response.close()

    async def _pump(
        self,
        segment: Segment,
        response: aiohttp.ClientResponse,
        stream_end: int,
        speed: SpeedWatch,
        deadline: ReadDeadline,
        pump: Pump,
    ) -> None:
        """The answer's body moved into ``segment`` by a :class:`.Pump` thread; at the
        segment's end it may carry on, as :meth:`_receive` (:func:`.segmentpump.pump_into`)."""
        sink = SegmentSink(
            segment,
            self.writes,
            self.landing.progress,
            stream_end,
            due=self._due,
            limited=self.client.limited,
            table_lock=self._table_lock,
        )
        pump.nudge_every = self.writes.step // self.policy.limit  # the connections share the step
        every = self.config.checkpoint_seconds
        carry_on = functools.partial(self._carry_on, segment, stream_end, speed, deadline)
        await pump_into(sink, pump, response, speed, deadline, every, carry_on)

    def _release(self, segment: Segment) -> None:
        """The connection is done with ``segment``: what was not written is not held."""
        self.landing.progress.position -= segment.received - segment.written
        segment.received = segment.written
        segment.busy = False
        self._changed.set()

    # -- durability --------------------------------------------------------------------

    async def _checkpoint_loop(self) -> None:
        while not self._stopping:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(self.config.checkpoint_seconds):
                    await self._due.wait()
            self._due.clear()
            if not self._stopping:
                await asyncio.shield(self.writes.checkpoint(strict=False))


def _cut(chunk: bytes, at: int) -> tuple[bytes, bytes]:
    return chunk[:at], chunk[at:]
