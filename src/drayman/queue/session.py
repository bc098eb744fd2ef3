"""The HTTP session the engine shares across transfers: its connections, TLS and timeouts.

One :class:`aiohttp.ClientSession` per engine (plus one per SOCKS proxy, see
:mod:`.proxyroutes`): connections are kept alive and reused across jobs to
the same host. Timeouts say what a stall is (a silent socket), never how long
a whole file may take.
"""

from __future__ import annotations

import ssl
from collections.abc import Sequence

import aiohttp

from drayman import __version__
from drayman.errors import InvalidCAFile
from drayman.queue.proxyroutes import connector_options
from drayman.queue.transferconfig import TransferConfig

#: per connection: reading pauses at twice this much unread data. Bigger
#: buffers bought nothing measurable at loopback speed, and a connection reset
#: discards what is still buffered (aiohttp raises before handing it over)
READ_BUFFER = 256 * 1024


def request_timeout(config: TransferConfig) -> aiohttp.ClientTimeout:
    """No total limit (files are big); a silent socket is a stall."""
    return aiohttp.ClientTimeout(
        total=None, connect=None, sock_connect=config.connect_timeout, sock_read=config.read_timeout
    )


def download_timeout(config: TransferConfig) -> aiohttp.ClientTimeout:
    """A download's request: no total limit, and no read timeout of aiohttp's own.

    Its headers are bounded by :func:`head_timeout`, its body by a
    :class:`.stall.ReadDeadline` in the receive loop: aiohttp would re-arm a
    timer at every socket read, the deadline once per ``read_timeout``.
    """
    return aiohttp.ClientTimeout(
        total=None, connect=None, sock_connect=config.connect_timeout, sock_read=None
    )


def head_timeout(config: TransferConfig) -> float:
    """How long one request may take until its headers are in: what an honest
    server needs to accept the connection and then answer."""
    return config.connect_timeout + config.read_timeout


def tls_context(ca_files: Sequence[str] = ()) -> ssl.SSLContext:
    """The system's trusted authorities plus ``ca_files``. Blocking: loads files.

    Raises :class:`InvalidCAFile` for a file that is not a PEM certificate.
    """
    context = ssl.create_default_context()
    for path in ca_files:
        try:
            context.load_verify_locations(cafile=path)
        except ssl.SSLError:
            raise InvalidCAFile(path=path, reason="no certificate could be read from it") from None
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "strerror", None) or "unreadable"
            raise InvalidCAFile(path=path, reason=str(reason).lower()) from None
    context.set_alpn_protocols(["http/1.1"])
    return context


def session_limit(config: TransferConfig, connections: int) -> int:
    """Connections a session may hold: every transfer may hold ``split`` (+1 while
    one is replaced)."""
    return max(connections * (config.split + 1), 16)


def create_session(
    config: TransferConfig,
    connections: int,
    *,
    ssl_context: ssl.SSLContext | None = None,
    connector: aiohttp.BaseConnector | None = None,
) -> aiohttp.ClientSession:
    """The one HTTP session the engine shares across transfers.

    ``ssl_context`` (see :func:`tls_context`) verifies certificates; without
    one, aiohttp's default (the system's authorities) does. ``connector``
    replaces the plain one (a SOCKS proxy's, see :mod:`.proxyroutes`).
    """
    timeout = request_timeout(config)
    if connector is None:
        connector = aiohttp.TCPConnector(
            **connector_options(session_limit(config, connections), ssl_context)  # type: ignore[arg-type]
        )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=timeout,
        # the 64 KiB default pauses and resumes the socket after nearly every
        # read at loopback speed (two epoll_ctl calls each)
        read_bufsize=READ_BUFFER,
        # bytes on disk = bytes the server holds: never decode gzip & co
        auto_decompress=False,
        # a server's cookies must not leak from one job to another: each
        # transfer sends its own job's (drayman.queue.cookiejar)
        cookie_jar=aiohttp.DummyCookieJar(),
        # drayman reads the proxy variables itself, per request and as curl
        # does (drayman.proxies): aiohttp's reading would apply to every hop
        trust_env=False,
        headers={"User-Agent": f"drayman/{__version__}"},
    )
