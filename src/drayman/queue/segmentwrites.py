"""A segmented ``.part``'s writes and checkpoints: in place, noted, fsynced, then recorded.

Each connection's blocks are written at their offset (``pwritev`` on the
blocking lane); a write's end counts for a segment as soon as it returns, and the
``.part``'s record notes (without fsync) every range written so far with
this boot's id (:mod:`.partrecord`), so a crash of the process alone loses
nothing written. A checkpoint fsyncs the file, *then* commits every
segment's written end and the job's ``bytes_done`` in one transaction,
through the transfer's :class:`.landing.Landing`.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from typing import Any

from drayman.faults import crash_point
from drayman.queue.blocking import start_blocking
from drayman.queue.bootid import boot_id
from drayman.queue.landing import Landing
from drayman.queue.partfile import PositionalPart
from drayman.queue.partrecord import LiveNote, write_note
from drayman.queue.segments import Segment, durable_prefix, written_ranges
from drayman.queue.transferconfig import checkpoint_step
from drayman.storage import SegmentRecord

#: a pump's writes are noted at most this often (seconds): a note is a metadata
#: write (an xattr), and one per 256 KiB block cost a 1 GiB download over 8
#: connections 15-20 % of its time; a crash then loses at most this long's writes
NOTE_EVERY = 0.002


class SegmentWrites:
    """The writes to one segmented ``.part`` and its checkpoints over ``segments``
    (the download's own list, which its connections change as they go)."""

    def __init__(
        self,
        landing: Landing,
        part: PositionalPart,
        segments: list[Segment],
        saved: Sequence[SegmentRecord] | None = None,
    ) -> None:
        """``saved``: the segments as the database has them, when ``segments``
        hold more (bytes written before a crash, not fsynced yet)."""
        self.landing = landing
        self.part = part
        self.segments = segments
        #: the .part is not at its name any more (or its folder leads elsewhere):
        #: not one more byte goes to it, nothing more is recorded
        self.halt = False
        self._lock = asyncio.Lock()
        #: blocking-lane calls on the file still running (the fd outlives them all)
        self._io: set[asyncio.Future[Any]] = set()
        self._saved = (
            [SegmentRecord(s.start, s.end, s.written) for s in segments]
            if saved is None
            else list(saved)
        )
        self._committed = sum(r.durable - r.start for r in self._saved)
        #: bytes the last checkpoint tried to record (it may have met a locked database)
        self.tried = self._committed
        self._prefix = durable_prefix(self._saved)
        #: the record's live part (ranges written, this boot) goes with every write
        boot = boot_id()
        self._note: LiveNote | None = None
        #: when a pump's write may note next, and whether one skipped its note
        self._note_at = 0.0
        self._owed = False
        if boot is not None and landing.keeps_record:
            self._note = LiveNote(landing.record_base(), boot)
        total = segments[-1].end if segments else 0
        #: bytes between checkpoints: with notes, and without (the file system took none)
        self._steps = (
            checkpoint_step(landing.config, total, noted=True),
            checkpoint_step(landing.config, total),
        )

    @property
    def step(self) -> int:
        """Bytes between checkpoints: fewer fsyncs while live notes keep what a crash would lose."""
        return self._steps[self._note is None]

    async def write(
        self,
        segment: Segment,
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
        # the blocking lane: a third of run_in_executor's cost per call
        future = start_blocking(self._write_noted, segment, chunks, segment.received - size)
        self._track(future)

        def returned(done: asyncio.Future[int]) -> None:
            if not done.cancelled() and done.exception() is None:
                segment.written = max(segment.written, done.result())

        future.add_done_callback(returned)
        return future

    def write_now(self, segment: Segment, data: memoryview, offset: int) -> int:
        """Write and note ``data`` at ``offset`` in the calling thread (a pump's).

        Its end counts for ``segment.returned`` at once; the event loop moves
        it to ``segment.written`` when it next looks (the checkpoints' rule).
        """
        return self._noted(segment, self.part.write_at([data], offset), eager=False)

    def splice_now(self, segment: Segment, pipe: int, size: int, offset: int) -> int:
        """As :meth:`write_now`, the bytes moved from ``pipe`` (a pump's splice)."""
        return self._noted(segment, self.part.splice_at(pipe, size, offset), eager=False)

    def settle(self) -> None:
        """Note what a pump's skipped note left out (a pump's thread, when its
        socket has nothing more for now, and when it stops)."""
        if self._owed:
            self._write_note()

    def _write_noted(
        self, segment: Segment, chunks: list[bytes] | list[memoryview], offset: int
    ) -> int:
        """Write, then note every range written so far (no fsync), in one blocking-lane call."""
        return self._noted(segment, self.part.write_at(chunks, offset))

    def _noted(self, segment: Segment, end: int, *, eager: bool = True) -> int:
        """A write up to ``end`` returned: note every range written so far (no fsync).

        The note is made in the writing thread, right after the write: it
        claims what had returned by then (``returned``), this write included.
        Notes of several connections may land out of order: an older one
        claims less, never more than is there. A pump's write (not ``eager``)
        notes at most every :data:`NOTE_EVERY`: the next write, or the pump
        going idle (:meth:`settle`), notes what it skipped.
        """
        segment.returned = max(segment.returned, end)
        if not eager and time.monotonic() < self._note_at:
            self._owed = True
        else:
            self._write_note()
        return end

    def _write_note(self) -> None:
        note = self._note
        if note is None or self.halt:
            return
        self._owed = False
        self._note_at = time.monotonic() + NOTE_EVERY
        data = note.encode(self._prefix, written_ranges(self.segments, returned=True))
        if data is not None and not write_note(self.part.path, data, self.part.fileno()):
            self._note = None  # the file system takes no notes

    async def checkpoint(self, *, strict: bool = True) -> None:
        """fsync, *then* commit every segment's written end: never the other order.

        One beside the download (not ``strict``) that finds the database
        locked or full does not stop it, as on a single stream: the recorded
        offsets stay older, safe ones, and the next checkpoint tries again.
        """
        landing = self.landing
        async with self._lock:
            records = [SegmentRecord(s.start, s.end, s.written) for s in self.segments]
            if records == self._saved or self.part.closed:
                return
            sync = start_blocking(self.part.sync)
            self._track(sync)
            await sync
            crash_point("checkpoint.before-commit")
            done = self.tried = sum(r.durable - r.start for r in records)
            prefix = durable_prefix(records)
            if prefix != self._prefix:
                # the .part's own record (partrecord.py) can only say "a prefix"
                # durably; its live part goes on saying what else was written
                self._prefix = prefix
                live = written_ranges(self.segments) if self._note is not None else []
                await landing.write_record(prefix, fd=self.part.fileno(), written=live)
            saving = landing.store.save_segments(landing.job.id, records, done)
            if not await landing.commit_progress(saving, strict=strict):
                return
            self._saved, self._committed = records, done
            landing.note_progress(done)

    def _track(self, future: asyncio.Future[Any]) -> None:
        self._io.add(future)
        future.add_done_callback(self._io.discard)

    def close(self) -> None:
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
