"""A plain-HTTP body moved from the socket to the ``.part`` by a thread of its own.

aiohttp hands a body over as one ``bytes`` object per socket read, each
through a callback, a stream reader and an await on the event loop; at
loopback or LAN speeds that per-chunk Python work, not the copying, is what
limits a download (``bench/PROFILE.md``). Once an answer is checked, a pump
takes its socket instead: a thread receives into one reused buffer,
gathering up to a block (or 50 ms of a slow connection) before each write,
so a fast connection costs a few ``recv_into`` and one write per MiB, and the event loop
only looks in a few times a second (progress, the stall and speed watches,
checkpoints, a pause). On Linux the bytes do not even pass through Python:
``splice`` moves them from the socket into a pipe and from the pipe into the
file (one copy in the kernel instead of two and a trip through user space:
about a fifth less CPU per byte, ``bench/PROFILE.md``), where the sink can take them
so (:meth:`Sink.splices`: not when a hash is computed on the way).

Only where it is safe and it pays (:func:`can_pump`):

- a connection without TLS (a TLS socket's bytes are not the body), whose
  answer has a Content-Length and no chunked encoding, with at least
  ``pump_min_size`` left (a small file's few reads are cheaper than a thread);
- a fast connection: the first MiB of the answer is read through aiohttp,
  and only if it came at ``pump_min_speed`` or more does a pump take over
  (:class:`SpeedProbe`; a slow connection's reads cost little);
- no speed limit (the limiter is the event loop's): a limit set while a pump
  runs stops it, and the transfer asks for the rest with a range;
- not on Windows, whose Proactor loop keeps a read of its own pending on
  the socket; there, and everywhere else, aiohttp's reads remain the path.

The connection is closed afterwards, never reused: aiohttp's parser did not
see the body. Where the bytes land is the caller's :class:`Sink` (an append
to a single stream's ``.part``, or a segment's positional write), which says
how many it kept: fewer means the end moved (a segment's upper half was
taken by another connection), and the pump stops there.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import logging
import os
import selectors
import socket
import sys
import threading
import time
from asyncio import FIRST_COMPLETED
from collections.abc import Callable
from typing import Protocol

import aiohttp

from drayman.queue.stall import ReadDeadline, SpeedWatch
from drayman.queue.transferconfig import MiB

#: the most a pump gathers before it writes
BLOCK = MiB
#: how often the thread looks up from a silent socket (a stop)
_POLL_SECONDS = 0.25
#: the longest a received byte waits in the buffer for more (then it is written)
_GATHER_SECONDS = 0.05
#: how often the event loop looks at a running pump
TICK = 0.25

_SUPPORTED = sys.platform != "win32"
#: socket -> pipe -> file without user space (Linux); ``DRAYMAN_PUMP_COPY`` set: never
#: (tests run the copying path too)
_SPLICE = sys.platform.startswith("linux") and hasattr(os, "splice")
PUMP_COPY_ENV = "DRAYMAN_PUMP_COPY"

log = logging.getLogger(__name__)


class Sink(Protocol):
    """Where a pump's bytes go, and what the event loop does when it looks in."""

    def room(self) -> int:
        """Bytes that may still come (0: the pump's work is done). The pump's thread."""

    def land(self, view: memoryview) -> int:
        """Write ``view``; return how much was kept (fewer: stop). The pump's thread."""

    def splices(self) -> bool:
        """Whether bytes may reach the file without passing through Python (:meth:`land_from`)."""

    def idle(self) -> None:
        """The socket has nothing to read for now, or the pump stops. The pump's thread."""

    def land_from(self, pipe: int, size: int) -> int:
        """Move ``size`` bytes from ``pipe`` into the file; as :meth:`land`. The pump's thread."""

    def counted(self, amount: int) -> None:
        """``amount`` more bytes landed since the loop last looked. The event loop."""

    def tick(self) -> bool:
        """At every look (checkpoints); False stops the pump (a limit came). The event loop."""


