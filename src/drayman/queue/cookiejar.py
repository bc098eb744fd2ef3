"""One job's cookie jar: aiohttp's, filled from and saved to the job's records.

The engine's HTTP session keeps no cookies (one job's must never reach
another's requests); each transfer holds a :class:`JobCookies` instead and
asks it, hop by hop, what the ``Cookie`` header is. aiohttp's jar applies
RFC 6265: a cookie goes only to the host it was set by (or, with a Domain
attribute, that domain's hosts), on its path, and a Secure one only over
https. Expiry is kept as an absolute time so a saved jar loads the same
after a restart.
"""

from __future__ import annotations

import time
from datetime import UTC
from email.utils import formatdate, parsedate_to_datetime
from http.cookies import CookieError, Morsel

import aiohttp
from yarl import URL

from drayman.cookies import StoredCookie, dumps, loads


def _deadline(morsel: Morsel[str], now: float) -> float | None:
    """When a cookie from a server expires (None: a session cookie); Max-Age wins."""
    max_age = morsel["max-age"]
    if max_age:
        try:
            seconds = int(str(max_age))
        except ValueError:
            seconds = None
        if seconds is not None:
            return now + min(seconds, 2**31) if seconds > 0 else 0.0
    expires = morsel["expires"]
    if expires:
        when = http2time(str(expires))
        return None if when is None else float(when)
    return None


def http2time(text: str) -> float | None:
    """Seconds since the epoch of a cookie's Expires (RFC 1123, or the
    ``21-Oct-2026`` dashes of older servers); None if it is no date."""
    for candidate in (text, text.replace("-", " ")):
        try:
            when = parsedate_to_datetime(candidate)
        except (TypeError, ValueError, IndexError, OverflowError):
            continue
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        try:
            return when.timestamp()
        except (OverflowError, OSError, ValueError):
            return None
    return None


def _http_date(when: float) -> str:
    return formatdate(max(when, 1.0), usegmt=True)


#: the text of a jar without cookies
_NONE = dumps([])


class JobCookies:
    """The cookies of one job: what each hop sends, and what its answers set."""

    def __init__(self, stored: str | None = None) -> None:
        # unsafe: accept cookies from hosts named by an IP address (a NAS on
        # the LAN), as curl does. quote_cookie=False: send values as they
        # were set, as browsers do (quoting would change them)
        self._jar = aiohttp.CookieJar(unsafe=True, quote_cookie=False)
        cookies = loads(stored)
        self._load(cookies)
        #: the jar's text when it was loaded or last saved
        self._saved = self.dumps() if cookies else _NONE
        #: an answer set cookies since then (most jobs never get one)
        self._touched = False

    def _load(self, cookies: list[StoredCookie]) -> None:
        now = time.time()
        for cookie in cookies:
            if cookie.expired(now):
                continue
            morsel: Morsel[str] = Morsel()
            try:
                # the value as it is sent: no quoting rules of SimpleCookie
                morsel.set(cookie.name, cookie.value, cookie.value)
            except CookieError:
                continue  # a name the jar could not send (read_cookies_file refuses it)
            morsel["path"] = cookie.path
            if not cookie.host_only:
                morsel["domain"] = cookie.domain
            if cookie.secure:
                morsel["secure"] = True
            if cookie.http_only:
                morsel["httponly"] = True
            if cookie.expires is not None:
                morsel["expires"] = _http_date(cookie.expires)
            # the scheme does not matter to the jar; the host decides host-only scope
            self._jar.update_cookies(
                {cookie.name: morsel}, URL.build(scheme="https", host=cookie.domain)
            )

    def header_for(self, url: str) -> str | None:
        """The ``Cookie`` value for a request to ``url``, or None."""
        if not len(self._jar):
            return None
        found = self._jar.filter_cookies(URL(url))
        if not found:
            return None
        return "; ".join(f"{name}={morsel.value}" for name, morsel in found.items())

    def update(self, response: aiohttp.ClientResponse) -> None:
        """Take the cookies an answer sets (aiohttp's rules decide which it may)."""
        received = response.cookies
        if not received:
            return
        now = time.time()
        for morsel in received.values():
            # an absolute time, so that a reloaded jar expires it at the same moment
            deadline = _deadline(morsel, now)
            morsel["max-age"] = ""
            morsel["expires"] = "" if deadline is None else _http_date(deadline)
        self._jar.update_cookies(received, response.url)
        self._touched = True

    def stored(self) -> list[StoredCookie]:
        host_only = self._jar.host_only_cookies
        now = time.time()
        found = []
        for (domain, path_key), cookies in self._jar.cookies.items():
            for name, morsel in cookies.items():
                expires = morsel["expires"]
                when = http2time(str(expires)) if expires else None
                cookie = StoredCookie(
                    name=name,
                    value=morsel.value,
                    domain=domain,
                    path=str(morsel["path"] or "/"),
                    host_only=(domain, path_key, name) in host_only,
                    secure=bool(morsel["secure"]),
                    http_only=bool(morsel["httponly"]),
                    expires=None if when is None else float(when),
                )
                if not cookie.expired(now):
                    found.append(cookie)
        found.sort(key=lambda c: (c.domain, c.path, c.name))
        return found

    def dumps(self) -> str:
        return dumps(self.stored())

    def unsaved(self) -> str | None:
        """The jar's text if it changed since it was loaded or last :meth:`saved`, else None.

        Only an answer's cookies change it (one that merely expired is left
        out when the jar is loaded again)."""
        if not self._touched:
            return None
        text = self.dumps()
        return None if text == self._saved else text

    def saved(self, text: str) -> None:
        """``text`` (from :meth:`unsaved`) is stored with the job now."""
        self._saved = text
        self._touched = False

    def __len__(self) -> int:
        return len(self._jar)
