"""What went wrong on the network, in one plain line, and whether to retry.

aiohttp's own messages are long, hold the request's URL (a signed link, a
password) and the server's raw bytes (a 10 MB header line). Nothing here
ever shows ``str()`` of an aiohttp exception: each kind gets a sentence of its
own, and only the host name, a number or a short cleaned reason goes in it.

Retried (transient): connection failures, resets, stalls, a connection that
broke mid-file, a failed TLS handshake (a busy server drops some), and a
malformed answer (it may be the leftovers of a previous answer on a reused
keep-alive connection; a fresh connection settles it). Not retried
(permanent): a certificate that does not verify — the server will present
the same certificate next time.

An HTTP error status (:func:`http_error`) is retried when it says "later"
(429, 503, a gateway's 502 or 504, ...), with the server's Retry-After.
"""

from __future__ import annotations

import asyncio
import errno
import re
import socket
import ssl

import aiohttp
from aiohttp import http_exceptions

from drayman.errors import (
    ConnectionRefused,
    LinkRefused,
    NameNotFound,
    NetworkDown,
    PermanentError,
    TransferError,
    TransientError,
)
from drayman.headers import parse_retry_after

#: what a user can do about a certificate drayman refuses
INSECURE_HINT = "if you trust the server, add the job (or a rule) with --insecure"

_PRINTABLE = re.compile(r"[^\x20-\x7e]")
_OFFENDING_BYTES = re.compile(r"(?:bytearray\()?b['\"]")
#: the resolver's definitive "no such name" (NXDOMAIN); EAI_NODATA where it exists
_NO_SUCH_NAME = frozenset(
    code for code in (socket.EAI_NONAME, getattr(socket, "EAI_NODATA", None)) if code is not None
)
#: the resolver could not ask anyone: no network, no DNS server reachable
_NO_RESOLVER = frozenset({socket.EAI_AGAIN, socket.EAI_FAIL})
_REFUSED = frozenset({errno.ECONNREFUSED, 10061})  # 10061: WSAECONNREFUSED
#: 10050/10051/10065: WSAENETDOWN, WSAENETUNREACH, WSAEHOSTUNREACH
_NO_ROUTE = frozenset({errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETDOWN, 10050, 10051, 10065})
#: statuses that say "not now" rather than "never"
_TRANSIENT_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504, 507, 509})
#: what an expired signed link answers (a page's job resolves its page again)
_REFUSED_STATUS = frozenset({403, 410})


def _clean(text: str, limit: int = 80) -> str:
    """One short printable line: server-controlled text is cut and stripped."""
    first = text.strip().splitlines()[0] if text.strip() else ""
    # aiohttp appends the offending bytes (b'...', bytearray(b'...')): drop them.
    # Found as a literal, then the ": " before it trimmed: a pattern starting
    # with ":?\s*" rescanned a long run of spaces from each of its positions.
    offending = _OFFENDING_BYTES.search(first)
    if offending:
        first = first[: offending.start()].rstrip().removesuffix(":")
    first = _PRINTABLE.sub("?", first).strip().rstrip(":").strip()
    return first if len(first) <= limit else first[:limit] + "..."


def certificate_problem(exc: aiohttp.ClientConnectorCertificateError) -> str:
    error = exc.certificate_error
    reason = getattr(error, "verify_message", None) or getattr(error, "reason", None)
    return _clean(str(reason or type(error).__name__), 120).rstrip(".")


def _parser_error(exc: BaseException) -> BaseException | None:
    """The parser's own exception: aiohttp wraps it once or twice."""
    found = None
    cause = exc.__cause__
    for _ in range(5):
        if cause is None:
            break
        if isinstance(cause, http_exceptions.HttpProcessingError):
            found = cause
        cause = cause.__cause__
    return found


def _malformed(exc: BaseException) -> str:
    cause = _parser_error(exc)
    if isinstance(cause, http_exceptions.LineTooLong):
        # the limit is in the message: "Got more than 8190 bytes when reading"
        size = re.search(r"more than (\d+) bytes", cause.message or "")
        limit = f" (more than {size.group(1)} bytes)" if size else ""
        return f"a header line is too long{limit}"
    if isinstance(cause, http_exceptions.BadStatusLine):
        return "it does not start like an HTTP answer"
    if isinstance(cause, http_exceptions.HttpProcessingError) and cause.message:
        return _clean(cause.message)
    message = getattr(exc, "message", "")
    return _clean(message) if isinstance(message, str) and message else "unreadable headers"


