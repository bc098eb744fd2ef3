"""URL checks: what drayman accepts, and who counts as the same origin."""

from __future__ import annotations

import functools
import re
from urllib.parse import SplitResult, unquote, urlsplit, urlunsplit

from drayman.errors import InvalidURL

MAX_URL_LENGTH = 8192
_DEFAULT_PORTS = {"http": 80, "https": 443}
#: C0 controls, DEL and the C1 controls
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_WHITESPACE = re.compile(r"\s")


@functools.lru_cache(maxsize=4096)
def _split(url: str) -> SplitResult:
    """``urlsplit``, checked; cached: a batch asks for each URL's parts about
    three times (checked, then its host twice), and urllib's own cache holds
    128, too few for one."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError as exc:
        reason = "invalid port" if "port" in str(exc).lower() else "not a URL"
        raise InvalidURL(reason=reason, url=_shown(url)) from None
    return parts


def _shown(url: str) -> str:
    """The URL as an error message may show it: password hidden, at most 200 characters."""
    shown = redact_url(url)
    return shown if len(shown) <= 200 else shown[:200] + "..."


def _encode_spaces(url: str) -> str:
    """Plain spaces in the path, query or fragment become %20, as browsers and
    wget send them (a pasted "file name.iso" link); in the host or the
    user name they stay, and are refused."""
    scheme_end = url.find("://")
    if scheme_end < 0 or " " not in url:
        return url
    start = scheme_end + 3
    ends = [i for i in (url.find(c, start) for c in "/?#") if i >= 0]
    path_start = min(ends, default=len(url))
    return url[:path_start] + url[path_start:].replace(" ", "%20")


def validate_url(text: str) -> str:
    """Return ``text`` stripped (spaces in its path encoded) if it is an absolute
    http(s) URL with a host."""
    if not isinstance(text, str):
        raise InvalidURL(reason="not a URL", url=_shown(str(text)))
    url = text.strip()
    if not url:
        # blank: what is quoted is whitespace, but still no more than any URL
        raise InvalidURL(reason="not a URL", url=_shown(text))
    if len(url) > MAX_URL_LENGTH:
        raise InvalidURL(
            reason=f"too long (more than {MAX_URL_LENGTH} characters)", url=_shown(url[:80])
        )
    if _CONTROL.search(url):
        raise InvalidURL(reason="contains a control character", url=_shown(url))
    url = _encode_spaces(url)
    if _WHITESPACE.search(url):
        raise InvalidURL(reason="contains whitespace", url=_shown(url))
    if "://" not in url:
        raise InvalidURL(reason="not a URL", url=_shown(url))
    parts = _split(url)
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        reason = f"unsupported scheme {scheme!r} (only http and https)"
        raise InvalidURL(reason=reason, url=_shown(url))
    if not parts.hostname:
        raise InvalidURL(reason="no host", url=_shown(url))
    if parts.port == 0:
        raise InvalidURL(reason="invalid port", url=_shown(url))
    host = parts.hostname
    if any(c in host for c in "<>\"'`{}|\\^%") or host.startswith(".") or ".." in host:
        raise InvalidURL(reason="invalid host", url=_shown(url))
    return url


@functools.lru_cache(maxsize=256)
def origin(url: str) -> tuple[str, str, int]:
    """(scheme, host, port) with default ports filled in: RFC 6454's origin.

    Cached: every request hop compares the origins of the same few URLs.
    """
    parts = _split(url)
    scheme = parts.scheme.lower()
    port = parts.port or _DEFAULT_PORTS.get(scheme, 0)
    return scheme, (parts.hostname or "").lower(), port


def same_origin(a: str, b: str) -> bool:
    return origin(a) == origin(b)


def host_of(url: str) -> str:
    return (_split(url).hostname or "").lower()


#: query parameters that carry a credential: signed links (X-Amz-Signature,
#: X-Amz-Credential, X-Goog-Signature, sig, Signature, Policy), API keys, tokens
_SECRET_PARAM = re.compile(
    r"token|secret|passw|signature|credential|auth(?!or)|session|apikey|accesskey"
    r"|(?:^|[-_.])key(?:$|[-_.])|^sig$|^policy$",
    re.IGNORECASE,
)
#: the query splits into parameters at "&" and ";" (the separators are kept);
#: judging each part on its own is linear, where one pattern searched over the
#: whole query restarted at every character of a part without "=" (quadratic)
_QUERY_SEPARATOR = re.compile(r"([&;])")


def redact_url(url: str) -> str:
    """A URL as a log line or an error may show it.

    The password in ``user:password@host`` and the values of query parameters
    that carry a credential (``X-Amz-Signature=``, ``token=``, ``api_key=``)
    become ``***``; everything else stays, so the link is still recognisable.
    """
    shown = redact_password(url)
    query_at = shown.find("?")
    if query_at < 0:
        return shown
    fragment_at = shown.find("#", query_at)
    end = len(shown) if fragment_at < 0 else fragment_at

    parts = _QUERY_SEPARATOR.split(shown[query_at + 1 : end])
    return shown[: query_at + 1] + "".join(map(_hide_secret, parts)) + shown[end:]


def _hide_secret(part: str) -> str:
    """``name=value`` with the value hidden when the name says it is a credential."""
    name, equals, _ = part.partition("=")
    return f"{name}=***" if equals and _SECRET_PARAM.search(unquote(name)) else part


def has_userinfo(url: str) -> bool:
    """Whether the URL carries ``user[:password]@``: credentials of its own."""
    try:
        parts = _split(url)
    except InvalidURL:
        return False
    return "@" in parts.netloc


def redact_password(url: str) -> str:
    """Hide a password in ``user:password@host`` before showing or logging a URL."""
    if "@" not in url:
        return url  # no userinfo, no password (and no urlsplit: ls --json calls this 200,000 times)
    try:
        parts = urlsplit(url)
        if parts.password is None:
            return url
        netloc = parts.netloc.rsplit("@", 1)[1]
        user = parts.username or ""
        return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc}"))
    except ValueError:
        # not parseable as a URL: hide whatever sits between "://" and "@" anyway
        return re.sub(r"(://[^/@:]*:)[^/@]*@", r"\1***@", url)
