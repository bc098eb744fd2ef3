"""A transfer's settings: timeouts, checkpoints, block sizes, segments, caps."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

MiB = 1024 * 1024

#: overrides ``pump_min_speed``'s default (bytes/s), for tests and benchmarks only:
#: a real ``drayman run`` against a slow test server can still be pumped
PUMP_MIN_SPEED_ENV = "DRAYMAN_PUMP_MIN_SPEED"


def _default_pump_min_speed() -> int:
    value = os.environ.get(PUMP_MIN_SPEED_ENV, "")
    return int(value) if value.isdigit() else 16 * MiB


@dataclass(frozen=True)
class TransferConfig:
    #: no byte for this long: the connection is stalled (a transient failure)
    read_timeout: float = 60.0
    connect_timeout: float = 30.0
    #: fewer than min_speed bytes/s over min_speed_time seconds: too slow, a
    #: transient failure (0 = never). A dripping server defeats read_timeout;
    #: 1 KiB/s for a minute is far below any working link (a 2G phone gets
    #: ~10 KiB/s), and a false alarm costs only a reconnect that resumes.
    min_speed: int = 1024
    min_speed_time: float = 60.0
    #: PEM files of certificate authorities to trust besides the system's
    ca_files: tuple[str, ...] = ()
    #: fsync + commit the offset at least this often...
    checkpoint_seconds: float = 2.0
    #: ...and after this many bytes
    checkpoint_bytes: int = 256 * MiB
    #: bytes gathered from the socket before one write to disk
    block_size: int = 1 * MiB
    max_redirects: int = 10
    #: follow a redirect from https to http (curl's --proto-redir refuses it)
    allow_insecure_redirects: bool = False
    #: check free space before writing a file of known size
    check_free_space: bool = True
    #: the most connections per file when the server allows ranges (1: never split)...
    split: int = 16
    #: ...of which a download opens this many at first; the rest only when the
    #: server paces each connection (:mod:`.growth`)
    split_first: int = 8
    #: a download is judged for more connections once it has run this long...
    grow_after: float = 1.5
    #: ...and only if what is left would take at least this long at its pace
    grow_min_seconds: float = 3.0
    #: files (or what is left of them) smaller than this stay on one connection
    split_min_size: int = 16 * MiB
    #: no segment is made smaller than this, at the start or by work stealing
    min_segment: int = 1 * MiB
    #: work is stolen only from a connection that needs this long for its rest
    steal_min_seconds: float = 1.0
    #: the rest of a plain-HTTP body at least this large is moved by a thread of
    #: its own, not read through aiohttp (:mod:`.pump`; 0: never)...
    pump_min_size: int = 2 * MiB
    #: ...once its first bytes came at least this fast (0: at once). A slow
    #: connection gains nothing from a thread: aiohttp's reads cost little there
    pump_min_speed: int = field(default_factory=_default_pump_min_speed)
    #: every request through this proxy (run --proxy; NO_PROXY still applies)
    proxy: str | None = None
    #: honour the proxy variables (http_proxy, HTTPS_PROXY, ALL_PROXY, NO_PROXY);
    #: False with run --no-proxy
    proxy_from_environment: bool = True
    #: why the run's proxy cannot be known (the window's manual proxy, its
    #: private file gone or unreadable): only jobs with a proxy of their own
    #: start, and a request that would take the run's proxy is refused
    proxy_lost: str | None = None
    #: a larger file fails, its partial file removed (run --max-filesize; None:
    #: no cap but the job's and its host rules')
    max_filesize: int | None = None


def checkpoint_step(config: TransferConfig, total: int | None, *, noted: bool = False) -> int:
    """Bytes between checkpoints (and ``checkpoint_seconds`` at the most).

    A crash of the process refetches what came since the last checkpoint:
    at most ~0.5 % of the file. ``noted``: live notes on the ``.part``
    (:mod:`.partrecord`) keep every byte written through a crash of the
    process, and only a power cut still refetches: ~6 % of the file then.
    fsyncs of a fast download that follow each other without a pause stall
    the writes beside them (shared/bench's resume test lost what sat in the
    sockets then).
    """
    step = config.checkpoint_bytes
    if total:
        step = min(step, max(total // (16 if noted else 200), config.block_size * 4))
    return step