def network_error(exc: BaseException, *, read_timeout: float) -> TransferError:
    """The :class:`TransferError` for an exception raised by aiohttp or the socket."""
    if isinstance(exc, aiohttp.ClientConnectorCertificateError):
        return PermanentError(
            detail=f"the TLS certificate of {exc.host} does not verify: "
            f"{certificate_problem(exc)}; {INSECURE_HINT}"
        )
    if isinstance(exc, aiohttp.ClientSSLError):
        reason = getattr(exc.os_error, "reason", None)
        shown = f": {_clean(reason)}" if isinstance(reason, str) and reason else ""
        return TransientError(detail=f"the TLS handshake with {exc.host} failed{shown}")
    if isinstance(exc, aiohttp.ConnectionTimeoutError):
        return TransientError(detail="timed out connecting to the server")
    if isinstance(exc, asyncio.TimeoutError):
        return TransientError(detail=f"no data for {read_timeout:g} s (stalled connection)")
    if isinstance(exc, aiohttp.ClientPayloadError):
        return TransientError(detail="the connection broke in the middle of the file")
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return TransientError(detail="the server closed the connection without answering")
    if isinstance(exc, aiohttp.ClientConnectorDNSError):
        code = getattr(exc.os_error, "errno", None)
        if code in _NO_SUCH_NAME:
            return NameNotFound(host=exc.host)
        if code in _NO_RESOLVER:
            return NetworkDown(detail=f"cannot reach a name server to look up {exc.host}")
        return TransientError(detail=f"cannot find the server {exc.host} (name lookup failed)")
    if isinstance(exc, aiohttp.ClientConnectorError):
        code = getattr(exc.os_error, "errno", None)
        if code in _REFUSED:
            return ConnectionRefused(host=exc.host, port=exc.port)
        if code in _NO_ROUTE:
            return NetworkDown(detail=f"no route to {exc.host} (is this computer online?)")
        return TransientError(detail=f"cannot connect to {exc.host}:{exc.port}")
    if isinstance(exc, aiohttp.ClientResponseError):
        # raised while reading the status line and headers: not valid HTTP
        return TransientError(detail=f"the server's answer is not valid HTTP: {_malformed(exc)}")
    if isinstance(exc, ssl.SSLError):
        return TransientError(detail=f"TLS error: {_clean(exc.reason or type(exc).__name__)}")
    if isinstance(exc, OSError):
        return TransientError(detail=f"network error: {_clean(exc.strerror or type(exc).__name__)}")
    # an aiohttp error we did not foresee: its type, never its text (it holds the URL)
    return TransientError(detail=f"network error ({type(exc).__name__})")


def retryable(error: BaseException, read_timeout: float) -> bool:
    """A network error worth another connection (a certificate refusal is not)."""
    if isinstance(error, TransferError):
        return error.transient
    return network_error(error, read_timeout=read_timeout).transient


def proxy_refused(proxy: str) -> str:
    """What to say when a proxy answers 407 (it wants a user and password, or other ones)."""
    return (
        f"the proxy {proxy} answered HTTP 407: it wants a user and password "
        "(http://user:password@host:port), or the ones given are wrong"
    )


def proxy_error(exc: BaseException, proxy: str) -> TransferError | None:
    """The :class:`TransferError` for a proxy that failed us; None if ``exc`` is not that.

    ``proxy`` is the proxy as a message may name it (its password hidden).
    HTTP proxies fail through aiohttp's own exceptions; SOCKS ones through
    aiohttp-socks' (python-socks' text: a short fixed phrase, never a secret).
    """
    if isinstance(exc, aiohttp.ClientHttpProxyError):
        text = f"the proxy {proxy} answered HTTP {exc.status}"
        if exc.status == 407:
            return PermanentError(detail=proxy_refused(proxy))
        if exc.status in _TRANSIENT_STATUS:
            return TransientError(detail=text)
        return PermanentError(detail=text)
    if isinstance(exc, aiohttp.ClientProxyConnectionError):
        return TransientError(detail=f"cannot connect to the proxy {proxy}")
    kind = type(exc)
    if not kind.__module__.startswith(("aiohttp_socks", "python_socks")):
        return None
    if "Timeout" in kind.__name__:
        return TransientError(detail=f"timed out connecting through the proxy {proxy}")
    if "Connection" in kind.__name__:
        return TransientError(detail=f"cannot connect to the proxy {proxy}")
    reason = _clean(str(exc))
    if "authentication" in reason.lower():
        return PermanentError(detail=f"the proxy {proxy} refused its user and password")
    return TransientError(detail=f"the proxy {proxy} failed: {reason}")


def http_error(response: aiohttp.ClientResponse, now: float) -> TransferError:
    """The :class:`TransferError` for an answer that is not the file (a 404, a 503).

    ``now`` (a Unix time) turns a Retry-After date into seconds.
    """
    status = response.status
    retry_after = parse_retry_after(response.headers.get("Retry-After", ""), now)
    # the reason phrase is the server's: printable and short, whatever it sent
    shown = "".join(c if c.isprintable() else "?" for c in (response.reason or "")[:60]).strip()
    text = f"the server answered HTTP {status}" + (f" {shown}" if shown else "")
    if status in _TRANSIENT_STATUS:
        return TransientError(detail=text, retry_after=retry_after)
    if status in _REFUSED_STATUS:
        return LinkRefused(detail=text, status=status)
    return PermanentError(detail=text)
