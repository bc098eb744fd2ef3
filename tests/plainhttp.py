"""Python's own ``http.server``, on loopback, for the servers nobody here wrote.

:class:`PlainHTTPServer` serves a folder with the standard library's
``SimpleHTTPRequestHandler``, exactly as ``python3 -m http.server`` does:
HTTP/1.0, one request per connection, ``Last-Modified`` but no ETag and no
Accept-Ranges, and every Range header ignored (a 200 with the whole file).
The loopback servers of httpserver.py always send an ETag and honour ranges,
which is how a download that never finished against http.server went unseen.

A few knobs (off by default) bend it the way real servers are bent:

- ``honour_range(n)``: answer the n-th request's Range (0 = the first
  request) with a 206, as a server behind a cache that honours ranges only
  sometimes, or one that starts or stops doing so;
- ``rate``: bytes per second per answer, so connections overlap in time;
- ``reset_after``: cut every connection after that many bytes of its body;
- ``ranges_wait_for``: a request with a Range header is not answered until
  every whole-file answer being sent has sent that many bytes (or ended), so
  a client's first connection is well past its first segment before the
  client learns whether ranges work: the order in which a real download from
  http.server meets the two answers.
"""

from __future__ import annotations

import contextlib
import functools
import io
import os
import shutil
import threading
import time
from collections.abc import Callable
from email.utils import formatdate
from http import HTTPStatus
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, BinaryIO, Self

from multidict import CIMultiDict

__all__ = ["PlainHTTPServer", "PlainRequest"]

#: a fixed modification time for served files (Last-Modified is their validator)
MTIME = 1_790_000_000


class PlainRequest:
    def __init__(self, index: int, path: str, headers: CIMultiDict[str]) -> None:
        self.index = index
        self.path = path
        self.headers = headers

    @property
    def range(self) -> str | None:
        return self.headers.get("Range")


class PlainHTTPServer:
    """``python3 -m http.server --bind 127.0.0.1 --directory ROOT``, in a thread."""

    def __init__(
        self,
        root: Path,
        *,
        honour_range: Callable[[int], bool] | None = None,
        rate: int | None = None,
        reset_after: int | None = None,
        ranges_wait_for: int | None = None,
    ) -> None:
        self.root = root
        self.honour_range = honour_range
        self.rate = rate
        self.reset_after = reset_after
        self.ranges_wait_for = ranges_wait_for
        self.requests: list[PlainRequest] = []
        #: whole-file answers being sent: their bytes sent so far
        self._whole: dict[int, int] = {}
        self._changed = threading.Condition()
        self._httpd: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    def add(self, name: str, body: bytes) -> Path:
        path = self.root / name
        path.write_bytes(body)
        # http.server's Last-Modified is the file's mtime: a fixed one
        os.utime(path, (MTIME, MTIME))
        return path

    @staticmethod
    def last_modified() -> str:
        return formatdate(MTIME, usegmt=True)

    def url(self, path: str) -> str:
        assert self._httpd is not None
        return f"http://127.0.0.1:{self._httpd.server_address[1]}{path}"

    def ranges(self) -> list[str | None]:
        """The Range header of each request, in order (None: a plain GET)."""
        with self._changed:
            return [r.range for r in self.requests]

    # -- life cycle -------------------------------------------------------------

    def start(self) -> Self:
        server = self

        class Handler(_Handler):
            owner = server

        httpd = _QuietServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(self.root)))
        httpd.daemon_threads = True
        self._httpd = httpd
        self._thread = threading.Thread(target=httpd.serve_forever, name="plain-http", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
            self._httpd = None
        with self._changed:
            self._changed.notify_all()

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # -- for the handler ------------------------------------------------------------

    def _record(self, path: str, headers: CIMultiDict[str]) -> int:
        with self._changed:
            index = len(self.requests)
            self.requests.append(PlainRequest(index, path, headers))
            return index

    def _hold_range_answer(self) -> None:
        wanted = self.ranges_wait_for
        if wanted is None:
            return
        deadline = time.monotonic() + 30
        with self._changed:
            while any(sent < wanted for sent in self._whole.values()):
                left = deadline - time.monotonic()
                if left <= 0 or self._httpd is None:
                    return
                self._changed.wait(left)


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hung up (a segment it no longer needs) is no error here."""


class _Handler(SimpleHTTPRequestHandler):
    owner: PlainHTTPServer

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_GET(self) -> None:
        owner = self.owner
        self._index = owner._record(self.path, CIMultiDict(self.headers.items()))
        if "Range" in self.headers:
            owner._hold_range_answer()
        super().do_GET()

    def send_head(self) -> BinaryIO | None:  # type: ignore[override]
        self._whole_file = True
        owner = self.owner
        honour = owner.honour_range
        if honour is None or "Range" not in self.headers or not honour(self._index):
            return super().send_head()  # type: ignore[return-value]
        path = Path(self.translate_path(self.path))
        data = path.read_bytes()
        last_modified = self.date_time_string(int(path.stat().st_mtime))
        if_range = self.headers.get("If-Range")
        spec = self.headers["Range"].removeprefix("bytes=")
        first_text, _, last_text = spec.partition("-")
        if (if_range is not None and if_range != last_modified) or not first_text:
            return super().send_head()  # type: ignore[return-value]
        first = int(first_text)
        last = min(int(last_text), len(data) - 1) if last_text else len(data) - 1
        self._whole_file = False
        self.send_response(HTTPStatus.PARTIAL_CONTENT)
        self.send_header("Content-type", self.guess_type(str(path)))
        self.send_header("Content-Range", f"bytes {first}-{last}/{len(data)}")
        self.send_header("Content-Length", str(last - first + 1))
        self.send_header("Last-Modified", last_modified)
        self.end_headers()
        return io.BytesIO(data[first : last + 1])

    def copyfile(self, source: Any, outputfile: Any) -> None:
        owner = self.owner
        if owner.rate is None and owner.reset_after is None and owner.ranges_wait_for is None:
            shutil.copyfileobj(source, outputfile)
            return
        key = id(self)
        whole = self._whole_file
        sent = 0
        started = time.monotonic()
        try:
            with owner._changed:
                if whole:
                    owner._whole[key] = 0
            while True:
                block = source.read(16 * 1024)
                if not block:
                    return
                if owner.reset_after is not None and sent + len(block) > owner.reset_after:
                    block = block[: owner.reset_after - sent]
                    outputfile.write(block)
                    outputfile.flush()
                    with contextlib.suppress(OSError):
                        self.connection.shutdown(2)
                    return
                outputfile.write(block)
                sent += len(block)
                with owner._changed:
                    if whole:
                        owner._whole[key] = sent
                        owner._changed.notify_all()
                if owner.rate:
                    delay = started + sent / owner.rate - time.monotonic()
                    if delay > 0:
                        time.sleep(delay)
        finally:
            with owner._changed:
                owner._whole.pop(key, None)
                owner._changed.notify_all()
