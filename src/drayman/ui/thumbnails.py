"""Thumbnail images for the window: fetched on the loop, decoded off the GUI thread.

The bytes come from :class:`~drayman.queue.thumbnails.ThumbnailFetcher`
(bounded, capped, cached on disk, shared by the whole window); this turns
them into small ``QImage`` objects in the loop's thread pool (``QImage`` is
safe to use off the GUI thread, ``QPixmap`` is not), and says which URLs are
ready through one signal per batch, so a list of 500 images repaints a few
times a second, not 500 times.

Requests are looked up in the disk cache in batches: one worker-thread hop
reads and decodes dozens of cached images, so a second open of a 500-entry
list costs the GUI thread a handful of callbacks, not 500 (measured with
``bench/thumbnails.py``). What the cache lacks is fetched, one task each,
within the fetcher's bound.

Each view (the import preview, the job table) has its own ``ThumbnailImages``
at its own size; closing the view cancels what it still waits for.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass

from drayman.queue.thumbnails import ThumbnailFetcher
from drayman.rules import Rule
from drayman.ui.qt import Qt, QtCore, QtGui, Signal
from drayman.ui.tasks import BackgroundTasks

log = logging.getLogger(__name__)

#: cached images read and decoded per worker-thread hop
CACHE_BATCH = 48
#: an image of more pixels than this is refused unread (a decompression bomb)
MAX_PIXELS = 40_000_000
#: how many decoded images stay in memory (about 20 KiB each at 96x54)
KEEP = 5000


def decode(data: bytes, size: QtCore.QSize) -> QtGui.QImage | None:
    """``data`` as an image fitting ``size``, or None. Safe in any thread.

    The reader is told the small size first, so a JPEG decodes at that size
    directly instead of at full resolution and then scaled.
    """
    buffer = QtCore.QBuffer()
    buffer.setData(QtCore.QByteArray(data))
    buffer.open(QtCore.QIODevice.OpenModeFlag.ReadOnly)
    reader = QtGui.QImageReader(buffer)
    reader.setAutoTransform(True)
    full = reader.size()
    if full.isValid():
        if full.width() * full.height() > MAX_PIXELS:
            return None
        if full.width() > size.width() or full.height() > size.height():
            reader.setScaledSize(full.scaled(size, Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    buffer.close()
    if image.isNull():
        return None
    if image.width() > size.width() or image.height() > size.height():
        image = image.scaled(
            size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
        )
    return image


def placeholder(size: QtCore.QSize) -> QtGui.QPixmap:
    """A grey frame with a small mountain: 'no picture (yet)'."""
    pixmap = QtGui.QPixmap(size)
    pixmap.fill(QtGui.QColor("#e4e6ea"))
    painter = QtGui.QPainter(pixmap)
    painter.setRenderHint(QtGui.QPainter.RenderHint.Antialiasing)
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QtGui.QColor("#b8bdc6"))
    w, h = size.width(), size.height()
    painter.drawPolygon(
        [
            QtCore.QPointF(w * 0.25, h * 0.75),
            QtCore.QPointF(w * 0.45, h * 0.35),
            QtCore.QPointF(w * 0.6, h * 0.6),
            QtCore.QPointF(w * 0.68, h * 0.5),
            QtCore.QPointF(w * 0.8, h * 0.75),
        ]
    )
    painter.drawEllipse(QtCore.QPointF(w * 0.7, h * 0.3), h * 0.08, h * 0.08)
    painter.end()
    return pixmap


class ThumbnailImages(QtCore.QObject):
    """``request(url)`` now, ``pixmap(url)`` once ``ready`` named it."""

    #: URLs whose image (or whose failure) is now known; emitted in batches
    ready = Signal(list)

    def __init__(
        self,
        fetcher: ThumbnailFetcher,
        size: QtCore.QSize | None = None,
        parent: QtCore.QObject | None = None,
        *,
        batch_ms: int = 150,
    ) -> None:
        super().__init__(parent)
        self.fetcher = fetcher
        self.size = size or QtCore.QSize(96, 54)
        #: per-host rules, for their headers (set by the owner once read)
        self.rules: Sequence[Rule] = ()
        #: None once a fetch failed: the placeholder for good
        self._images: dict[str, QtGui.QImage | None] = {}
        self._pixmaps: dict[str, QtGui.QPixmap] = {}
        #: asked for, not yet looked up in the cache (in request order; what
        #: is painted again moves to the front)
        self._queued: OrderedDict[str, _Request] = OrderedDict()
        #: being looked up in the cache right now
        self._looking: set[str] = set()
        #: not in the cache, waiting for a fetch slot (painted ones first)
        self._waiting: OrderedDict[str, _Request] = OrderedDict()
        #: being fetched from the network, at most the fetcher's concurrency:
        #: the rest wait here, where a row scrolled into view can jump the line
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._pump: asyncio.Task[None] | None = None
        #: every task above, until it has ended (a cancelled one too: see wait())
        self._running = BackgroundTasks()
        self._placeholder = placeholder(self.size)
        self._done: list[str] = []
        self._flush = QtCore.QTimer(self)
        self._flush.setSingleShot(True)
        self._flush.timeout.connect(self._emit_ready)
        self._batch_ms = batch_ms
        self._last_emit = 0.0

    def known(self, url: str) -> bool:
        """Loaded or failed (not pending)."""
        return url in self._images

    def loaded(self, url: str) -> bool:
        return self._images.get(url) is not None

    def pending(self) -> int:
        return len(self._queued) + len(self._looking) + len(self._waiting) + len(self._tasks)

    def request(
        self, url: str, headers: Sequence[tuple[str, str]] = (), given_for: str | None = None
    ) -> None:
        """Start loading ``url`` unless it is known or under way (cheap to call from paint).

        Asking again for one still waiting moves it to the front: the rows on
        screen are painted, and so asked for, again and again.
        """
        if url in self._images or url in self._looking or url in self._tasks:
            return
        for line in (self._queued, self._waiting):
            if url in line:
                line.move_to_end(url, last=False)
                return
        self._queued[url] = _Request(url, tuple(headers), given_for)
        if self._pump is None or self._pump.done():
            self._pump = self._running.start(self._look_in_cache())

    def pixmap(self, url: str | None) -> QtGui.QPixmap:
        """The image once loaded, else the placeholder. (GUI thread only.)"""
        if url is None:
            return self._placeholder
        pixmap = self._pixmaps.get(url)
        if pixmap is None:
            image = self._images.get(url)
            if image is None:
                return self._placeholder
            pixmap = self._pixmaps[url] = QtGui.QPixmap.fromImage(image)
        return pixmap

    async def _look_in_cache(self) -> None:
        """Drain the queue: cached images in batches, the rest to the network."""
        while self._queued:
            batch = [
                self._queued.popitem(last=False)[1] for _ in range(CACHE_BATCH) if self._queued
            ]
            self._looking.update(r.url for r in batch)
            try:
                found = await asyncio.to_thread(self._read_cached, [r.url for r in batch])
            except Exception:  # a bug here must not stop thumbnails for good
                log.exception("thumbnail cache")
                found = {}
            finally:
                self._looking.difference_update(r.url for r in batch)
            self.fetcher.cache_hits += len(found)
            for request in batch:
                if request.url in found:
                    self._store(request.url, found[request.url])
                else:
                    self._waiting[request.url] = request
            self._start_fetches()

    def _start_fetches(self) -> None:
        # twice the fetcher's bound: while one task decodes and stores its
        # image, another already waits for the freed connection slot
        while self._waiting and len(self._tasks) < 2 * self.fetcher.concurrency:
            url, request = self._waiting.popitem(last=False)
            self._tasks[url] = self._running.start(self._fetch(request))

    def _read_cached(self, urls: Sequence[str]) -> dict[str, QtGui.QImage | None]:
        """(Worker thread.) The cached ones among ``urls``, decoded; a cached file
        that does not decode is a known failure."""
        found: dict[str, QtGui.QImage | None] = {}
        for url in urls:
            data = self.fetcher.read_cache(url)
            if data is not None:
                found[url] = decode(data, self.size)
        return found

    async def _fetch(self, request: _Request) -> None:
        image: QtGui.QImage | None = None
        try:
            data = await self.fetcher.fetch(
                request.url,
                request.headers,
                given_for=request.given_for,
                rules=self.rules,
                cache_checked=True,
            )
            if data is not None:
                image = await asyncio.to_thread(decode, data, self.size)
        except Exception:  # a thumbnail never breaks the window; the bug goes to the log
            log.exception("thumbnail %s", request.url)
        finally:
            # only this task's own entry: after a cancel() the URL may be asked for anew
            if self._tasks.get(request.url) is asyncio.current_task():
                del self._tasks[request.url]
        self._store(request.url, image)
        self._start_fetches()

    def _store(self, url: str, image: QtGui.QImage | None) -> None:
        if len(self._images) >= KEEP:
            oldest = next(iter(self._images))
            self._images.pop(oldest)
            self._pixmaps.pop(oldest, None)
        self._images[url] = image
        self._done.append(url)
        if not self._flush.isActive():
            # leading edge: the first image after a quiet spell shows at once;
            # then at most one batch per interval
            quiet_ms = (time.monotonic() - self._last_emit) * 1000
            self._flush.start(max(0, int(self._batch_ms - quiet_ms)))

    def _emit_ready(self) -> None:
        done, self._done = self._done, []
        self._last_emit = time.monotonic()
        if done:
            self.ready.emit(done)

    def cancel(self) -> None:
        """Drop every pending request (the view closed); the fetcher stays open."""
        self._running.cancel()
        self._tasks.clear()
        self._queued.clear()
        self._looking.clear()
        self._waiting.clear()
        self._flush.stop()
        self._done.clear()

    async def wait(self) -> None:
        """Return once every task started for a thumbnail has ended (after :meth:`cancel`)."""
        await self._running.wait()


@dataclass(frozen=True)
class _Request:
    url: str
    headers: tuple[tuple[str, str], ...]
    given_for: str | None


__all__ = ["ThumbnailImages", "decode", "placeholder"]
