"""HTTP header parsing: user-supplied request headers and the server's answers.

Every parser here is total: bad input raises one documented exception type
(or returns None), never anything else, whatever bytes a server sends.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime
from urllib.parse import unquote

from drayman.errors import InvalidHeader

MAX_SIZE = 2**63 - 1

_TOKEN = re.compile(r"^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$")
#: control characters other than tab (C0, DEL, C1): CR/LF would inject headers
_BAD_VALUE = re.compile(r"[\x00-\x08\x0a-\x1f\x7f-\x9f]")
#: headers drayman writes itself; a user value would break resume or framing
RESERVED = {
    "host": "drayman sets Host itself",
    "content-length": "drayman sends no request body",
    "transfer-encoding": "drayman sends no request body",
    "connection": "drayman manages connections itself",
    "range": "drayman sets Range itself",
    "if-range": "drayman sets If-Range itself",
    "accept-encoding": "drayman always asks for the file as stored (identity)",
    "te": "drayman manages transfer encodings itself",
    "upgrade": "drayman does not upgrade connections",
    "expect": "drayman sends no request body",
}
SENSITIVE_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
_SENSITIVE_PARTS = ("token", "secret", "key", "password")


def is_sensitive(name: str) -> bool:
    """Whether a header carries a credential (its value is never shown nor sent cross-origin).

    Authorization, Proxy-Authorization, Cookie, and any name containing "token",
    "secret", "key" (so "api-key", "apikey") or "password".
    """
    lowered = name.lower()
    return lowered in SENSITIVE_HEADERS or any(part in lowered for part in _SENSITIVE_PARTS)


def _shown(text: str) -> str:
    """``text`` as an error message may show it: a credential's value is hidden."""
    name, colon, _ = text.partition(":")
    name = name.strip()
    words = name.split(None, 1)
    first = words[0] if words else ""
    if colon and is_sensitive(name):
        return f"{name}: <redacted>"
    if is_sensitive(first):
        # "Authorization Bearer xyz" (colon forgotten) still hides the value
        return f"{first} <redacted>"
    if not colon and is_sensitive(name):
        return "<redacted>"
    return text


def parse_request_header(text: str) -> tuple[str, str]:
    """``"Referer: https://x/"`` -> ``("Referer", "https://x/")``."""
    if ":" not in text:
        raise InvalidHeader(reason='not a header (expected "Name: value")', header=_shown(text))
    name, value = text.split(":", 1)
    name, value = name.strip(), value.strip()
    if not name:
        raise InvalidHeader(reason="the header has no name", header=_shown(text))
    if not _TOKEN.match(name):
        raise InvalidHeader(reason="invalid characters in the header name", header=_shown(text))
    if _BAD_VALUE.search(value):
        raise InvalidHeader(reason="control characters in the header value", header=_shown(text))
    reason = RESERVED.get(name.lower())
    if reason:
        raise InvalidHeader(reason=reason, header=_shown(text))
    return name, value


def redact_headers(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    return [(n, "<redacted>" if is_sensitive(n) else v) for n, v in headers]


def strip_credentials(headers: Iterable[tuple[str, str]]) -> list[tuple[str, str]]:
    """Drop the headers that must never reach another origin."""
    return [(n, v) for n, v in headers if not is_sensitive(n)]


@dataclass(frozen=True)
class ContentRange:
    start: int
    end: int
    total: int | None


@dataclass(frozen=True)
class UnsatisfiedRange:
    total: int


_DIGITS = re.compile(r"[0-9]{1,19}")
_RANGE = re.compile(r"bytes[ \t]+([0-9]+)-([0-9]+)/([0-9]+|\*)", re.IGNORECASE)
_UNSATISFIED = re.compile(r"bytes[ \t]+\*/([0-9]+)", re.IGNORECASE)


def _number(text: str) -> int:
    """ASCII digits only (no sign, no spaces, no other scripts' digits), at most 2**63-1."""
    if not _DIGITS.fullmatch(text):
        raise ValueError(f"not a byte count: {text[:30]!r}")
    value = int(text)
    if value > MAX_SIZE:
        raise ValueError(f"byte count too large: {text[:30]!r}")
    return value


def parse_content_range(value: str) -> ContentRange | UnsatisfiedRange:
    """Parse ``bytes 0-99/1000``, ``bytes 0-99/*`` or ``bytes */1000``."""
    text = value.strip()
    match = _UNSATISFIED.fullmatch(text)
    if match:
        return UnsatisfiedRange(_number(match.group(1)))
    match = _RANGE.fullmatch(text)
    if not match:
        raise ValueError(f"not a Content-Range: {text[:60]!r}")
    start, end = _number(match.group(1)), _number(match.group(2))
    total = None if match.group(3) == "*" else _number(match.group(3))
    if end < start:
        raise ValueError(f"Content-Range ends before it starts: {text[:60]!r}")
    if total is not None and end >= total:
        raise ValueError(f"Content-Range ends past the total: {text[:60]!r}")
    return ContentRange(start, end, total)


def content_length(value: str | None) -> int | None:
    """``Content-Length``: None when absent, ValueError unless plain digits up to 2**63-1."""
    if value is None:
        return None
    return _number(value.strip())


_ASCII_DIGITS = re.compile(r"[0-9]+")


def parse_retry_after(value: str, now: float | None = None) -> float | None:
    """Seconds to wait from ``Retry-After`` (delta-seconds or an HTTP-date)."""
    text = value.strip()
    if not text:
        return None
    if _ASCII_DIGITS.fullmatch(text):
        significant = text.lstrip("0") or "0"
        # int() of thousands of digits raises; nobody waits 2**63 seconds anyway
        return float(MAX_SIZE) if len(significant) > 19 else float(min(int(significant), MAX_SIZE))
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError, OverflowError, AttributeError):
        return None
    if when is None:
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    now = time.time() if now is None else now
    try:
        return max(when.timestamp() - now, 0.0)
    except (OverflowError, OSError, ValueError):
        return None