def socket_of(response: aiohttp.ClientResponse) -> object | None:
    """The answer's socket (or uvloop's stand-in for it), if it has one."""
    connection = response.connection
    transport = connection.transport if connection is not None else None
    return None if transport is None else transport.get_extra_info("socket")


def can_pump(response: aiohttp.ClientResponse, left: int | None, min_size: int) -> bool:
    """Whether the rest of this answer's body (``left`` bytes) may go through a pump
    (``min_size``: the least worth a thread, 0 for none)."""
    if not _SUPPORTED or not min_size or left is None or left < min_size:
        return False
    connection = response.connection
    transport = connection.transport if connection is not None else None
    if transport is None or transport.get_extra_info("socket") is None:
        return False
    if transport.get_extra_info("sslcontext") or transport.get_extra_info("ssl_object"):
        return False
    headers = response.headers
    if "chunked" in headers.get("Transfer-Encoding", "").lower():
        return False
    # a length the answer announced (checked against the file's); not a close-delimited body
    length = headers.get("Content-Length", "")
    return length.isdigit() and int(length) >= left


class SpeedProbe:
    """Whether the first bytes of an answer, read through aiohttp, came fast enough
    for a pump to pay: :meth:`fast` after each read, True once (then never again).

    ``probe`` bytes are timed from the probe's creation: slower than
    ``min_speed``, the connection stays with aiohttp. ``min_speed`` 0 says
    yes at once (``fast(0)``, before any read).
    """

    __slots__ = ("_deadline", "_got", "_probe", "decided")

    def __init__(self, min_speed: int, probe: int = MiB) -> None:
        self._probe = probe if min_speed else 0
        self._deadline = time.monotonic() + probe / min_speed if min_speed else float("inf")
        self._got = 0
        #: the probe has said yes or no
        self.decided = False

    def fast(self, amount: int) -> bool:
        if self.decided:
            return False
        self._got += amount
        if self._got < self._probe:
            if time.monotonic() > self._deadline:
                self.decided = True  # too slow: aiohttp's reads it stays
            return False
        self.decided = True
        return time.monotonic() <= self._deadline


