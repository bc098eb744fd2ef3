"""A loopback HTTP server for tests: correct Range/If-Range, faults on demand.

It runs in its own thread with its own event loop, so sync tests (which run
the CLI in subprocesses) and async tests (whose loop runs the engine) can
both use it. Every request is recorded before it is answered, so a test can
assert on the exact Range and If-Range headers a client sent.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import gzip as gzip_module
import hashlib
import random
import socket
import ssl
import threading
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field, fields, replace
from email.utils import formatdate
from pathlib import Path
from typing import Any, Self

import pytest
from aiohttp import web
from multidict import CIMultiDict

__all__ = [
    "BackgroundServer",
    "Faults",
    "Hook",
    "LoopbackServer",
    "RawConnection",
    "RawRequest",
    "RawServer",
    "RecordedRequest",
    "Resource",
    "TLSFiles",
    "http_date",
    "http_server",
    "https_server",
    "loopback_host",
    "make_body",
    "other_server",
    "response_head",
    "tls",
]

DEFAULT_LAST_MODIFIED = "Wed, 21 Oct 2026 07:28:00 GMT"
_AUTO: Any = object()


def http_date(ts: float) -> str:
    return formatdate(ts, usegmt=True)


@functools.cache
def _can_bind(address: str) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((address, 0))
        except OSError:
            return False
    return True


def loopback_host(n: int) -> str:
    """A loopback address for the n-th distinct host: 127.0.0.(n+1).

    Linux and Windows answer on all of 127.0.0.0/8; macOS only on 127.0.0.1
    unless aliased (``sudo ifconfig lo0 alias 127.0.0.2``, as the CI workflow
    does). Without the alias this falls back to 127.0.0.1, so servers there
    differ by port only: still distinct origins, but one host.
    """
    address = f"127.0.0.{n + 1}"
    return address if _can_bind(address) else "127.0.0.1"


def make_body(size: int, seed: int = 0) -> bytes:
    """Deterministic, incompressible bytes."""
    return random.Random(seed).randbytes(size)


def strong_etag(body: bytes) -> str:
    return '"' + hashlib.sha256(body).hexdigest()[:16] + '"'


@dataclass
class RecordedRequest:
    method: str
    path: str
    query: str
    headers: CIMultiDict[str]
    host: str


@dataclass(frozen=True)
class Faults:
    """The faults of one answer (a hook may set any of them for one request)."""

    reset_after: int | None = None
    stall_after: int | None = None
    rate: int | None = None
    #: with ``rate``: this many bytes go out at once first (nginx's ``limit_rate``
    #: lets a second's worth through)
    burst: int = 0
    lie_length: int = 0
    ignore_range: bool = False
    #: serve the range even when If-Range names another version (a broken cache)
    ignore_if_range: bool = False
    range_start_shift: int = 0
    #: answer with this status (and no body) instead, with these headers
    status: int | None = None
    status_headers: tuple[tuple[str, str], ...] = ()
    #: a stall lasts this long, then the connection closes (None: until
    #: release_stalls() or stop())
    stall_for: float | None = None


#: called with the answer's index (0 = the resource's first body answer) and the
#: request, in the server's thread, before the answer is built: it may change the
#: resource (replace_body) and return faults for this answer only
Hook = Callable[[int, RecordedRequest], dict[str, Any] | None]


@dataclass
class Resource:
    body: bytes
    etag: str | None = _AUTO
    last_modified: str | None = _AUTO
    content_type: str = "application/octet-stream"
    content_disposition: str | None = None
    extra_headers: dict[str, str] = field(default_factory=dict)
    # faults; each applies to every body response unless fault_times limits it
    fault_times: int | None = None
    reset_after: int | None = None
    stall_after: int | None = None
    rate: int | None = None
    burst: int = 0
    lie_length: int = 0
    ignore_range: bool = False
    range_start_shift: int = 0
    chunked: bool = False
    gzip: bool = False
    status_script: list[tuple[int, dict[str, str]]] = field(default_factory=list)
    redirect_to: str | None = None
    redirect_status: int = 302
    #: body offsets where a response pauses until ``release_hold(path)``; each
    #: applies once (the test decides when the client gets the rest)
    hold_at: list[int] = field(default_factory=list)
    #: seconds to wait before answering each request (a slow server, not a fault)
    delay: float = 0.0
    hook: Hook | None = None
    #: body responses served so far (for fault_times)
    served: int = 0

    def __post_init__(self) -> None:
        if self.etag is _AUTO:
            self.etag = strong_etag(self.wire_body)
        if self.last_modified is _AUTO:
            self.last_modified = DEFAULT_LAST_MODIFIED

    @property
    def wire_body(self) -> bytes:
        """The bytes of the representation: gzip-compressed when ``gzip`` is set."""
        if self.gzip:
            return gzip_module.compress(self.body, mtime=0)
        return self.body

    def faults_active(self) -> bool:
        return self.fault_times is None or self.served < self.fault_times

    def faults(self, active: bool) -> Faults:
        """The resource's own faults (all but the rate only while ``active``)."""
        if not active:
            return Faults(rate=self.rate, burst=self.burst)
        own = {f.name for f in fields(Faults)} - {
            "status",
            "status_headers",
            "ignore_if_range",
            "stall_for",
        }
        return Faults(**{name: getattr(self, name) for name in own})


