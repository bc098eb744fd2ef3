"""Where a :class:`.Pump` lands one segment's bytes: in place, up to its (moving) end.

The pump's thread calls :meth:`SegmentSink.room` and :meth:`SegmentSink.land`;
the event loop calls :meth:`SegmentSink.counted` when it looks in. Another
connection may take the segment's upper half at any time (work stealing
lowers ``segment.end`` on the event loop): every write is cut at the end as
it is then, and the pump stops there.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable

import aiohttp

from drayman.errors import TransientError
from drayman.queue.progress import TransferProgress
from drayman.queue.pump import Pump
from drayman.queue.segments import Segment
from drayman.queue.segmentwrites import SegmentWrites
from drayman.queue.stall import ReadDeadline, SpeedWatch


class SegmentSink:
    """One answer's bytes into ``segment``, through ``writes``, up to ``stream_end``.

    At each look of the event loop, a checkpoint is asked for (``due``) once
    a step of bytes (``writes.step``) was received since the last, and a speed limit
    (``limited()``) stops the pump. ``table_lock`` is held by whatever cuts
    the segment (work stealing) and by each claim of bytes to write.
    """

    def __init__(
        self,
        segment: Segment,
        writes: SegmentWrites,
        progress: TransferProgress,
        stream_end: int,
        *,
        due: asyncio.Event,
        limited: Callable[[], bool],
        table_lock: threading.Lock,
    ) -> None:
        self.segment = segment
        self.writes = writes
        self.progress = progress
        self.stream_end = stream_end
        self._due, self._limited = due, limited
        self._table_lock = table_lock

    def room(self) -> int:
        """Bytes this answer may still bring into the segment (the pump's thread)."""
        segment = self.segment
        return min(segment.end, self.stream_end) - segment.received

    def land(self, view: memoryview) -> int:
        """Write ``view`` at the segment's next byte; return how much fitted (the pump's thread)."""
        start, size = self._claim(len(view))
        if size:
            self.writes.write_now(self.segment, view[:size], start)
        return size

    def splices(self) -> bool:
        return True

    def idle(self) -> None:
        """Nothing to read for now, or the pump stops: what was written is noted."""
        self.writes.settle()

    def land_from(self, pipe: int, size: int) -> int:
        """As :meth:`land`, the bytes in ``pipe`` (what does not fit stays there)."""
        start, fit = self._claim(size)
        if fit:
            self.writes.splice_now(self.segment, pipe, fit, start)
        return fit

    def _claim(self, size: int) -> tuple[int, int]:
        """Where the next ``size`` bytes go, and how many of them fit (0: none, stop)."""
        segment = self.segment
        # claimed before the write, under the table's lock: work stealing cuts the
        # segment above what is claimed, so no write ever crosses the new end
        with self._table_lock:
            start = segment.received
            size = min(size, segment.end - start)
            if size <= 0 or self.writes.halt:
                return start, 0
            segment.received = start + size
        return start, size

    def counted(self, amount: int) -> None:
        """The loop hears of ``amount`` bytes landed; their writes have returned."""
        self.progress.received += amount
        self.progress.position += amount
        segment = self.segment
        # the next checkpoint covers them (it reads ``written`` before its fsync)
        segment.written = max(segment.written, segment.returned)

    def tick(self) -> bool:
        if self.progress.position - self.writes.tried >= self.writes.step:
            self._due.set()
        return not self._limited()


async def pump_into(
    sink: SegmentSink,
    pump: Pump,
    response: aiohttp.ClientResponse,
    speed: SpeedWatch,
    deadline: ReadDeadline,
    every: float,
    carry_on: Callable[[], Awaitable[bool]],
) -> None:
    """Run ``pump`` into ``sink`` (looking in every ``every`` seconds); at the
    segment's end, ``carry_on()`` says whether the answer goes on into the next.

    A speed limit that comes stops it: the segment is asked for again, read by
    the event loop. The connection is closed afterwards (aiohttp's parser never
    saw these bytes: it cannot be reused).
    """
    segment, writes = sink.segment, sink.writes
    try:
        while True:
            ran = await pump.run(sink, speed, deadline, every)
            if not ran or pump.eof or writes.halt:
                break
            if segment.received >= sink.stream_end or segment.received < segment.end:
                break
            if not await carry_on():
                return  # the rest of this answer belongs to another connection
    finally:
        sink.counted(0)
        response.close()
    if ran and segment.received < segment.end and not writes.halt:
        raise TransientError(detail="the connection closed in the middle of a segment")
