"""When to try a failed download again, and when to give up."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, honouring the server's Retry-After.

    ``attempts`` counts consecutive failed attempts that made no progress: an
    attempt that left more of the file recorded than it found resets it (bytes
    fetched again after a restart from byte 0 do not), so a flaky server that drops
    the connection every few hundred MiB never exhausts a big download, while
    one that never delivers fails after ``max_attempts`` (so does one that
    drips: an attempt cut for being too slow counts, see the engine).
    """

    max_attempts: int = 8
    base_delay: float = 1.0
    max_delay: float = 300.0
    #: a Retry-After longer than this is capped: a server that says "come back
    #: tomorrow" should not freeze the queue for a day unattended
    max_retry_after: float = 3600.0
    rng: random.Random = field(default_factory=random.Random, compare=False, repr=False)

    def delay(self, attempts: int, retry_after: float | None = None) -> float:
        """Seconds to wait before attempt number ``attempts + 1``."""
        if retry_after is not None:
            # a date in the past (or -0.0) means now: 0.0, never "-0 s" in the log
            return min(retry_after, self.max_retry_after) if retry_after > 0 else 0.0
        ceiling = min(self.max_delay, self.base_delay * 2.0 ** max(attempts - 1, 0))
        # "equal jitter": at least half the backoff, so retries really spread
        # out, but never zero, so a dead server is not hammered
        return ceiling / 2 + self.rng.uniform(0, ceiling / 2)

    def exhausted(self, attempts: int) -> bool:
        return attempts >= self.max_attempts
