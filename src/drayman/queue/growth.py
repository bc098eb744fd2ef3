"""Whether a segmented download should open more connections than it started with.

A download starts with ``split_first`` connections (8: what ``aria2c -x8``
opens) and may grow to ``split`` (16, aria2's own ceiling) only when the
server, not the link or this machine, is what holds it back: each connection
is served a little at a time. The tell is the shape of what arrives. A link
that is full, or a CPU that is busy, delivers at about the same rate whatever
window one looks through; a server that paces each connection (nginx's
``limit_rate``, file hosts' free tiers) lets a first burst through at the
link's speed, then a trickle per connection. So: once the download has run
``grow_after`` seconds, if the last second brought less than a quarter of the
fastest rate seen over any tenth of a second, and what is left would take at
least ``grow_min_seconds`` at that pace, more connections pay (each is paced
on its own). Never under a speed limit: there, drayman itself holds back.

Measured on the shared harness's W4 (256 MiB at 4 MiB/s per connection,
nginx ``limit_rate``): the first tenth of a second brings 32 MiB (8 bursts),
each later second 32 MiB, a ratio of 1:10; a 1 GiB loopback download that
is CPU-bound stays within 1:2 (``bench/README.md``).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Sequence

from drayman.queue.segments import Segment
from drayman.units import human_size

#: how often the download looks at what arrived (seconds)
SAMPLE_EVERY = 0.1
#: the window the sustained rate is taken over (seconds)
_SUSTAINED_SPAN = 1.0
#: sustained at most this share of the peak: the server paces each connection
_HELD_BACK = 0.25


class Growth:
    """Samples of the bytes a download holds, and whether more connections pay."""

    def __init__(self, now: float, held: int, after: float, min_seconds: float) -> None:
        self.started = now
        self.after = after
        self.min_seconds = min_seconds
        #: (when, bytes held) over the last :data:`_SUSTAINED_SPAN` and a little more
        self._samples: deque[tuple[float, int]] = deque([(now, held)])
        #: the fastest rate seen between two samples (bytes/s)
        self.peak = 0.0

    def sample(self, now: float, held: int) -> None:
        """Note that the download holds ``held`` bytes at ``now``."""
        last_at, last_held = self._samples[-1]
        span = now - last_at
        if span < SAMPLE_EVERY / 2:
            return  # too close to the last look to say anything about a rate
        self.peak = max(self.peak, (held - last_held) / span)
        self._samples.append((now, held))
        while len(self._samples) > 2 and now - self._samples[1][0] >= _SUSTAINED_SPAN:
            self._samples.popleft()

    def sustained(self, now: float) -> float | None:
        """Bytes/s over the last second (None: not a second of samples yet)."""
        first_at, first_held = self._samples[0]
        last_at, last_held = self._samples[-1]
        if last_at - first_at < _SUSTAINED_SPAN:
            return None
        return (last_held - first_held) / (last_at - first_at)

    def look(self, now: float, segments: Sequence[Segment], held_back: bool) -> bool:
        """Sample the segments; whether more connections pay now (never while
        ``held_back``: drayman itself paces the connections)."""
        self.sample(now, held(segments))
        if held_back:
            return False
        return self.worth_more(now, sum(s.end - s.received for s in segments))

    def __str__(self) -> str:
        sustained = human_size(int(self.sustained(self._samples[-1][0]) or 0))
        peak = human_size(int(self.peak))
        return (
            f"the server paces each connection ({sustained}/s in the last second, {peak}/s at most)"
        )

    def worth_more(self, now: float, left: int) -> bool:
        """Whether the server paces each connection and ``left`` bytes are worth more."""
        if now - self.started < self.after:
            return False
        rate = self.sustained(now)
        if not rate or rate > self.peak * _HELD_BACK:
            return False
        return left / rate >= self.min_seconds


def held(segments: Sequence[Segment]) -> int:
    """Bytes the segments hold (received, written or not)."""
    return sum(s.received - s.start for s in segments)
