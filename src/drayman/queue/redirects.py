"""GET with redirects followed by hand, so every hop gets the right headers.

aiohttp's own redirect handling would carry a job's Cookie or Authorization
to whatever host a redirect names. Following by hand lets the caller choose
each hop's headers (credentials only for their origin), refuse https -> http
like curl's ``--proto-redir``, and detect loops.
"""

from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urljoin

import aiohttp

from drayman.errors import InvalidURL, PermanentError
from drayman.urls import origin, redact_url, validate_url

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

HeadersFor = Callable[[str], list[tuple[str, str]]]


async def get_following_redirects(
    session: aiohttp.ClientSession,
    url: str,
    *,
    headers_for: HeadersFor,
    max_redirects: int,
    client_timeout: aiohttp.ClientTimeout,
    allow_insecure: bool = False,
) -> aiohttp.ClientResponse:
    """The first non-redirect answer; :class:`PermanentError` for a bad chain."""
    seen: set[str] = set()
    for _ in range(max_redirects + 1):
        if url in seen:
            raise PermanentError(detail=f"redirect loop at {redact_url(url)}")
        seen.add(url)
        response = await session.get(
            url,
            headers=headers_for(url),
            allow_redirects=False,
            timeout=client_timeout,
        )
        location = response.headers.get("Location")
        if response.status not in REDIRECT_STATUSES or not location:
            return response
        response.release()
        try:
            target = validate_url(urljoin(url, location))
        except InvalidURL as exc:
            raise PermanentError(detail=f"bad redirect: {exc}") from exc
        if origin(url)[0] == "https" and origin(target)[0] == "http" and not allow_insecure:
            raise PermanentError(
                detail=f"refusing a redirect from https to plain http ({redact_url(target)})"
            )
        url = target
    raise PermanentError(detail=f"too many redirects (more than {max_redirects})")
