"""Two speed limits at once: the total limit and a schedule band's.

A transfer draws from one bucket. Jobs that follow the schedule draw from a
:class:`BothBuckets` over their fair part of the total bucket (``drayman
limit``, shared with every transfer) and of the band's bucket (shared with
the other scheduled jobs), each a :class:`~drayman.queue.ratelimit.JobShare`;
a job added with ``--ignore-schedule`` draws from its part of the total only.
Each block waits for whichever bucket is the slower, so both limits
hold, and the total one still counts the scheduled jobs' bytes.
"""

from __future__ import annotations

from drayman.queue.ratelimit import TokenBucket


def _smaller(a: int, b: int) -> int:
    """The smaller of two limits, 0 meaning none."""
    if not a or not b:
        return a or b
    return min(a, b)


class BothBuckets(TokenBucket):
    """Takes every block from both buckets; waits as long as the slower one says."""

    def __init__(self, total: TokenBucket, band: TokenBucket) -> None:
        # no tokens of its own: the two buckets keep them
        self._total = total
        self._band = band
        self.users = 0

    @property
    def rate(self) -> int:
        return _smaller(self._total.rate, self._band.rate)

    @property
    def share(self) -> int:
        return _smaller(self._total.share, self._band.share)

    @property
    def capacity(self) -> float:
        return min(self._total.capacity, self._band.capacity)

    def set_rate(self, rate: int) -> None:
        raise TypeError("set the rate of the total or the band bucket")

    def take(self, amount: int) -> float:
        return max(self._total.take(amount), self._band.take(amount))
