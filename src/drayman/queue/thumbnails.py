"""Thumbnails for the import preview: fetched like downloads, small, cached on disk.

Images come through an aiohttp session on the caller's loop (the engine's when
there is one), at most ``concurrency`` at a time, with the entry's headers
(credentials only to their origin, like a download), and never more than
``max_bytes``. A fetched image is kept in the user cache folder under the
SHA-256 of its URL, so opening the same list again costs no request. A missing,
broken or oversized image is ``None``: a placeholder, never an error.
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
from drayman.headers import strip_credentials
from drayman.queue.neterrors import network_error
from drayman.queue.redirects import get_following_redirects
from drayman.urls import redact_url, same_origin

log = logging.getLogger(__name__)

#: a thumbnail bigger than this is not a thumbnail
MAX_BYTES = 4 * 1024 * 1024
CONCURRENCY = 8
TIMEOUT = aiohttp.ClientTimeout(total=30, sock_connect=10, sock_read=15)


def default_cache_dir() -> Path:
    return Path(platformdirs.user_cache_dir("drayman", appauthor=False)) / "thumbnails"


class ThumbnailFetcher:
    """``await fetcher.fetch(url, headers)`` -> the image's bytes, or None."""

    def __init__(
        self,
        cache_dir: str | os.PathLike[str] | None = None,
        *,
        session: aiohttp.ClientSession | None = None,
        concurrency: int = CONCURRENCY,
        max_bytes: int = MAX_BYTES,
    ) -> None:
        self.cache_dir = Path(cache_dir) if cache_dir is not None else default_cache_dir()
        self._session = session
        self._own_session = session is None
        self._slots = asyncio.Semaphore(concurrency)
        self.max_bytes = max_bytes
        #: requests sent (cache misses), for the status line and tests
        self.requests = 0

    def _path(self, url: str) -> Path:
        return self.cache_dir / hashlib.sha256(url.encode()).hexdigest()

    def _get_session(self) -> aiohttp.ClientSession:
        if self._session is None:
            self._session = aiohttp.ClientSession(
                cookie_jar=aiohttp.DummyCookieJar(),
                trust_env=False,
                headers={"User-Agent": f"drayman/{__version__}"},
            )
        return self._session

    async def fetch(self, url: str, headers: Sequence[tuple[str, str]] = ()) -> bytes | None:
        cached = await asyncio.to_thread(_read_small, self._path(url), self.max_bytes)
        if cached is not None:
            return cached
        async with self._slots:
            try:
                data = await self._download(url, list(headers))
            except (aiohttp.ClientError, TimeoutError, DraymanError, ValueError) as exc:
                # aiohttp's own text holds the URL (a signed link): never log it
                reason = exc if isinstance(exc, DraymanError) else type(exc).__name__
                if isinstance(exc, aiohttp.ClientError | TimeoutError):
                    reason = network_error(exc, read_timeout=TIMEOUT.sock_read or 0)
                log.info("no thumbnail from %s: %s", redact_url(url), reason)
                return None
        if data is not None:
            try:
                await asyncio.to_thread(_write_atomic, self._path(url), data)
            except OSError as exc:  # a full or read-only cache costs a refetch, nothing more
                log.info("thumbnail cache not written: %s", exc)
        return data

    async def _download(self, url: str, headers: list[tuple[str, str]]) -> bytes | None:
        self.requests += 1

        def hop_headers(hop: str) -> list[tuple[str, str]]:
            own = headers if same_origin(hop, url) else strip_credentials(headers)
            # the engine's session never decodes: ask for the image as it is
            return [*own, ("Accept-Encoding", "identity")]

        response = await get_following_redirects(
            self._get_session(),
            url,
            headers_for=hop_headers,
            max_redirects=5,
            client_timeout=TIMEOUT,
        )
        async with response:
            if response.status != 200:
                return None
            if (response.content_length or 0) > self.max_bytes:
                return None
            data = bytearray()
            async for chunk in response.content.iter_chunked(64 * 1024):
                data += chunk
                if len(data) > self.max_bytes:
                    return None
            return bytes(data)

    async def close(self) -> None:
        if self._own_session and self._session is not None:
            await self._session.close()
        self._session = None


def _read_small(path: Path, limit: int) -> bytes | None:
    try:
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)
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