def _if_range_matches(value: str, resource: Resource) -> bool:
    value = value.strip()
    if value.startswith('"') or value.startswith("W/"):
        # strong comparison: weak tags never match
        return (
            not value.startswith("W/")
            and resource.etag is not None
            and not resource.etag.startswith("W/")
            and value == resource.etag
        )
    return resource.last_modified is not None and value == resource.last_modified


def _parse_range(value: str, size: int) -> tuple[int, int] | str | None:
    """(start, end) inclusive; None to ignore the header; "unsatisfiable"."""
    value = value.strip()
    if not value.startswith("bytes=") or "," in value:
        return None
    spec = value[len("bytes=") :].strip()
    first, sep, last = spec.partition("-")
    if not sep:
        return None
    try:
        if not first:
            suffix = int(last)
            if suffix <= 0:
                return "unsatisfiable"
            return max(size - suffix, 0), size - 1
        start = int(first)
        end = int(last) if last else size - 1
    except ValueError:
        return None
    if start >= size:
        return "unsatisfiable"
    if end < start:
        return None
    return start, min(end, size - 1)


class BackgroundServer:
    """A server on its own thread and event loop; subclasses start and stop the site."""

    def __init__(self, host: str, port: int) -> None:
        self.host = host
        self.port = port
        #: the host name clients use in URLs (default: the address it listens on)
        self.url_host = host
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._ready = threading.Event()
        self._release: asyncio.Event | None = None
        self._error: BaseException | None = None

    # -- life cycle -------------------------------------------------------------

    def start(self) -> Self:
        self._thread = threading.Thread(
            target=self._serve, name=f"loopback-{self.host}", daemon=True
        )
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("the loopback server did not start")
        if self._error is not None:
            raise RuntimeError("the loopback server failed to start") from self._error
        return self

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        asyncio.set_event_loop(loop)
        try:
            self._release = asyncio.Event()
            loop.run_until_complete(self._start_site())
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        loop.run_forever()
        if self._release is not None:
            self._release.set()
        loop.run_until_complete(self._shutdown())
        loop.close()

    async def _start_site(self) -> None:
        raise NotImplementedError

    async def _shutdown(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        loop = self._loop
        if loop is None or self._thread is None:
            return
        loop.call_soon_threadsafe(self._release_now)
        loop.call_soon_threadsafe(loop.stop)
        self._thread.join(timeout=10)
        self._loop = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _release_now(self) -> None:
        if self._release is not None:
            self._release.set()

    def release_stalls(self) -> None:
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._release_now)

    @property
    def scheme(self) -> str:
        return "http"

    @property
    def base_url(self) -> str:
        return f"{self.scheme}://{self.url_host}:{self.port}"

    def url(self, path: str) -> str:
        return self.base_url + path


