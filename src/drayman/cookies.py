"""A job's cookies as stored: records, their JSON text, and Netscape cookies.txt.

This module knows no HTTP client: the engine turns the records into aiohttp's
cookie jar (:mod:`drayman.queue.cookiejar`), which decides what each request
carries. A record is scoped as the cookie was set: ``host_only`` cookies go to
exactly their host, the others to it and its subdomains; never a port or a
host beyond that. Values are secrets: nothing here puts one in a message.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from http.cookies import CookieError, Morsel
from pathlib import Path

from drayman.errors import InvalidCookieFile

#: curl, wget and yt-dlp mark HttpOnly cookies with this prefix on the domain
HTTP_ONLY_PREFIX = "#HttpOnly_"
#: more than any browser keeps for a whole profile; a bigger file is a mistake
MAX_FILE_SIZE = 16 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class StoredCookie:
    name: str
    value: str
    #: the host (host_only) or the domain it was set for, lower case, no leading dot
    domain: str
    path: str = "/"
    host_only: bool = True
    secure: bool = False
    http_only: bool = False
    #: seconds since the epoch; None: until the job is removed (a session cookie)
    expires: float | None = None

    def expired(self, now: float) -> bool:
        return self.expires is not None and self.expires <= now


def dumps(cookies: Iterable[StoredCookie]) -> str:
    return json.dumps([asdict(c) for c in cookies], separators=(",", ":"))


def loads(text: str | None) -> list[StoredCookie]:
    """The records of :func:`dumps`; an unreadable text is no cookies, never an error."""
    if not text:
        return []
    try:
        rows = json.loads(text)
        return [StoredCookie(**row) for row in rows if isinstance(row, dict)]
    except (ValueError, TypeError):
        return []


def read_cookies_file(path: str | Path, *, now: float | None = None) -> list[StoredCookie]:
    """The unexpired cookies of a Netscape cookies.txt file.

    Raises :class:`InvalidCookieFile` naming the first bad line (by number,
    never its value) or why the file cannot be read.
    """
    shown = str(path)
    try:
        with open(path, "rb") as handle:
            data = handle.read(MAX_FILE_SIZE + 1)
    except OSError as exc:
        reason = (exc.strerror or "unreadable").lower()
        raise InvalidCookieFile(path=shown, reason=reason) from None
    if len(data) > MAX_FILE_SIZE:
        raise InvalidCookieFile(path=shown, reason="larger than 16 MiB: not a cookies.txt")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidCookieFile(path=shown, reason="not UTF-8 text") from None
    return parse_cookies_txt(text.splitlines(), source=shown, now=now)


def parse_cookies_txt(
    lines: Sequence[str], *, source: str = "cookies.txt", now: float | None = None
) -> list[StoredCookie]:
    """Parse the lines of a Netscape cookies.txt; see :func:`read_cookies_file`.

    Seven tab-separated fields per line: domain, include-subdomains
    (TRUE/FALSE), path, secure (TRUE/FALSE), expiry (seconds since the
    epoch, 0 = a session cookie), name, value. ``#`` starts a comment, except
    the ``#HttpOnly_`` prefix curl writes before the domain.

    Not :class:`http.cookiejar.MozillaCookieJar`: it takes an expiry of 0
    for 1970 and drops the session cookies curl and wget write so, wants the
    "# Netscape HTTP Cookie File" line first, and its errors name no line.
    """
    now = time.time() if now is None else now
    found: list[StoredCookie] = []
    for number, raw in enumerate(lines, start=1):
        line = raw.rstrip("\r\n")
        http_only = line.startswith(HTTP_ONLY_PREFIX)
        if http_only:
            line = line[len(HTTP_ONLY_PREFIX) :]
        elif not line.strip() or line.lstrip().startswith("#"):
            continue
        cookie = _parse_line(line, http_only, source, number)
        if not cookie.expired(now):
            found.append(cookie)
    return found


def _bad(source: str, number: int, reason: str) -> InvalidCookieFile:
    return InvalidCookieFile(path=source, reason=f"line {number}: {reason}")


def _flag(text: str, source: str, number: int, what: str) -> bool:
    upper = text.strip().upper()
    if upper not in ("TRUE", "FALSE"):
        raise _bad(source, number, f"the {what} field is neither TRUE nor FALSE")
    return upper == "TRUE"


def _parse_line(line: str, http_only: bool, source: str, number: int) -> StoredCookie:
    fields = line.split("\t")
    if len(fields) == 6:
        fields.append("")  # a cookie with an empty value, its last tab trimmed
    if len(fields) != 7:
        raise _bad(source, number, f"{len(fields)} tab-separated fields, expected 7")
    domain, subdomains, path, secure, expires, name, value = fields
    domain = domain.strip().lower()
    include_subdomains = _flag(subdomains, source, number, "include-subdomains")
    host = domain.lstrip(".")
    if not host or any(c.isspace() or c in "/:;,\"'" for c in host):
        raise _bad(source, number, "no valid domain")
    path = path.strip() or "/"
    if not path.startswith("/"):
        raise _bad(source, number, "the path does not start with /")
    is_secure = _flag(secure, source, number, "secure")
    try:
        expiry = int(expires.strip())
    except ValueError:
        raise _bad(source, number, "the expiry is not a whole number of seconds") from None
    name = name.strip()
    if not value.isprintable() or ";" in value:
        raise _bad(source, number, "the value has control characters or a ';'")
    morsel: Morsel[str] = Morsel()
    try:
        morsel.set(name, value, value)  # the rules the cookie jar applies
    except CookieError:
        raise _bad(source, number, "no valid cookie name") from None
    return StoredCookie(
        name=name,
        value=value,
        domain=host,
        path=path,
        # ".example.com" means subdomains too, whatever the flag says (curl reads it so)
        host_only=not (include_subdomains or domain.startswith(".")),
        secure=is_secure,
        http_only=http_only,
        expires=float(expiry) if expiry > 0 else None,
    )
