"""Stall and low-speed detection: a connection that trickles is as stuck as a silent one.

A :class:`ReadDeadline` ends a body read that got no byte for the read
timeout. aiohttp's own ``sock_read`` timeout does the same by re-arming a
timer at every socket read (a ``call_at`` and a cancel, hundreds of
thousands of times for a big file); the deadline arms one timer per timeout
period and, when it fires, looks when the last byte came.

The read timeout (aiohttp's ``sock_read``) only catches a connection that
sends *nothing* for that long; a server that drips one byte a second resets
it forever. Like curl's ``--speed-limit``/``--speed-time``, a
:class:`SpeedWatch` fails the transfer when fewer than ``min_speed`` bytes per
second arrived over the last ``period`` seconds, so the job is retried on a
fresh connection instead of hanging for days.

Time the transfer spends waiting on drayman's own speed limits
(:meth:`SpeedWatch.paused`) is not the server's fault and does not count:
a download limited to 500 B/s by ``drayman limit`` never trips a 1 KiB/s
minimum. One watch per connection, so a segmented download can give each of
its connections its own.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import deque
from collections.abc import AsyncIterator, Callable, Iterator

from drayman.errors import TooSlow
from drayman.units import human_size

#: samples kept per period: the window slides in steps of period / _STEPS
_STEPS = 8


class SpeedWatch:
    """``received(n)`` after every read; raises :class:`~drayman.errors.TooSlow` when too slow.

    ``min_speed`` 0 (or ``period`` 0) turns the watch off. The speed is judged
    only once the watch has run for a whole ``period`` (of time that counts),
    over a window that slides in steps of an eighth of it. It is called for
    every block read from the socket, so the common path is a few additions.
    """

    __slots__ = (
        "_base_bytes",
        "_base_time",
        "_clock",
        "_last_time",
        "_paused",
        "_received",
        "_samples",
        "_step",
        "min_speed",
        "period",
    )

    def __init__(
        self,
        min_speed: int,
        period: float,
        *,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.min_speed = max(int(min_speed), 0)
        self.period = max(float(period), 0.0)
        self._step = self.period / _STEPS
        self._clock = clock
        #: seconds spent in paused() so far: taken off the clock
        self._paused = 0.0
        self._received = 0
        now = self._now()
        #: (counted time, bytes received by then), oldest first
        self._samples: deque[tuple[float, int]] = deque([(now, 0)])
        #: the window's start (its oldest sample) and its newest sample's time
        self._base_time, self._base_bytes = now, 0
        self._last_time = now

    @property
    def enabled(self) -> bool:
        return self.min_speed > 0 and self.period > 0

    def _now(self) -> float:
        """The clock, less the time drayman itself held the transfer back."""
        return self._clock() - self._paused

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Time inside this block (our own rate limiter's sleep) does not count."""
        started = self._clock()
        try:
            yield
        finally:
            self._paused += max(self._clock() - started, 0.0)

    def received(self, amount: int) -> None:
        """Count ``amount`` bytes that just arrived; raise if the window is too slow."""
        if not self.min_speed or not self.period:
            return
        now = self._clock() - self._paused
        self._received += amount
        if now - self._last_time >= self._step:
            self._slide(now)
        span = now - self._base_time
        if span >= self.period and self._received - self._base_bytes < self.min_speed * span:
            speed = (self._received - self._base_bytes) / span
            raise TooSlow(speed=human_size(speed), seconds=span, minimum=human_size(self.min_speed))

    def _slide(self, now: float) -> None:
        """Take a sample; keep exactly one at or before the window's start."""
        samples = self._samples
        samples.append((now, self._received))
        self._last_time = now
        while len(samples) > 1 and samples[1][0] <= now - self.period:
            samples.popleft()
        self._base_time, self._base_bytes = samples[0]


class ReadDeadline:
    """Inside :meth:`guard`, no byte for ``seconds`` (``fed`` not called) raises TimeoutError.

    Time inside :meth:`paused` (drayman's own speed limit, a segment waiting
    for another connection's answer) does not count: aiohttp's timeout too
    stops while the socket is not read. ``seconds`` None or 0: no deadline.
    """

    __slots__ = ("_handle", "_last", "_loop", "_paused", "_scope", "seconds")

    def __init__(self, seconds: float | None) -> None:
        self.seconds = seconds or 0.0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._scope: asyncio.Timeout | None = None
        self._handle: asyncio.TimerHandle | None = None
        self._last = 0.0
        self._paused = 0

    @contextlib.asynccontextmanager
    async def guard(self) -> AsyncIterator[None]:
        """The reads inside raise TimeoutError after ``seconds`` without a byte."""
        if not self.seconds:
            yield
            return
        loop = self._loop = asyncio.get_running_loop()
        self._last = loop.time()
        async with asyncio.timeout(None) as scope:
            self._scope = scope
            self._handle = loop.call_at(self._last + self.seconds, self._check)
            try:
                yield
            finally:
                self._handle.cancel()
                self._scope = None

    def fed(self) -> None:
        """A byte came (call it for every chunk read)."""
        if self._loop is not None:
            self._last = self._loop.time()

    @contextlib.contextmanager
    def paused(self) -> Iterator[None]:
        """Time inside this block does not count toward the deadline."""
        self._paused += 1
        try:
            yield
        finally:
            self._paused -= 1
            self.fed()

    def _check(self) -> None:
        loop, scope = self._loop, self._scope
        if loop is None or scope is None:
            return
        now = loop.time()
        if self._paused:
            self._last = now
        due = self._last + self.seconds
        if now >= due:
            scope.reschedule(now)  # the read in progress ends with TimeoutError
        else:
            self._handle = loop.call_at(due, self._check)


@contextlib.contextmanager
def held_back(watch: SpeedWatch, deadline: ReadDeadline) -> Iterator[None]:
    """Drayman, not the server, holds the transfer here: neither clock runs."""
    with watch.paused(), deadline.paused():
        yield
