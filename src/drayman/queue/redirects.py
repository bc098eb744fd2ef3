"""GET with redirects followed by hand, so every hop gets the right headers.

aiohttp's own redirect handling would carry a job's Cookie or Authorization
to whatever host a redirect names. Following by hand lets the caller choose
each hop's headers (credentials only for their origin), refuse https -> http
like curl's ``--proto-redir``, decide per hop whether its TLS certificate
must verify (an opt-in covers only the hosts it names), and detect loops.

A job's cookies (:class:`~drayman.queue.cookiejar.JobCookies`) go with each
hop as its jar allows, and every answer's Set-Cookie goes into the jar, so a
redirect to the same URL that sets a cookie (a browser check many file hosts
make) is followed. A loop is the same URL asked again with the same cookies:
a cookie that changes nothing does not hide it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from urllib.parse import urljoin

import aiohttp

from drayman.errors import InvalidURL, PermanentError, TransientError
from drayman.queue.cookiejar import JobCookies
from drayman.queue.neterrors import proxy_error, proxy_refused
from drayman.queue.proxyroutes import Route, RouteFor
from drayman.urls import origin, redact_url, validate_url

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})

HeadersFor = Callable[[str], list[tuple[str, str]]]
#: False for a hop whose TLS certificate is not checked (an explicit opt-in)
VerifyFor = Callable[[str], bool]


def _always(url: str) -> bool:
    return True


async def get_following_redirects(
    session: aiohttp.ClientSession,
    url: str,
    *,
    headers_for: HeadersFor,
    max_redirects: int,
    client_timeout: aiohttp.ClientTimeout,
    allow_insecure: bool = False,
    verify_for: VerifyFor = _always,
    head_timeout: float | None = None,
    cookies: JobCookies | None = None,
    route_for: RouteFor | None = None,
) -> aiohttp.ClientResponse:
    """The first non-redirect answer; :class:`PermanentError` for a bad chain.

    ``head_timeout`` bounds each hop from connecting to the end of its
    headers: the read timeout alone lets a server drip its headers a byte at
    a time forever. ``route_for`` says how each hop goes (straight or
    through which proxy; see :mod:`.proxyroutes`): default straight, on ``session``.
    """
    seen: set[tuple[str, str | None]] = set()
    for _ in range(max_redirects + 1):
        headers = headers_for(url)
        cookie = None if cookies is None else cookies.header_for(url)
        if cookie is not None:
            headers = with_cookie(headers, cookie)
        if (url, cookie) in seen:
            raise PermanentError(detail=f"redirect loop at {redact_url(url)}")
        seen.add((url, cookie))
        route = Route(session) if route_for is None else route_for(url)
        headers = [*headers, *route.request_headers(url)]
        try:
            async with asyncio.timeout(head_timeout):
                response = await route.session.get(
                    url,
                    headers=headers,
                    allow_redirects=False,
                    timeout=client_timeout,
                    # True: the session's verified context; False: not checked
                    ssl=verify_for(url),
                    proxy=route.proxy,
                    proxy_headers=route.connect_headers(url),
                )
        except TimeoutError as exc:
            if isinstance(exc, aiohttp.ServerTimeoutError):
                raise  # aiohttp's own connect or read timeout: reported as such
            raise TransientError(
                detail=f"the server did not finish its headers within {head_timeout:g} s"
            ) from exc
        except Exception as exc:
            failure = None if route.shown is None else proxy_error(exc, route.shown)
            if failure is None:
                raise
            raise failure from exc
        if response.status == 407 and route.shown is not None:
            response.release()  # the proxy's answer, not the server's
            raise PermanentError(detail=proxy_refused(route.shown))
        if cookies is not None:
            cookies.update(response)
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


def with_cookie(headers: list[tuple[str, str]], cookie: str) -> list[tuple[str, str]]:
    """``headers`` with the jar's cookies: joined to a Cookie header given for
    this hop (one Cookie header per request, as RFC 6265 asks), else added."""
    for index, (name, value) in enumerate(headers):
        if name.lower() == "cookie":
            return [*headers[:index], (name, f"{value}; {cookie}"), *headers[index + 1 :]]
    return [*headers, ("Cookie", cookie)]
