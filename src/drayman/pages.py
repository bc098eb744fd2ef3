"""Pages in: what a video, playlist, channel or feed page holds, as downloadable entries.

yt-dlp (the optional ``pages`` extra) is used as a library: its extractors
read the page, its format selector picks one file per item, and drayman's
own engine fetches the bytes. Only formats a plain HTTP(S) GET can fetch are
taken (a progressive audio+video file, or audio only for audio feeds); an
item that exists only as separate video and audio streams, or only as HLS or
DASH fragments, is reported and skipped, never half-downloaded.

yt-dlp blocks: :func:`resolve_sync` reports each entry as it is found and
stops at the next entry once cancelled. Event loops (the CLI's, the
window's, the engine's) use :func:`drayman.resolver.resolve`, which runs it
in a child process read by an ``asyncio.to_thread`` worker (yt-dlp would
otherwise hold the GIL the window's loop needs).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from drayman.batch import Entry
from drayman.errors import BadInput, InvalidHeader, InvalidURL
from drayman.headers import parse_request_header
from drayman.urls import redact_url, validate_url

log = logging.getLogger(__name__)

__all__ = [
    "DEFAULT_FORMAT",
    "PageEntry",
    "PageFailed",
    "PagesUnavailable",
    "ResolveCancelled",
    "Resolved",
    "resolve_sync",
]

#: yt-dlp format selector: the best single file a plain GET fetches (video
#: with its audio, else audio only), else whatever is best, which is then
#: reported as not downloadable with the reason (HLS, DASH, separate streams)
DEFAULT_FORMAT = (
    "best[protocol^=http][protocol!*=dash]/bestaudio[protocol^=http][protocol!*=dash]/best"
)
_PLAIN = frozenset({"http", "https"})
_SOCKET_TIMEOUT = 30.0


class PagesUnavailable(BadInput):
    """resolving pages needs yt-dlp: pip install "drayman[pages]" """


class PageFailed(BadInput):
    """{page}: {reason}"""


class ResolveCancelled(Exception):
    """Resolving was cancelled (the preview was closed)."""


@dataclass(frozen=True)
class PageEntry:
    """One downloadable item of a page."""

    url: str
    title: str | None
    author: str | None
    thumbnail: str | None
    #: the page the item came from (its own page, else the page given)
    page_url: str
    #: 1-based position within its playlist (1 for a single item)
    index: int
    #: the playlist's, channel's or feed's title, if the item is in one
    playlist: str | None = None
    duration: float | None = None
    #: bytes, exact or yt-dlp's estimate, when known
    filesize: int | None = None
    ext: str | None = None
    #: what the media URL needs (User-Agent, Referer, Cookie): the job's headers
    headers: tuple[tuple[str, str], ...] = ()

    def to_public_dict(self) -> dict[str, Any]:
        """The fields of ``drayman resolve --json`` (header values never appear)."""
        return {
            "title": self.title,
            "author": self.author,
            "url": self.url,
            "thumbnail": self.thumbnail,
            "page_url": self.page_url,
            "index": self.index,
            "playlist": self.playlist,
            "duration": self.duration,
            "filesize": self.filesize,
            "ext": self.ext,
            "header_names": [name for name, _ in self.headers],
        }

    def to_entry(self, where: str) -> Entry:
        """The batch entry ``add --resolve`` and the import preview add."""
        return Entry(
            url=self.url,
            where=where,
            title=self.title,
            author=self.author,
            thumbnail=self.thumbnail,
            headers=self.headers,
            playlist=self.playlist,
            index=self.index,
            page_url=self.page_url,
        )


@dataclass
class Resolved:
    """What the pages held, and why items or pages gave nothing."""

    entries: list[PageEntry] = field(default_factory=list)
    #: one line each: "PAGE: reason" or "PAGE item N (title): reason"
    problems: list[str] = field(default_factory=list)
    #: the pages that gave no entry at all, each with its reason
    failed_pages: list[PageFailed] = field(default_factory=list)


#: called in the worker thread: (entry, entries found so far, entries the
#: page announces or None)
OnEntry = Callable[[PageEntry, int, int | None], None]


def available() -> bool:
    """Whether yt-dlp is installed (found, not imported: a window asks this on its thread)."""
    import importlib.util

    try:
        return importlib.util.find_spec("yt_dlp") is not None
    except (ImportError, ValueError):
        return False


def _text(value: Any) -> str | None:
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        return None
    text = " ".join(str(value).split())[:1000]
    return text or None


def _author(info: dict[str, Any]) -> str | None:
    for key in (
        "uploader",
        "channel",
        "creator",
        "playlist_uploader",
        "playlist_channel",
        "playlist_title",
        "playlist",
    ):
        text = _text(info.get(key))
        if text:
            return text
    return None


def _headers(info: dict[str, Any], cookie: str | None) -> tuple[tuple[str, str], ...]:
    """The format's ``http_headers`` drayman can send (it sets Range and the rest itself)."""
    raw = dict(info.get("http_headers") or {})
    if cookie:
        raw["Cookie"] = cookie
    headers = []
    for name, value in raw.items():
        try:
            headers.append(parse_request_header(f"{name}: {value}"))
        except InvalidHeader:
            continue
    return tuple(headers)


