"""Clipboard watch: links copied anywhere are offered for download, never added by themselves.

When the clipboard changes, its text is read (Qt hands it over; nothing
else is done on the window's thread), the http(s) URLs in it are picked
out, and the queue is asked which of them it already has, as a coroutine
on the loop (the database is read in aiosqlite's thread). What is left is
*offered*: :attr:`ClipboardWatch.offered` carries the URLs, and the window
shows the offer; only the user's click opens the Add dialog.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from drayman.errors import BadInput
from drayman.ui.qt import QtCore, QtGui
from drayman.urls import validate_url

#: a copied text is looked at up to this many characters (a whole page pasted)
MAX_TEXT = 256 * 1024
#: at most this many links are offered at once
MAX_LINKS = 500
_LINK = re.compile(r"\bhttps?://[^\s<>\"'`{}|\\^]+", re.IGNORECASE)
#: punctuation a sentence puts after a link ("see https://x/a.zip.")
_TRAILING = ".,;:!?)]}>'\""


def links_in(text: str) -> list[str]:
    """The http(s) URLs in ``text``, each once, in order, as ``add`` would store them."""
    found: list[str] = []
    seen: set[str] = set()
    for match in _LINK.finditer(text[:MAX_TEXT]):
        candidate = match.group(0)
        while candidate and candidate[-1] in _TRAILING:
            # keep a closing bracket that closes one in the link (wiki URLs)
            if candidate[-1] == ")" and candidate.count("(") >= candidate.count(")"):
                break
            candidate = candidate[:-1]
        try:
            url = validate_url(candidate)
        except BadInput:
            continue
        if url not in seen:
            seen.add(url)
            found.append(url)
            if len(found) >= MAX_LINKS:
                break
    return found


Known = Callable[[Iterable[str]], Awaitable[set[str]]]
Start = Callable[[Awaitable[Any]], "asyncio.Task[Any]"]


class ClipboardWatch(QtCore.QObject):
    """Watches one clipboard while enabled; ``offered`` carries new links to offer."""

    offered = QtCore.Signal(list)

    def __init__(
        self,
        clipboard: QtGui.QClipboard,
        known: Known,
        start: Start,
        parent: QtCore.QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.clipboard = clipboard
        #: which of these URLs the queue has (JobQueue.urls_in_queue)
        self._known = known
        #: runs a coroutine on the loop, tracked by the window (cancelled when it closes)
        self._start = start
        self.enabled = False
        #: the links of the last copy looked at: the same copy is not offered twice
        self._last: list[str] = []
        self._check: asyncio.Task[Any] | None = None

    def set_enabled(self, enabled: bool) -> None:
        if enabled == self.enabled:
            return
        self.enabled = enabled
        if enabled:
            # what was copied before the watch began is not an offer
            self._last = links_in(self.clipboard.text())
            self.clipboard.dataChanged.connect(self._changed)
        else:
            self.clipboard.dataChanged.disconnect(self._changed)
            if self._check is not None:
                self._check.cancel()

    def _changed(self) -> None:
        links = links_in(self.clipboard.text())
        if not links or links == self._last:
            return
        self._last = links
        if self._check is not None:
            self._check.cancel()  # a newer copy replaces an offer still being checked
        self._check = self._start(self._offer(links))

    async def _offer(self, links: list[str]) -> None:
        known = await self._known(links)
        fresh = [url for url in links if url not in known]
        if fresh and self.enabled:
            self.offered.emit(fresh)


__all__ = ["ClipboardWatch", "links_in"]
