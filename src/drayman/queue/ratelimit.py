"""Speed limits: parse "2M"-style rates, and a token bucket shared by transfers."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Callable

from drayman.errors import InvalidRate

_RATE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kKmMgG]?)(?:i?[bB](?:/s|ps)?)?\s*$")
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def parse_rate(text: str) -> int:
    """``"500k"`` -> 512000 bytes/s. Suffixes k, M, G are 1024-based; 0 = no limit."""
    match = _RATE.match(text)
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
        burst_seconds: float = 0.5,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._clock = clock
        self._burst_seconds = burst_seconds
        self._rate = 0
        self._tokens = 0.0
        self._stamp = clock()
        self.set_rate(rate)

    @property
    def rate(self) -> int:
        return self._rate

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
