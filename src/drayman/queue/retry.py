"""When to try a failed download again, and when to give up."""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from drayman.errors import ConnectionRefused, NameNotFound, NetworkDown


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

    #: attempts for a refused connection (a server restarting), retried quickly
    refused_attempts: int = 3
    #: attempts for a name that does not exist: one quick retry
    missing_name_attempts: int = 2
    #: the wait between those quick retries
    quick_delay: float = 2.0
    #: how often a job waiting for the network looks again (no attempt spent)
    network_delay: float = 15.0

    def exhausted(self, attempts: int, error: BaseException | None = None) -> bool:
        return attempts >= self.limit(error)

    def limit(self, error: BaseException | None) -> int:
        """How many attempts ``error`` may take before the job fails."""
        if isinstance(error, NameNotFound):
            return min(self.missing_name_attempts, self.max_attempts)
        if isinstance(error, ConnectionRefused):
            return min(self.refused_attempts, self.max_attempts)
        return self.max_attempts

    def delay_after(self, error: BaseException, attempts: int) -> float:
        """The wait before the next attempt after ``error``."""
        if isinstance(error, NetworkDown):
            return self.network_delay
        if isinstance(error, NameNotFound | ConnectionRefused):
            return min(self.quick_delay, self.max_delay)
        return self.delay(attempts, getattr(error, "retry_after", None))

    @staticmethod
    def spends_attempt(error: BaseException) -> bool:
        """Whether ``error`` counts against the job (waiting for the network does not)."""
        return not isinstance(error, NetworkDown)
