"""Thumbnails for the import preview and the job table: fetched like downloads, small, cached.

Images come through an aiohttp session on the caller's loop (the engine's when
there is one, else one of the fetcher's own), at most ``concurrency`` at a
time, and never more than ``max_bytes``. Headers follow the download rules:
an entry's headers were given for the entry's URL, so its credentials
(Cookie, Authorization, ...) go only to that URL's origin — on every redirect
hop, and not at all to a thumbnail on another host — while its other headers
(Referer, User-Agent) and a matching per-host rule's go along
(:func:`drayman.rules.hop_headers`, as for a download). A fetched image
is kept in the user cache folder under the SHA-256 of its URL, so opening the
same list again costs no request. A missing, broken or oversized image is
``None``: a placeholder, never an error.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import aiohttp
import platformdirs

from drayman import __version__
from drayman.errors import DraymanError
from drayman.queue.neterrors import network_error
from drayman.queue.proxyroutes import ProxyRoutes, RouteFor
from drayman.queue.redirects import get_following_redirects
from drayman.queue.systemtrust import trust_loaded
from drayman.rules import Rule, hop_headers, insecure_for
from drayman.urls import host_of, redact_url

log = logging.getLogger(__name__)

#: a thumbnail bigger than this is not a thumbnail
MAX_BYTES = 4 * 1024 * 1024
CONCURRENCY = 8
#: a thumbnail host that hangs must not hold a slot long: the list goes on without it
TIMEOUT = aiohttp.ClientTimeout(total=20, sock_connect=5, sock_read=10)
#: the cache is trimmed to this size, oldest first (see :meth:`ThumbnailFetcher.prune`)
CACHE_BYTES = 256 * 1024 * 1024


def default_cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir("drayman", appauthor=False)) / "thumbnails"


class ThumbnailFetcher:
    """``await fetcher.fetch(url, headers, given_for=entry_url)`` -> bytes, or None."""

    def __init__(
        self,
        cache_dir: str | os.PathLike[str] | None = None,
        *,
        session: aiohttp.ClientSession | None = None,
        concurrency: int = CONCURRENCY,
        max_bytes: int = MAX_BYTES,
        routes: ProxyRoutes | None = None,
    ) -> None:
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self._session = session
        #: the engine's proxy choice, so thumbnails go the way downloads go
        self._routes = routes
        self._own_session = session is None
        self.concurrency = concurrency
        self._slots = asyncio.Semaphore(concurrency)
        self.max_bytes = max_bytes
        #: requests sent (cache misses), for tests and the benchmark
        self.requests = 0
        #: answers served from the disk cache
        self.cache_hits = 0
        #: requests under way right now
        self.in_flight = 0

    def _path(self, url: str) -> Path:
        return self.cache_dir / hashlib.sha256(url.encode()).hexdigest()

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            # viewer mode (no engine in this process): a session of our own, set
            # up like the engine's: no cookie jar shared between hosts, no
            # proxies from the environment, bytes as the server sent them
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=16),
                auto_decompress=False,
                cookie_jar=aiohttp.DummyCookieJar(),
                trust_env=False,
                headers={"User-Agent": f"drayman/{__version__}"},
            )
        return self._session

    def read_cache(self, url: str) -> bytes | None:
        """The cached image or None. Blocking: for a worker thread reading many at once."""
        return _read_small(self._path(url), self.max_bytes)

    async def cached(self, url: str) -> bytes | None:
        """The cached image, without any request (None when not cached)."""
        data = await asyncio.to_thread(self.read_cache, url)
        if data is not None:
            self.cache_hits += 1
        return data

    async def fetch(
        self,
        url: str,
        headers: Sequence[tuple[str, str]] = (),
        *,
        given_for: str | None = None,
        rules: Sequence[Rule] = (),
        cache_checked: bool = False,
    ) -> bytes | None:
        """The image's bytes from the cache, else from the server; None if there is none.

        ``headers`` were given for ``given_for`` (the entry's URL; default
        ``url``): their credentials reach that origin only. ``cache_checked``:
        the caller just found it missing from the cache (see :meth:`read_cache`).
        """
        if not cache_checked:
            cached = await self.cached(url)
            if cached is not None:
                return cached
        async with self._slots:
            self.in_flight += 1
            try:
                data = await self._download(url, list(headers), given_for or url, rules)
            except (aiohttp.ClientError, TimeoutError, DraymanError, ValueError) as exc:
                # aiohttp's own text holds the URL (a signed link): never log it
                reason = exc if isinstance(exc, DraymanError) else type(exc).__name__
                if isinstance(exc, aiohttp.ClientError | TimeoutError):
                    reason = network_error(exc, read_timeout=TIMEOUT.sock_read or 0)
                log.info("no thumbnail from %s: %s", redact_url(url), reason)
                return None
            finally:
                self.in_flight -= 1
        if data is not None:
            try:
                await asyncio.to_thread(_write_atomic, self._path(url), data)
            except OSError as exc:  # a full or read-only cache costs a refetch, nothing more
                log.info("thumbnail cache not written: %s", exc)
        return data

    def _route_for(self, rules: Sequence[Rule]) -> RouteFor | None:
        routes = self._routes
        if routes is None:
            return None
        return lambda hop: routes.route(hop, job_proxy=None, rules=rules)

    async def _download(
        self,
        url: str,
        headers: list[tuple[str, str]],
        given_for: str,
        rules: Sequence[Rule],
    ) -> bytes | None:
        self.requests += 1
        await trust_loaded()  # before its first handshake (drayman.queue.systemtrust)
        response = await get_following_redirects(
            self._get_session(),
            url,
            headers_for=lambda hop: hop_headers(hop, headers, given_for, rules),
            max_redirects=5,
            client_timeout=TIMEOUT,
            # certificates are checked unless a rule opted out for the hop's host
            verify_for=lambda hop: not insecure_for(rules, host_of(hop)),
            route_for=self._route_for(rules),
        )
        async with response:
            if response.status != 200:
                log.info("no thumbnail from %s: HTTP %d", redact_url(url), response.status)
                return None
            if (response.content_length or 0) > self.max_bytes:
                log.info("thumbnail %s too big: %s bytes", redact_url(url), response.content_length)
                return None
            data = bytearray()
            async for chunk in response.content.iter_chunked(64 * 1024):
                data += chunk
                if len(data) > self.max_bytes:
                    log.info(
                        "thumbnail %s too big: more than %d bytes", redact_url(url), self.max_bytes
                    )
                    return None
            return bytes(data) or None

    async def prune(self, keep_bytes: int = CACHE_BYTES) -> int:
        """Trim the cache to ``keep_bytes``, least recently used first; files removed."""
        return await asyncio.to_thread(_prune, self.cache_dir, keep_bytes)

    async def close(self) -> None:
        """Close the session if it is the fetcher's own (never the engine's)."""
        if self._own_session and self._session is not None:
            await self._session.close()
        self._session = None


def _read_small(path: Path, limit: int) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
        # a hit is a use: the pruning keeps what was used last
        with contextlib.suppress(OSError):
            os.utime(path)
    except OSError:
        return None
    return data if 0 < len(data) <= limit else None


def _write_atomic(path: Path, data: bytes) -> None:
    """Write-then-rename: a reader never sees half an image. No fsync: it is a cache."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _prune(folder: Path, keep_bytes: int) -> int:
    entries = []
    try:
        for entry in os.scandir(folder):
            if entry.is_file(follow_symlinks=False):
                info = entry.stat(follow_symlinks=False)
                entries.append((info.st_mtime, info.st_size, entry.path))
    except OSError:
        return 0
    total = sum(size for _, size, _ in entries)
    removed = 0
    for _, size, path in sorted(entries):
        if total <= keep_bytes:
            break
        with contextlib.suppress(OSError):
            os.unlink(path)
            total -= size
            removed += 1
    return removed


__all__ = ["MAX_BYTES", "ThumbnailFetcher", "default_cache_dir"]