class LoopbackServer(BackgroundServer):
    def __init__(
        self,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        ssl_context: ssl.SSLContext | None = None,
        keepalive_timeout: float = 75.0,
        url_host: str | None = None,
        record: bool = True,
    ) -> None:
        super().__init__(host, port)
        #: serve HTTPS with this context (see the tls fixtures below)
        self.ssl_context = ssl_context
        #: an idle kept-alive connection is closed after this long (aiohttp's default: 75 s)
        self.keepalive_timeout = keepalive_timeout
        self.url_host = url_host or host
        #: keep every request in ``requests`` (a long soak turns this off)
        self.record = record
        self.resources: dict[str, Resource] = {}
        self.requests: list[RecordedRequest] = []
        self.bytes_sent: dict[str, int] = {}
        #: responses being written right now, per path (a client that stopped
        #: reading shows here as the count going back down)
        self.in_flight: dict[str, int] = {}
        #: path -> the body offset a response is paused at (see Resource.hold_at)
        self.held: dict[str, int] = {}
        self._hold_events: dict[str, asyncio.Event] = {}
        #: the most requests ever being answered at once (all paths together)
        self.peak_in_flight = 0
        self._answering = 0
        self._runner: web.AppRunner | None = None

    async def _start_site(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(
            app, access_log=None, handle_signals=False, keepalive_timeout=self.keepalive_timeout
        )
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, ssl_context=self.ssl_context)
        await site.start()
        server = site._server
        assert server is not None and server.sockets  # type: ignore[attr-defined]
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]

    async def _shutdown(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def scheme(self) -> str:
        return "http" if self.ssl_context is None else "https"

    def _release_now(self) -> None:
        super()._release_now()
        for event in self._hold_events.values():
            event.set()

    def release_hold(self, path: str) -> None:
        """Let the response paused at a hold point of ``path`` go on."""
        with self._lock:
            self.held.pop(path, None)
        event = self._hold_events.get(path)
        if self._loop is not None and event is not None:
            self._loop.call_soon_threadsafe(event.set)

    def held_at(self, path: str) -> int | None:
        with self._lock:
            return self.held.get(path)

    async def _hold(self, path: str, resource: Resource, offset: int) -> None:
        resource.hold_at.remove(offset)
        event = self._hold_events.setdefault(path, asyncio.Event())
        event.clear()
        with self._lock:
            self.held[path] = offset
        await event.wait()

    # -- content ----------------------------------------------------------------

    @property
    def origin(self) -> str:
        return self.base_url

    def add(self, path: str, body: bytes | None = None, **fields: Any) -> Resource:
        resource = Resource(body=b"" if body is None else body, **fields)
        with self._lock:
            self.resources[path] = resource
        return resource

    def remove(self, path: str) -> None:
        """Forget ``path`` (later requests get a 404)."""
        with self._lock:
            self.resources.pop(path, None)

    def replace_body(
        self,
        path: str,
        body: bytes,
        etag: str | None = _AUTO,
        last_modified: str | None = "Thu, 22 Oct 2026 08:00:00 GMT",
    ) -> None:
        resource = self.resources[path]
        resource.body = body
        resource.etag = strong_etag(resource.wire_body) if etag is _AUTO else etag
        resource.last_modified = last_modified

    def requests_for(self, path: str) -> list[RecordedRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    def clear_requests(self) -> None:
        with self._lock:
            self.requests.clear()

    # -- serving ------------------------------------------------------------------

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        recorded = RecordedRequest(
            method=request.method,
            path=request.path,
            query=request.query_string,
            headers=CIMultiDict(request.headers),
            host=f"{self.host}:{self.port}",
        )
        with self._lock:
            if self.record:
                self.requests.append(recorded)
            resource = self.resources.get(request.path)
        if resource is None:
            return web.Response(status=404, text="not found")
        with self._lock:
            self._answering += 1
            self.peak_in_flight = max(self.peak_in_flight, self._answering)
        try:
            if resource.delay:
                await asyncio.sleep(resource.delay)
            return await self._answer(request, resource, recorded)
        finally:
            with self._lock:
                self._answering -= 1

    async def _answer(
        self, request: web.Request, resource: Resource, recorded: RecordedRequest
    ) -> web.StreamResponse:
        if resource.status_script:
            status, headers = resource.status_script.pop(0)
            return web.Response(status=status, headers=headers, text=f"scripted {status}")
        if resource.redirect_to is not None:
            return web.Response(
                status=resource.redirect_status, headers={"Location": resource.redirect_to}
            )
        with self._lock:
            self.in_flight[request.path] = self.in_flight.get(request.path, 0) + 1
        try:
            return await self._serve_body(request, resource, recorded)
        finally:
            with self._lock:
                self.in_flight[request.path] -= 1

    async def _serve_body(
        self, request: web.Request, resource: Resource, recorded: RecordedRequest
    ) -> web.StreamResponse:
        index = resource.served
        faults = resource.faults(resource.faults_active())
        resource.served += 1
        if resource.hook is not None:
            faults = replace(faults, **(resource.hook(index, recorded) or {}))
        if faults.status is not None:
            return web.Response(
                status=faults.status, headers=dict(faults.status_headers), text="hooked"
            )
        # read after the hook: a body it replaced is this answer's body
        data = resource.wire_body
        size = len(data)
        headers = CIMultiDict[str]()
        headers["Accept-Ranges"] = "bytes"
        headers["Content-Type"] = resource.content_type
        if resource.etag is not None:
            headers["ETag"] = resource.etag
        if resource.last_modified is not None:
            headers["Last-Modified"] = resource.last_modified
        if resource.content_disposition is not None:
            headers["Content-Disposition"] = resource.content_disposition
        if resource.gzip:
            headers["Content-Encoding"] = "gzip"
        headers.update(resource.extra_headers)

        start, end, status = 0, size - 1, 200
        range_header = request.headers.get("Range")
        if_range = request.headers.get("If-Range")
        use_range = range_header is not None and not faults.ignore_range
        if (
            use_range
            and if_range is not None
            and not faults.ignore_if_range
            and not _if_range_matches(if_range, resource)
        ):
            use_range = False
        if use_range and range_header is not None and size > 0:
            parsed = _parse_range(range_header, size)
            if parsed == "unsatisfiable":
                headers["Content-Range"] = f"bytes */{size}"
                return web.Response(status=416, headers=headers)
            if isinstance(parsed, tuple):
                start, end = parsed
                status = 206
        elif use_range and range_header is not None and size == 0:
            headers["Content-Range"] = "bytes */0"
            return web.Response(status=416, headers=headers)
        if status == 206 and faults.range_start_shift:
            start = max(0, min(start + faults.range_start_shift, size - 1))
        if status == 206:
            headers["Content-Range"] = f"bytes {start}-{end}/{size}"
        payload = data[start : end + 1]

        response = web.StreamResponse(status=status, headers=headers)
        lie = faults.lie_length
        if resource.chunked:
            response.enable_chunked_encoding()
        else:
            response.content_length = len(payload) + lie
        if request.method == "HEAD":
            await response.prepare(request)
            return response
        await response.prepare(request)
        await self._write_payload(request, response, resource, faults, payload, start)
        if lie:
            # the body is shorter than announced: close the connection on the client
            assert request.transport is not None
            request.transport.close()
            return response
        await response.write_eof()
        return response

    async def _write_payload(
        self,
        request: web.Request,
        response: web.StreamResponse,
        resource: Resource,
        faults: Faults,
        payload: bytes,
        start: int = 0,
    ) -> None:
        rate = faults.rate
        block = 16 * 1024 if rate else 256 * 1024
        limit = len(payload)
        cut: str | None = None
        if faults.reset_after is not None and faults.reset_after < limit:
            limit, cut = faults.reset_after, "reset"
        if faults.stall_after is not None and faults.stall_after < limit:
            limit, cut = faults.stall_after, "stall"
        position = 0
        loop = asyncio.get_running_loop()
        started = loop.time()
        holds = sorted(h - start for h in resource.hold_at if start <= h < start + limit)
        while position < limit:
            if holds and position >= holds[0]:
                await self._hold(request.path, resource, start + holds.pop(0))
                started = loop.time() - position / rate if rate else started
                continue
            stop = min(position + block, limit, holds[0] if holds else limit)
            chunk = payload[position:stop]
            await response.write(chunk)
            position += len(chunk)
            with self._lock:
                self.bytes_sent[request.path] = self.bytes_sent.get(request.path, 0) + len(chunk)
            if rate:
                # pace against the clock so the average is the rate
                due = started + max(position - faults.burst, 0) / rate
                delay = due - loop.time()
                if delay > 0:
                    await asyncio.sleep(delay)
        if cut == "reset":
            transport = request.transport
            assert transport is not None
            # give the kernel the bytes we wrote, then break the connection
            await asyncio.sleep(0)
            transport.abort()
            raise asyncio.CancelledError
        if cut == "stall":
            assert self._release is not None
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(faults.stall_for):
                    await self._release.wait()
            transport = request.transport
            if transport is not None:
                transport.close()
            raise asyncio.CancelledError


# -- raw servers: faults aiohttp.web cannot make ------------------------------------


@dataclass
class RawRequest:
    #: which TCP connection it came on (1 = the server's first)
    connection: int
    method: str
    path: str
    headers: CIMultiDict[str]


class RawConnection:
    """One accepted connection; the handler reads requests and writes any bytes."""

    def __init__(
        self,
        server: RawServer,
        number: int,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        self.server = server
        self.number = number
        self.reader = reader
        self.writer = writer

    async def read_request(self) -> RawRequest | None:
        """The next request's head (recorded on the server), or None at EOF."""
        try:
            head = await self.reader.readuntil(b"\r\n\r\n")
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            return None
        line, *fields = head.decode("latin-1").split("\r\n")
        method, target, _ = line.split(" ", 2)
        headers = CIMultiDict[str]()
        for text in fields:
            if text:
                name, _, value = text.partition(":")
                headers.add(name.strip(), value.strip())
        request = RawRequest(self.number, method, target, headers)
        with self.server._lock:
            self.server.requests.append(request)
        return request

    async def send(self, data: bytes) -> None:
        self.writer.write(data)
        await self.writer.drain()


RawHandler = Callable[[RawConnection], Awaitable[None]]


def response_head(status: int = 200, headers: dict[str, str] | None = None) -> bytes:
    lines = [f"HTTP/1.1 {status} X"] + [f"{n}: {v}" for n, v in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


class RawServer(BackgroundServer):
    """A TCP server whose ``handler`` writes whatever bytes a test wants.

    For faults an HTTP server library will not produce: bytes past the
    Content-Length, a 10 MB header line, headers dripped one byte at a time.
    Every request head is recorded with the number of the connection it came
    on, so a test can tell whether a client reused a connection.
    """

    def __init__(
        self,
        handler: RawHandler,
        host: str = "127.0.0.1",
        port: int = 0,
        *,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(host, port)
        self.handler = handler
        self.ssl_context = ssl_context
        self.requests: list[RawRequest] = []
        self.connections = 0
        #: bytes the handlers wrote, all connections together
        self.bytes_sent = 0
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()

    @property
    def scheme(self) -> str:
        return "http" if self.ssl_context is None else "https"

    async def _start_site(self) -> None:
        self._server = await asyncio.start_server(
            self._on_connect, self.host, self.port, ssl=self.ssl_context
        )
        self.port = self._server.sockets[0].getsockname()[1]

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        with self._lock:
            self.connections += 1
            number = self.connections
        try:
            await self.handler(RawConnection(self, number, reader, writer))
            # a handler that returns ends its answer: every byte goes out, then FIN
            writer.close()
            with contextlib.suppress(ConnectionError, ssl.SSLError):
                await writer.wait_closed()
        except (ConnectionError, asyncio.CancelledError, ssl.SSLError):
            pass  # the client went away (or the test ended): that is the point
        finally:
            self._handlers.discard(task)
            writer.transport.abort()

    async def _shutdown(self) -> None:
        for task in list(self._handlers):
            task.cancel()
        if self._handlers:
            await asyncio.gather(*self._handlers, return_exceptions=True)
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()

    def requests_for(self, path: str) -> list[RawRequest]:
        with self._lock:
            return [r for r in self.requests if r.path == path]

    async def until_released(self) -> None:
        """For a handler: wait until the server stops (or release_stalls())."""
        assert self._release is not None
        await self._release.wait()


# -- TLS ----------------------------------------------------------------------------


@dataclass
class TLSFiles:
    """A test certificate authority and what it issued."""

    ca: Any  # trustme.CA
    #: the CA certificate as a PEM file (what a client is told to trust)
    ca_file: Path

    def server_context(self, *hosts: str, **issue: Any) -> ssl.SSLContext:
        """A server context with a leaf certificate for ``hosts`` (default 127.0.0.1)."""
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.ca.issue_cert(*(hosts or ("127.0.0.1",)), **issue).configure_cert(context)
        return context


@pytest.fixture(scope="session")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TLSFiles:
    import trustme

    ca = trustme.CA()
    ca_file = tmp_path_factory.mktemp("tls") / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    return TLSFiles(ca, ca_file)


@pytest.fixture
def https_server(tls: TLSFiles) -> Iterator[LoopbackServer]:
    """HTTPS on 127.0.0.1, signed by a CA a client trusts only when told (``tls.ca_file``)."""
    with LoopbackServer("127.0.0.1", ssl_context=tls.server_context()) as server:
        yield server


@pytest.fixture
def http_server() -> Iterator[LoopbackServer]:
    with LoopbackServer("127.0.0.1") as server:
        yield server


@pytest.fixture
def other_server() -> Iterator[LoopbackServer]:
    """A different host, so a different origin: 127.0.0.2, or on a Mac without
    that alias, "localhost" (a different host name for the same address)."""
    address = loopback_host(1)
    url_host = "localhost" if address == "127.0.0.1" else None
    with LoopbackServer(address, url_host=url_host) as server:
        yield server
