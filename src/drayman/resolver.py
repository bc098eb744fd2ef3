"""Pages resolved for an event loop: yt-dlp in a child process, read by a worker thread.

yt-dlp is pure Python and busy while it reads a page: in a thread of the
window's process it would hold the GIL for most of a long playlist, and the
window's event loop would wait for it (hundreds of milliseconds at a time).
So :func:`resolve` runs :func:`drayman.pages.resolve_sync` in
``python -m drayman.resolver``, and a worker thread of ours only reads
its answers: one JSON line per entry as it is found, then the outcome.
Cancelling kills the child at once, wherever yt-dlp is.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import json
import os
import subprocess
import sys
import tempfile
import threading
from collections.abc import Callable, Sequence
from typing import IO, Any

from drayman.errors import BadInput
from drayman.pages import (
    OnEntry,
    PageEntry,
    PageFailed,
    PagesUnavailable,
    ResolveCancelled,
    Resolved,
    available,
    resolve_sync,
)
from drayman.urls import validate_url

_workers = 0
_workers_lock = threading.Lock()


def workers_running() -> int:
    """How many resolves are under way (each a worker thread and its child)."""
    with _workers_lock:
        return _workers


def _entry_to_json(entry: PageEntry) -> dict[str, Any]:
    data = dataclasses.asdict(entry)
    data["headers"] = [list(pair) for pair in entry.headers]
    return data


def _entry_from_json(data: dict[str, Any]) -> PageEntry:
    data = dict(data)
    data["headers"] = tuple((str(n), str(v)) for n, v in data.get("headers") or ())
    return PageEntry(**data)


def _child_environment() -> dict[str, str]:
    """Our environment, with this process's import path: the child imports what we do."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
    env["PYTHONIOENCODING"] = "utf-8"
    return env


def resolve_in_child(
    urls: Sequence[str],
    *,
    format: str | None,
    on_entry: OnEntry | None,
    cancel: threading.Event,
    started: Callable[[subprocess.Popen[str]], None] = lambda _: None,
    proxy: str | None = None,
) -> Resolved:
    """Blocking: start the child, relay its entries, return its outcome.

    ``started`` gets the child (the caller kills it to cancel, after setting
    ``cancel``).
    """
    global _workers
    with _workers_lock:
        _workers += 1
    try:
        with tempfile.TemporaryFile() as errors:
            return _drive(urls, format, on_entry, cancel, started, errors, proxy)
    finally:
        with _workers_lock:
            _workers -= 1


def _drive(
    urls: Sequence[str],
    format: str | None,
    on_entry: OnEntry | None,
    cancel: threading.Event,
    started: Callable[[subprocess.Popen[str]], None],
    errors: IO[bytes],
    proxy: str | None,
) -> Resolved:
    if cancel.is_set():
        raise ResolveCancelled()
    # below the window's priority: on a busy machine the window is served first
    low = 0
    if sys.platform == "win32":
        low = subprocess.BELOW_NORMAL_PRIORITY_CLASS
    child = subprocess.Popen(
        [sys.executable, "-m", "drayman.resolver"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=errors,
        text=True,
        encoding="utf-8",
        env=_child_environment(),
        creationflags=low,
    )
    started(child)
    if cancel.is_set():  # cancelled while it started: the canceller may not have seen it
        child.kill()
    assert child.stdin is not None and child.stdout is not None
    outcome: dict[str, Any] | None = None
    try:
        # on its stdin, not its command line: a proxy's password is not for `ps`
        orders = {"urls": list(urls), "format": format, "proxy": proxy}
        child.stdin.write(json.dumps(orders))
        child.stdin.close()
    except OSError:  # it died (or was killed) before reading its orders
        pass
    for line in child.stdout:
        message = json.loads(line)
        if "entry" in message:
            if on_entry is not None and not cancel.is_set():
                on_entry(_entry_from_json(message["entry"]), message["found"], message["total"])
        else:
            outcome = message
    child.wait()
    if cancel.is_set():
        raise ResolveCancelled()
    if outcome is None:
        errors.seek(0)
        tail = errors.read().decode("utf-8", "replace").strip().splitlines()[-1:]
        raise BadInput(f"the page resolver failed ({tail[0] if tail else child.returncode})")
    if "error" in outcome:
        kind, message = outcome["error"]
        raise PagesUnavailable() if kind == "unavailable" else BadInput(message)
    result = Resolved(
        entries=[_entry_from_json(e) for e in outcome["entries"]],
        problems=list(outcome["problems"]),
    )
    for page, reason in outcome["failed_pages"]:
        result.failed_pages.append(PageFailed(page=page, reason=reason))
    return result


async def resolve(
    urls: Sequence[str],
    *,
    format: str | None = None,
    on_entry: OnEntry | None = None,
    proxy: str | None = None,
) -> Resolved:
    """What ``urls`` hold, resolved by yt-dlp in a child process read by a worker thread.

    ``proxy``: every request of the resolving through this proxy URL; "" none
    at all; None as the environment says (``http_proxy`` & co.).
    ``on_entry`` is called on the event loop's thread as each entry is found.
    Cancelling this stops the child at once. Raises as :func:`resolve_sync`.
    """
    for url in urls:
        validate_url(url)
    if not available():
        raise PagesUnavailable()
    loop = asyncio.get_running_loop()
    cancel = threading.Event()
    children: list[subprocess.Popen[str]] = []

    def relay(entry: PageEntry, found: int, total: int | None) -> None:
        if on_entry is not None:
            loop.call_soon_threadsafe(on_entry, entry, found, total)

    worker = asyncio.ensure_future(
        asyncio.to_thread(
            resolve_in_child,
            urls,
            format=format,
            on_entry=relay,
            cancel=cancel,
            started=children.append,
            proxy=proxy,
        )
    )
    try:
        return await asyncio.shield(worker)
    except asyncio.CancelledError:
        cancel.set()
        for child in children:
            with contextlib.suppress(OSError):
                child.kill()
        # the worker ends as soon as its child is gone: wait for it, so that
        # whoever cancelled knows nothing of this resolve runs any more
        await asyncio.wait([worker])
        if not worker.cancelled():
            worker.exception()  # ResolveCancelled, expected: retrieved, not logged
        raise


def main() -> int:
    """The child: orders as JSON on stdin, answers as JSON lines on stdout."""
    if hasattr(os, "nice"):  # POSIX; Windows starts it below normal priority
        with contextlib.suppress(OSError):
            os.nice(10)
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
    # nothing but our answers goes to the pipe, whatever a library prints
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    lock = threading.Lock()

    def send(message: dict[str, Any]) -> None:
        with lock:
            answers.write(json.dumps(message, ensure_ascii=False) + "\n")
            answers.flush()

    orders = json.loads(sys.stdin.read())

    def found(entry: PageEntry, count: int, total: int | None) -> None:
        send({"entry": _entry_to_json(entry), "found": count, "total": total})

    try:
        result = resolve_sync(
            orders["urls"], format=orders.get("format"), on_entry=found, proxy=orders.get("proxy")
        )
    except PagesUnavailable as exc:
        send({"error": ["unavailable", str(exc)]})
        return 0
    except BadInput as exc:
        send({"error": ["bad", str(exc)]})
        return 0
    send(
        {
            "entries": [_entry_to_json(e) for e in result.entries],
            "problems": result.problems,
            "failed_pages": [[p.context["page"], p.context["reason"]] for p in result.failed_pages],
        }
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
