"""Speed limits: parse "2M"-style rates, and a token bucket shared by transfers."""

from __future__ import annotations

import asyncio
import re
import socket
import sys
import time
from collections.abc import Callable
from typing import Any

from drayman.errors import InvalidRate

#: matched against the stripped text: a "\s*" at each end of the pattern, with
#: the optional unit between them, backtracked over every split of a long run
#: of spaces (cubic: 3 s for 20,000 of them)
_RATE = re.compile(r"(\d+(?:\.\d+)?)\s*([kKmMgG]?)(?:i?[bB](?:/s|ps)?)?")
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def parse_rate(text: str) -> int:
    """``"500k"`` -> 512000 bytes/s. Suffixes k, M, G are 1024-based; 0 = no limit."""
    match = _RATE.fullmatch(text.strip())
    if not match:
        raise InvalidRate(text=text)
    value = float(match.group(1)) * _UNITS[match.group(2).lower()]
    if value >= 2**63:
        raise InvalidRate(text=text)
    return int(value)


class TokenBucket:
    """A token bucket: ``rate`` bytes per second with bursts up to ``capacity``.

    Transfers call :meth:`consume` with the size of each block they received.
    The bucket may go into debt (a block is bigger than the bucket); the
    caller then sleeps until the debt is paid, which keeps the long-run rate
    exact while the socket is read in large blocks. ``rate`` can change live.
    """

    def __init__(
        self,
        rate: int,
        *,
        burst_seconds: float = 0.1,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._burst_seconds = burst_seconds
        self._rate = 0
        self._tokens = 0.0
        self._stamp = clock()
        #: transfers drawing from this bucket (the engine keeps it): each gets
        #: a share of the rate when its socket buffer is sized (fit_receive_buffer)
        self.users = 0
        self.set_rate(rate)

    @property
    def rate(self) -> int:
        return self._rate

    @property
    def share(self) -> int:
        """The rate per transfer now using the bucket (0 = no limit)."""
        return self._rate // max(self.users, 1)

    @property
    def capacity(self) -> float:
        return max(self._rate * self._burst_seconds, 1.0)

    def set_rate(self, rate: int) -> None:
        self._refill()
        self._rate = max(int(rate), 0)
        self._tokens = min(self._tokens, self.capacity)

    def _refill(self) -> None:
        now = self._clock()
        if self._rate:
            self._tokens = min(self.capacity, self._tokens + (now - self._stamp) * self._rate)
        self._stamp = now

    def take(self, amount: int) -> float:
        """Take ``amount`` tokens now; return how long the caller must wait."""
        if not self._rate:
            return 0.0
        self._refill()
        self._tokens -= amount
        return 0.0 if self._tokens >= 0 else -self._tokens / self._rate

    async def consume(self, amount: int) -> None:
        wait = self.take(amount)
        if wait > 0:
            await asyncio.sleep(wait)


class JobShare(TokenBucket):
    """One job's draw on a shared total limit: at most its fair part of it.

    Every byte goes through the shared bucket (the total holds over any
    second) and through this job's own bucket at ``total / jobs``, so a job
    fetched over eight connections does not take the share of a job over one,
    and a small file next to a big one is not starved. The engine keeps
    ``total.users`` (the jobs running); each job's part follows it live.
    """

    def __init__(self, total: TokenBucket) -> None:
        self.total = total
        super().__init__(0, burst_seconds=total._burst_seconds, clock=total._clock)

    @property
    def rate(self) -> int:
        return self.total.rate

    @property
    def share(self) -> int:
        return self.total.share

    def take(self, amount: int) -> float:
        if not self.total.rate:
            return 0.0
        fair = max(self.total.share, 1)
        if fair != self._rate:
            super().set_rate(fair)
        # both buckets count the bytes at once: the caller waits for the later one
        return max(super().take(amount), self.total.take(amount))


#: a limited connection's socket receive buffer: this many seconds of its rate...
RECEIVE_BUFFER_SECONDS = 0.25
#: ...within these bounds
RECEIVE_BUFFER_MIN = 64 * 1024
RECEIVE_BUFFER_MAX = 4 * 1024 * 1024


def receive_buffer_for(rate: int) -> int | None:
    """The receive buffer for a connection limited to ``rate`` bytes/s (None: no limit)."""
    if rate <= 0:
        return None
    wanted = int(rate * RECEIVE_BUFFER_SECONDS)
    return min(max(wanted, RECEIVE_BUFFER_MIN), RECEIVE_BUFFER_MAX)


def fit_receive_buffer(sock: Any, rate: int, current: int | None) -> int | None:
    """Size a connection's kernel receive buffer to its speed limit; return the size set.

    The limiter pauses reading, and TCP's window then stops the sender, but
    only once the socket's receive buffer is full; Linux grows that buffer up
    to ``tcp_rmem`` (32 MiB here), so a limited download first pulls several
    seconds' worth at full speed. A buffer of a quarter second of the rate
    keeps the wire within the limit from the first second. Setting it turns
    the kernel's autotuning off for the socket; when the limit is lifted the
    buffer goes to :data:`RECEIVE_BUFFER_MAX`. Call only when the limit may
    have changed (per checkpoint, not per chunk).
    """
    wanted = receive_buffer_for(rate)
    if wanted is None:
        wanted = RECEIVE_BUFFER_MAX if current is not None else None
    if wanted is None or wanted == current or sock is None:
        return current
    try:
        # Linux doubles the value for its bookkeeping and keeps about half for data
        value = wanted // 2 if sys.platform.startswith("linux") else wanted
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, value)
    except (OSError, AttributeError, ValueError):  # not a TCP socket, or already closed
        return current
    return wanted