def _thumbnail(info: dict[str, Any]) -> str | None:
    url = info.get("thumbnail")
    if not isinstance(url, str):
        thumbs = [t for t in info.get("thumbnails") or () if isinstance(t, dict) and t.get("url")]
        url = thumbs[-1]["url"] if thumbs else None
    if not isinstance(url, str):
        return None
    try:
        return validate_url(url)
    except InvalidURL:
        return None


def _unusable(info: dict[str, Any]) -> str | None:
    """Why the selected format is no single file for a plain GET, or None."""
    if info.get("requested_formats"):
        return (
            "only as separate video and audio streams, which drayman does not merge "
            "(choose a single-file format with --format, e.g. 'best')"
        )
    protocol = str(info.get("protocol") or "")
    if protocol not in _PLAIN:
        return (
            f"only as {protocol or 'an unknown protocol'} (HLS/DASH fragments or a stream); "
            "drayman downloads single files over HTTP(S)"
        )
    return None


def _entry_from(info: dict[str, Any], page: str, cookie: str | None) -> PageEntry:
    url = validate_url(str(info.get("url") or ""))
    webpage = info.get("webpage_url")
    page_url = webpage if isinstance(webpage, str) and webpage != url else page
    index = info.get("playlist_index")
    duration = info.get("duration")
    size = info.get("filesize") or info.get("filesize_approx")
    return PageEntry(
        url=url,
        title=_text(info.get("title")),
        author=_author(info),
        thumbnail=_thumbnail(info),
        page_url=page_url,
        index=index if isinstance(index, int) and index > 0 else 1,
        playlist=_text(info.get("playlist_title") or info.get("playlist")),
        duration=float(duration) if isinstance(duration, int | float) else None,
        filesize=int(size) if isinstance(size, int | float) and size > 0 else None,
        ext=_text(info.get("ext")),
        headers=_headers(info, cookie),
    )


