"""The blocking lane: file-system calls off the event loop, at a low cost per call.

``loop.run_in_executor`` chains a ``concurrent.futures.Future`` to an asyncio
one (two futures, a lock and a callback chain per call, and a semaphore in
``ThreadPoolExecutor.submit``). A download of a small file makes six or seven
such calls (create, write, fsync, name, link, folder fsync...), so at
thousands of files per second that overhead is a good part of the engine's
CPU. Here a worker hands its result straight back with
``call_soon_threadsafe``: about a third of the cost per call
(``bench/README.md``, "blocking lane").

Threads start on demand up to :data:`MAX_THREADS` and exit after
:data:`IDLE_SECONDS` without work. A cancelled caller does not stop a call
that already started: like ``run_in_executor``, the call completes and its
result is dropped (callers that care, such as the part file's write lane,
shield the future and read the outcome later).
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import queue
import threading
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

#: enough for a few fsyncs beside a few writes; the disk, not the CPU, is the limit
MAX_THREADS = 8
IDLE_SECONDS = 30.0

_Item = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", Callable[..., Any], tuple[Any, ...]]


def _deliver(future: asyncio.Future[Any], ok: bool, value: Any) -> None:
    if future.done():  # the caller was cancelled meanwhile
        return
    if ok:
        future.set_result(value)
    else:
        future.set_exception(value)


class BlockingLane:
    """A small pool of threads for blocking calls, awaited as asyncio futures."""

    def __init__(self, max_threads: int = MAX_THREADS, idle_seconds: float = IDLE_SECONDS) -> None:
        self._max_threads = max_threads
        self._idle_seconds = idle_seconds
        self._items: queue.SimpleQueue[_Item] = queue.SimpleQueue()
        # under _lock: threads alive, threads waiting for an item, items not yet taken
        self._lock = threading.Lock()
        self._threads = 0
        self._waiting = 0
        self._queued = 0
        if hasattr(os, "register_at_fork"):  # not on Windows, which has no fork
            # a forked child has none of the parent's threads (once per fork,
            # not a getpid per call)
            lane = weakref.ref(self)
            os.register_at_fork(after_in_child=lambda: _forget_threads(lane()))

    def run(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """Call ``fn(*args)`` on a lane thread; the future gives its result or error."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        with self._lock:
            self._items.put((loop, future, fn, args))
            self._queued += 1
            start = self._queued > self._waiting and self._threads < self._max_threads
            if start:
                self._threads += 1
        if start:
            threading.Thread(target=self._work, name="drayman-blocking", daemon=True).start()
        return future

    def _work(self) -> None:
        items = self._items
        while True:
            with self._lock:
                self._waiting += 1
            try:
                item = items.get(timeout=self._idle_seconds)
            except queue.Empty:
                with self._lock:
                    self._waiting -= 1
                    # items are put under the lock: none can slip in unseen
                    if items.empty():
                        self._threads -= 1
                        return
                continue
            with self._lock:
                self._waiting -= 1
                self._queued -= 1
            loop, future, fn, args = item
            try:
                outcome: tuple[bool, Any] = (True, fn(*args))
            except BaseException as exc:
                outcome = (False, exc)
            del item, fn, args
            # RuntimeError: the loop was closed while we worked
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(_deliver, future, *outcome)
            del future, outcome


def _forget_threads(lane: BlockingLane | None) -> None:
    if lane is not None:
        lane._lock = threading.Lock()
        lane._threads, lane._waiting, lane._queued = 0, 0, 0
        lane._items = queue.SimpleQueue()


_LANE = BlockingLane()


async def run_blocking(fn: Callable[..., T], *args: Any) -> T:
    """``await asyncio.to_thread(fn, *args)``, cheaper (no context copy, no chained futures)."""
    return await _LANE.run(fn, *args)


def start_blocking(fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
    """Like :func:`run_blocking`, as a future (to run beside other work, or to shield)."""
    return _LANE.run(fn, *args)