class Pump:
    """The body of one checked answer, from the socket to ``land``, on a thread.

    Made right after the answer is checked: it takes what aiohttp had read
    already (landed first) and stops aiohttp reading. :meth:`run` runs the
    thread until the sink's room is 0, the server closes (:attr:`eof`), or
    the sink's tick says stop; it may run again for more room (a segment
    that grew). :attr:`moved` counts the bytes landed.
    """

    def __init__(self, response: aiohttp.ClientResponse, block: int = BLOCK) -> None:
        """``block``: the most gathered before a write (what a crash can lose of it)."""
        self.response = response
        content = response.content
        #: body bytes aiohttp had read before the pump took over
        self._pending: list[memoryview] = []
        # read_nowait may resume a reading that flow control paused: drain first,
        # then stop it, with no await between (so no read comes in between)
        while chunk := content.read_nowait():
            self._pending.append(memoryview(chunk))
        connection = response.connection
        assert connection is not None and connection.transport is not None
        connection.transport.pause_reading()
        self._raw = socket_of(response)
        assert self._raw is not None
        #: the most gathered before a landing; the buffer itself is made by the
        #: thread, and only to copy (a MiB zeroed with the GIL held, for nothing
        #: when the bytes are spliced)
        self._block = block
        self._stop = threading.Event()
        #: the thread wakes the event loop after every ``nudge_every`` bytes
        #: (a checkpoint is due), not only at the next tick
        self.nudge_every = 0
        self._nudge_at = 0
        self._nudge: asyncio.Future[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        #: bytes landed so far (read from the event loop)
        self.moved = 0
        #: the server closed the connection
        self.eof = False

    async def run(
        self, sink: Sink, speed: SpeedWatch, deadline: ReadDeadline, every: float = TICK
    ) -> bool:
        """Move bytes to ``sink`` until its room is 0, the server closes, or ``sink.tick()``
        says stop (then False); the stall and speed watches judge the flow."""
        seen = self.moved  # before the thread starts: it may land bytes at once
        future = self._start(sink)
        return await _watch(self, future, seen, sink, speed, deadline, every)

    def _start(self, sink: Sink) -> asyncio.Future[None]:
        """Run the thread; the future completes when it stops, with its error if any."""
        loop = self._loop = asyncio.get_running_loop()
        self._nudge_at = self.moved + self.nudge_every
        future: asyncio.Future[None] = loop.create_future()
        self._stop.clear()

        def deliver(error: BaseException | None) -> None:
            if future.done():
                return
            if error is None:
                future.set_result(None)
            else:
                future.set_exception(error)

        # a descriptor of its own for the thread (aiohttp closes its socket with the
        # answer), closed when the thread ends: nothing to let go of otherwise
        sock = socket.socket(fileno=os.dup(self._raw.fileno()))  # type: ignore[attr-defined]

        def run() -> None:
            error: BaseException | None = None
            try:
                self._move(sock, sink)
            except BaseException as exc:  # delivered to the awaiting task
                error = exc
            finally:
                sock.close()
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                loop.call_soon_threadsafe(deliver, error)

        held = sum(len(view) for view in self._pending)
        log.debug("a pump thread takes over a body (%d bytes of it held already)", held)
        threading.Thread(target=run, name="drayman-pump", daemon=True).start()
        return future

    def new_nudge(self) -> asyncio.Future[None]:
        """A future the thread completes after its next ``nudge_every`` bytes."""
        loop = self._loop
        assert loop is not None
        nudge = self._nudge
        if nudge is None or nudge.done():
            nudge = self._nudge = loop.create_future()
        return nudge

    def stop(self) -> None:
        """Ask the thread to stop after its current write."""
        self._stop.set()

    def _landed(self, kept: int, size: int) -> bool:
        """Count ``kept`` of ``size`` bytes landed; nudge the loop if a checkpoint is due."""
        self.moved += kept
        if self.nudge_every and self.moved >= self._nudge_at:
            self._nudge_at = self.moved + self.nudge_every
            nudge, loop = self._nudge, self._loop
            if nudge is not None and loop is not None:
                with contextlib.suppress(RuntimeError):  # the loop is closed
                    loop.call_soon_threadsafe(_wake, nudge)
        return kept == size

    def _move(self, sock: socket.socket, sink: Sink) -> None:
        while self._pending:
            view = self._pending[0]
            left = sink.room()
            if left <= 0 or self._stop.is_set():
                return
            piece = view[:left]
            if not self._landed(sink.land(piece), len(piece)):
                return
            if len(piece) == len(view):
                self._pending.pop(0)
            else:
                self._pending[0] = view[len(piece) :]
        sock.setblocking(False)
        try:
            self._gather_into(sock, sink)
        finally:
            sink.idle()

    def _gather_into(self, sock: socket.socket, sink: Sink) -> None:
        pipe = _pipe(self._block) if splicing() and sink.splices() else None
        if pipe is None:
            buffer = memoryview(bytearray(self._block))
            self._gather(
                sock,
                sink,
                lambda filled, want: sock.recv_into(buffer[filled : filled + want]),
                lambda filled: sink.land(buffer[:filled]),
            )
            return
        pipe_out, pipe_in = pipe
        fd, flags = sock.fileno(), os.SPLICE_F_MOVE | os.SPLICE_F_NONBLOCK
        try:
            self._gather(
                sock,
                sink,
                lambda _filled, want: os.splice(fd, pipe_in, want, flags=flags),
                lambda filled: sink.land_from(pipe_out, filled),
                pipe=True,
            )
        finally:
            os.close(pipe_out)
            os.close(pipe_in)

    def _gather(
        self,
        sock: socket.socket,
        sink: Sink,
        receive: Callable[[int, int], int],
        land: Callable[[int], int],
        *,
        pipe: bool = False,
    ) -> None:
        """Receive up to a block (``receive(filled, want)``), then ``land(filled)`` it;
        until the room is filled, the server closes, or the pump is stopped.

        ``pipe``: the block is held in a pipe, not the buffer (splice).
        """
        size, stop, room = self._block, self._stop, sink.room
        filled = 0
        #: when the oldest byte not landed yet arrived
        first_at = 0.0
        with selectors.DefaultSelector() as selector:
            selector.register(sock, selectors.EVENT_READ)
            while not stop.is_set():
                left = room() - filled
                if left <= 0:
                    break
                try:
                    got = receive(filled, min(left, size - filled))
                except (BlockingIOError, InterruptedError):
                    wait = _POLL_SECONDS
                    if filled:
                        # a slow connection's bytes are gathered a while (fewer,
                        # larger writes), then landed; so are a pipe's when it is
                        # full (its slots may hold parts of pages): bytes wait to be
                        # read, yet none came
                        wait = first_at + _GATHER_SECONDS - time.monotonic()
                        if wait <= 0 or (pipe and selector.select(0)):
                            if not self._landed(land(filled), filled):
                                return
                            filled = 0
                            continue
                    sink.idle()  # what was written is noted before the wait
                    selector.select(wait)
                    continue
                if not got:
                    self.eof = True
                    break
                if not filled:
                    first_at = time.monotonic()
                filled += got
                if filled == size or got == left:
                    if not self._landed(land(filled), filled):
                        return
                    filled = 0
        if filled:
            self._landed(land(filled), filled)


def splicing() -> bool:
    """Whether pumps move bytes by splice here (Linux, unless ``DRAYMAN_PUMP_COPY`` is set)."""
    return _SPLICE and not os.environ.get(PUMP_COPY_ENV)


def _pipe(size: int) -> tuple[int, int] | None:
    """A pipe holding ``size`` bytes (its reading end, its writing end), or None."""
    pipe_out, pipe_in = os.pipe()
    try:
        import fcntl  # Linux only, as splice

        if fcntl.fcntl(pipe_in, fcntl.F_SETPIPE_SZ, size) < size:
            raise OSError(errno.ENOMEM, "pipe too small")
    except OSError as exc:
        # more than /proc/sys/fs/pipe-max-size, or the user's pipes are full: copy
        log.debug("no pipe of %d bytes for a pump (%s): it copies", size, exc)
        os.close(pipe_out)
        os.close(pipe_in)
        return None
    return pipe_out, pipe_in


async def _watch(
    pump: Pump,
    future: asyncio.Future[None],
    seen: int,
    sink: Sink,
    speed: SpeedWatch,
    deadline: ReadDeadline,
    every: float,
) -> bool:
    """Wait for a running pump, looking in twice every ``every`` seconds (the checkpoint
    interval; at least every :data:`TICK`).

    The sink hears of the bytes landed since the last look (``seen``: the
    count before the thread started), after the watches (which raise for a
    stalled or too slow connection); then it ticks.
    The thread has stopped when this returns or raises (a cancellation
    waits for it too).
    """
    # twice per checkpoint interval: a checkpoint is due at most half an interval late
    every = min(every / 2, TICK)
    try:
        while True:
            nudge = pump.new_nudge()
            await asyncio.wait((future, nudge), timeout=every, return_when=FIRST_COMPLETED)
            moved = pump.moved
            if moved > seen:
                deadline.fed()
                speed.received(moved - seen)
                sink.counted(moved - seen)
                seen = moved
            if future.done():
                future.result()
                return True
            if not sink.tick():
                return False
    finally:
        pump.stop()
        await _outwait(future)
        if pump.moved > seen:
            sink.counted(pump.moved - seen)


def _wake(nudge: asyncio.Future[None]) -> None:
    if not nudge.done():
        nudge.set_result(None)


async def _outwait(future: asyncio.Future[None]) -> None:
    """Wait for ``future`` to finish, through cancellations (re-raised after it)."""
    cancelled = False
    while not future.done():
        try:
            await asyncio.shield(future)
        except asyncio.CancelledError:
            cancelled = True
        except Exception:
            break
    if not future.cancelled():
        future.exception()  # retrieved: its error, if any, is raised by the caller's result()
    if cancelled:
        raise asyncio.CancelledError
