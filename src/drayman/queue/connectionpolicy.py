"""How many connections a segmented download holds, and what a failed one means.

:mod:`.segmented` does the work (segments, streams, steals, checkpoints);
this is the policy it follows, apart so that each reads on its own:

- It opens ``split_first`` connections, and up to ``most`` only once the
  server shows it paces each one (:mod:`.growth`); never under a speed limit
  of drayman's own, never after a refusal.
- A server that refuses a connection (429, 503, a reset at connect) wants
  fewer: the limit drops to the connections that work, for good.
- A range answered with the whole file means the server ignores ranges: no
  more connections, and what nobody can finish ends the download with
  :class:`.errors.RangesIgnored` (one more attempt from byte 0, one connection).
- A network error costs its connection and one of ``3 x most`` retries; the
  segment is taken up again by the next connection.
"""

from __future__ import annotations

import logging
import ssl
from collections.abc import Sequence

import aiohttp

from drayman.errors import RangesIgnored, RestartRequired, TransientError
from drayman.queue.answer import RangesIgnored as IgnoredAnswer
from drayman.queue.answer import Refused
from drayman.queue.growth import SAMPLE_EVERY, Growth, held
from drayman.queue.neterrors import retryable
from drayman.queue.progress import TransferProgress
from drayman.queue.segments import Segment

log = logging.getLogger(__name__)

#: how often a download short of connections looks for work to share (seconds)
LOOK_AGAIN = 0.5

NETWORK_ERRORS = (aiohttp.ClientError, TimeoutError, ConnectionError, ssl.SSLError, TransientError)


class ConnectionPolicy:
    """One segmented download's connection count and error budget."""

    def __init__(self, job_id: int, most: int, first: int, read_timeout: float) -> None:
        self.job_id = job_id
        self.read_timeout = read_timeout
        #: the most connections the download may have...
        self.most = max(most, 1)
        #: ...and how many it may have now
        self.limit = min(self.most, max(first, 1))
        self.growth: Growth | None = None
        self.errors_left = 3 * self.most
        self.last_error: BaseException | None = None
        #: how the server showed that it ignores ranges
        self.ignored = ""

    def watch(self, now: float, segments: Sequence[Segment], after: float, rest: float) -> None:
        """Start watching for a server that paces each connection (:class:`.Growth`)."""
        if self.limit < self.most:
            self.growth = Growth(now, held(segments), after, rest)

    def look_again(self, proven: bool, working: int) -> float | None:
        """How long the supervisor may wait for news before it looks at the table again."""
        if self.growth is not None:
            return SAMPLE_EVERY
        # short of connections: a connection may slow down enough to share
        return LOOK_AGAIN if proven and working < self.limit else None

    def after_error(self, error: BaseException, working: int, progress: TransferProgress) -> None:
        """A connection failed: return to carry on without it, or raise to end the download."""
        if isinstance(error, IgnoredAnswer):
            log.info("job %d: %s; no more connections", self.job_id, error)
            self.ignored = str(error)
            progress.server_ignores_ranges = True
        elif isinstance(error, Refused):
            if not working:
                raise error.error
            # the server wants fewer connections: keep those that work, never more
            log.info("job %d: an extra connection was refused: %s", self.job_id, error.error)
            self.limit = max(working, 1)
            self.growth = None
            self.last_error = error.error
        elif isinstance(error, NETWORK_ERRORS):
            self.errors_left -= 1
            if self.errors_left < 0 or not retryable(error, self.read_timeout):
                raise error
            log.info(
                "job %d: a connection failed (%s); trying its segment again", self.job_id, error
            )
            self.last_error = error
        else:
            raise error

    def consider_growth(self, now: float, segments: Sequence[Segment], held_back: bool) -> None:
        """Open up to ``most`` connections once the server shows it paces each one."""
        growth = self.growth
        if growth is not None and growth.look(now, segments, held_back):
            log.info("job %d: %s: up to %d connections", self.job_id, growth, self.most)
            self.limit = self.most
            self.growth = None

    def unfinished(self, ranges_ok: bool) -> BaseException:
        """What ends a download whose connections all stopped with bytes still missing."""
        if not ranges_ok:
            # what is left can only come over one connection, from byte 0
            return RangesIgnored(detail=self.ignored)
        if self.last_error is not None:
            return self.last_error
        return RestartRequired(detail="the server stopped answering range requests")
