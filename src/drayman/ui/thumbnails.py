"""Thumbnail images for the window: fetched on the loop, decoded off the GUI thread.

The bytes come from :class:`~drayman.queue.thumbnails.ThumbnailFetcher`
(bounded, capped, cached on disk); this turns them into small ``QImage``
objects, decoding large files in the loop's thread pool (``QImage`` is safe
to use off the GUI thread, ``QPixmap`` is not), and says which URLs are ready
through one signal per batch, so a list of 500 images repaints a few times a
second, not 500 times.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

from drayman.queue.thumbnails import ThumbnailFetcher
from drayman.ui.qt import Qt, QtCore, QtGui, Signal

log = logging.getLogger(__name__)

#: images at least this big are decoded in a worker thread
DECODE_OFF_THREAD = 32 * 1024
#: how many decoded images stay in memory (about 23 KiB each)
KEEP = 5000


def decode(data: bytes, size: QtCore.QSize) -> QtGui.QImage | None:
    image = QtGui.QImage()
    if not image.loadFromData(data):
        return None
    return image.scaled(
        size, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
    )


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
        #: None once a fetch failed: the placeholder for good
        self._images: dict[str, QtGui.QImage | None] = {}
        self._pixmaps: dict[str, QtGui.QPixmap] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._placeholder = placeholder(self.size)
        self._done: list[str] = []
        self._flush = QtCore.QTimer(self, singleShot=True, interval=batch_ms)
        self._flush.timeout.connect(self._emit_ready)

    def known(self, url: str) -> bool:
        """Loaded or failed (not pending)."""
        return url in self._images

    def failed(self, url: str) -> bool:
        return url in self._images and self._images[url] is None

    def pending(self) -> int:
        return len(self._tasks)

    def request(self, url: str, headers: Sequence[tuple[str, str]] = ()) -> None:
        if url in self._images or url in self._tasks:
            return
        task = asyncio.ensure_future(self._load(url, headers))
        self._tasks[url] = task

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

    async def _load(self, url: str, headers: Sequence[tuple[str, str]]) -> None:
        image: QtGui.QImage | None = None
        try:
            data = await self.fetcher.fetch(url, headers)
            if data is not None:
                if len(data) >= DECODE_OFF_THREAD:
                    image = await asyncio.to_thread(decode, data, self.size)
                else:
                    image = decode(data, self.size)
        except asyncio.CancelledError:
            raise
        except Exception:  # a thumbnail never breaks the import; the bug goes to the log
            log.exception("thumbnail %s", url)
        finally:
            self._tasks.pop(url, None)
        if len(self._images) >= KEEP:
            oldest = next(iter(self._images))
            self._images.pop(oldest)
            self._pixmaps.pop(oldest, None)
        self._images[url] = image
        self._done.append(url)
        if not self._flush.isActive():
            self._flush.start()

    def _emit_ready(self) -> None:
        done, self._done = self._done, []
        if done:
            self.ready.emit(done)

    def cancel(self) -> None:
        for task in list(self._tasks.values()):
            task.cancel()
        self._tasks.clear()

    async def close(self) -> None:
        self.cancel()
        await self.fetcher.close()


__all__ = ["ThumbnailImages", "decode", "placeholder"]