#: RFC 9110 entity-tag without W/: DQUOTE *etagc DQUOTE (etagc: no space, DQUOTE, controls)
_STRONG_ETAG = re.compile(r'"[^\x00-\x20"\x7f]*"')


def is_strong_etag(etag: str | None) -> bool:
    """``"abc"`` is strong; ``W/"abc"`` is weak; anything malformed counts as absent."""
    if not etag:
        return False
    return _STRONG_ETAG.fullmatch(etag.strip(" \t")) is not None


def if_range_validator(etag: str | None, last_modified: str | None) -> str | None:
    """What ``If-Range`` carries to resume: a strong ETag, else Last-Modified.

    None when neither pins the file down (a weak or no ETag, no or an empty
    Last-Modified): then there is no safe resume.
    """
    if is_strong_etag(etag):
        return etag
    return last_modified or None


def validators_agree(
    known_etag: str | None,
    known_last_modified: str | None,
    etag: str | None,
    last_modified: str | None,
) -> bool:
    """Does an answer's ETag and Last-Modified fit the ones recorded before?

    Only two values that are both present can disagree: a validator that one
    side lacks proves nothing either way.
    """
    if etag is not None and known_etag is not None and etag != known_etag:
        return False
    return not (
        last_modified is not None
        and known_last_modified is not None
        and last_modified != known_last_modified
    )


# -- Content-Disposition (RFC 6266, RFC 8187) -----------------------------------

#: starts at the ";" itself: a leading \s* would let a search retry at every
#: space of a long run of them, each retry scanning the rest of the run again
_PARAM = re.compile(
    r""";\s*(?P<name>[!#$%&'*+\-.^_`|~0-9A-Za-z]+)\s*=\s*
        (?:"(?P<quoted>(?:[^"\\]|\\.)*)"|(?P<token>[^;]*))""",
    re.VERBOSE,
)
_EXT_VALUE = re.compile(r"^(?P<charset>[A-Za-z0-9!#$%&+\-^_`{}~]+)'(?P<lang>[^']*)'(?P<value>.*)$")


def _decode_ext_value(value: str) -> str | None:
    match = _EXT_VALUE.match(value)
    if not match:
        return None
    charset = match.group("charset").lower()
    if charset not in ("utf-8", "iso-8859-1", "latin-1", "us-ascii"):
        return None
    try:
        return unquote(match.group("value"), encoding=charset, errors="strict")
    except (UnicodeDecodeError, LookupError):
        return None


def _unescape(quoted: str) -> str:
    return re.sub(r"\\(.)", r"\1", quoted)


def parse_content_disposition_filename(value: str) -> str | None:
    """The file name a server suggests; ``filename*`` wins over ``filename``."""
    try:
        text = value if isinstance(value, str) else ""
        semicolon = text.find(";")
        if semicolon < 0:
            return None
        plain: str | None = None
        extended: str | None = None
        for match in _PARAM.finditer(text, semicolon):
            name = match.group("name").lower()
            quoted = match.group("quoted")
            raw = _unescape(quoted) if quoted is not None else (match.group("token") or "").strip()
            if name == "filename*" and extended is None:
                # an ext-value is never quoted (RFC 8187); a quoted one is ignored
                extended = _decode_ext_value(raw) if quoted is None else None
            elif name == "filename" and plain is None:
                plain = raw
        chosen = extended or plain
        return chosen if chosen else None
    except Exception:  # a header from a server must never crash a download
        return None