class _Log:
    """yt-dlp's logger: its errors become problems, the rest goes to debug logging."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def debug(self, message: str) -> None:
        log.debug("yt-dlp: %s", message)

    def info(self, message: str) -> None:
        log.debug("yt-dlp: %s", message)

    def warning(self, message: str) -> None:
        log.debug("yt-dlp: %s", message)

    def error(self, message: str) -> None:
        first = next((line for line in str(message).splitlines() if line.strip()), "failed")
        self.errors.append(first.removeprefix("ERROR: ").strip())


def resolve_sync(
    urls: Sequence[str],
    *,
    format: str | None = None,
    on_entry: OnEntry | None = None,
    cancel: threading.Event | None = None,
    proxy: str | None = None,
) -> Resolved:
    """Resolve ``urls`` (blocking: run it in a worker thread).

    ``proxy``: every request through this proxy URL; "" none at all; None as
    the environment says (``http_proxy`` & co., yt-dlp's own default).

    Raises :class:`PagesUnavailable` without yt-dlp, :class:`ResolveCancelled`
    once ``cancel`` is set (checked before and after each item).
    """
    try:
        import yt_dlp  # noqa: F401
    except ImportError:
        raise PagesUnavailable() from None
    pages = [validate_url(url) for url in urls]
    result = Resolved()
    for page in pages:
        _resolve_page(page, format, cancel or threading.Event(), result, on_entry, proxy)
    return result


def _resolve_page(
    page: str,
    format: str | None,
    stop: threading.Event,
    result: Resolved,
    on_entry: OnEntry | None,
    proxy: str | None = None,
) -> None:
    import yt_dlp
    from yt_dlp.postprocessor.common import PostProcessor
    from yt_dlp.utils import DownloadCancelled, DownloadError

    logger = _Log()
    found = 0
    skipped: list[str] = []
    shown = redact_url(page)

    class Stopped(DownloadCancelled):  # type: ignore[misc]
        pass

    def check(*_: Any, **__: Any) -> None:
        if stop.is_set():
            raise Stopped("cancelled")

    class Collect(PostProcessor):  # type: ignore[misc]
        """Runs once per item, with its format selected (a 'video' post-processor)."""

        def run(self, info: dict[str, Any]) -> tuple[list[str], dict[str, Any]]:
            nonlocal found
            check()
            why = _unusable(info)
            title = _text(info.get("title")) or "untitled"
            where = f"{shown} item {info.get('playlist_index') or 1} ({title})"
            if why is not None:
                skipped.append(why)
                result.problems.append(f"{where}: {why}")
                return [], info
            cookie = ydl.cookiejar.get_cookie_header(str(info.get("url") or "")) or None
            try:
                entry = _entry_from(info, page, cookie)
            except InvalidURL as exc:
                result.problems.append(f"{where}: {exc}")
                return [], info
            result.entries.append(entry)
            found += 1
            total = info.get("n_entries") or info.get("playlist_count")
            if on_entry is not None:
                on_entry(entry, found, total if isinstance(total, int) else None)
            return [], info

    options: dict[str, Any] = {
        "format": format or DEFAULT_FORMAT,
        # download=True runs the 'video' post-processors, with each item's
        # format selected; simulate keeps yt-dlp from fetching or writing anything
        "simulate": True,
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "logger": logger,
        "ignoreerrors": True,
        "cachedir": False,
        "socket_timeout": _SOCKET_TIMEOUT,
        "match_filter": lambda info, incomplete=False: check(),
    }
    if proxy is not None:
        options["proxy"] = proxy  # "": straight, whatever the environment says
    try:
        with yt_dlp.YoutubeDL(options) as ydl:
            ydl.add_post_processor(Collect(), when="video")
            check()
            ydl.extract_info(page, download=True)
    except Stopped:
        raise ResolveCancelled() from None
    except DownloadError as exc:
        logger.error(str(exc))
    except SyntaxError as exc:  # a --format yt-dlp cannot parse
        first = (str(exc).splitlines() or ["?"])[0]
        raise BadInput(f"not a format selector yt-dlp understands ({first}): {format!r}") from None
    result.problems.extend(f"{shown}: {e}" for e in logger.errors)
    if not found:
        reason = (logger.errors or skipped or ["no downloadable items found"])[0]
        result.failed_pages.append(PageFailed(page=shown, reason=reason))


def entries_or_error(resolved: Resolved) -> list[PageEntry]:
    """The entries, or the first page that gave none as a one-line :class:`PageFailed`."""
    if resolved.failed_pages:
        raise resolved.failed_pages[0]
    return resolved.entries
