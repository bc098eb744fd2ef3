"""Per-host rules: which hosts a rule covers, and what it adds to a request.

A rule's headers go only to hosts its pattern matches, hop by hop: after a
redirect to another host they are not sent, whatever their name, so a
Cookie meant for a CDN never reaches anyone else.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from drayman.errors import BadInput
from drayman.headers import strip_credentials
from drayman.urls import has_userinfo, host_of, same_origin

_LABEL = r"(?!-)[a-z0-9-]{1,63}(?<!-)"
_PATTERN = re.compile(rf"^(\*\.)?{_LABEL}(\.{_LABEL})*$|^\[[0-9a-f:.]+\]$|^[0-9.]+$")


class InvalidRulePattern(BadInput):
    """not a host pattern (use host.example.com or *.example.com): {pattern!r}"""


@dataclass(frozen=True, slots=True)
class Rule:
    id: int
    pattern: str
    headers: tuple[tuple[str, str], ...] = ()
    dest_dir: str | None = None
    template: str | None = None
    max_connections: int | None = None
    #: TLS certificates of matching hosts are not checked (an explicit opt-in)
    insecure: bool = False
    #: the proxy for matching hosts (a URL, or drayman.proxies.DIRECT for none)
    proxy: str | None = None
    #: files from matching hosts larger than this fail (None: no cap)
    max_filesize: int | None = None

    def matches(self, host: str) -> bool:
        host = host.lower().rstrip(".")
        if self.pattern.startswith("*."):
            return host.endswith(self.pattern[1:])
        return host == self.pattern

    @property
    def specificity(self) -> tuple[int, int]:
        """Exact names beat wildcards; longer suffixes beat shorter ones."""
        return (0 if self.pattern.startswith("*.") else 1, len(self.pattern))


def validate_pattern(text: str) -> str:
    pattern = text.strip().lower().rstrip(".")
    if not _PATTERN.match(pattern):
        raise InvalidRulePattern(pattern=text)
    return pattern


def matching(rules: Iterable[Rule], host: str) -> list[Rule]:
    """The rules for ``host``, most specific first."""
    return sorted((r for r in rules if r.matches(host)), key=lambda r: r.specificity, reverse=True)


def headers_for(rules: Sequence[Rule], host: str) -> list[tuple[str, str]]:
    """Rule headers for one request to ``host``; a more specific rule wins a name."""
    chosen: dict[str, tuple[str, str]] = {}
    for rule in matching(rules, host):
        for name, value in rule.headers:
            chosen.setdefault(name.lower(), (name, value))
    return list(chosen.values())


def hop_headers(
    url: str,
    own: Sequence[tuple[str, str]],
    given_for: str,
    rules: Sequence[Rule] = (),
    extra: Sequence[tuple[str, str]] = (),
) -> list[tuple[str, str]]:
    """One request's headers, for a download's hops and a thumbnail's alike.

    ``own`` were given for ``given_for`` (the job's or the entry's URL): their
    credentials go only to that URL's origin, their other headers everywhere.
    A rule's headers for ``url``'s host come first, less the names ``own``
    has (and less Authorization when ``url`` carries user:password, which is
    more specific and which the HTTP client cannot send beside it); then
    ``own``, then ``extra``.
    """
    # (the URL itself, and no rules: what nearly every request is, without parsing it)
    mine = list(own) if url == given_for or same_origin(url, given_for) else strip_credentials(own)
    names = {name.lower() for name, _ in mine}
    if "@" in url and has_userinfo(url):
        names.add("authorization")
    ruled = []
    if rules:
        ruled = [h for h in headers_for(rules, host_of(url)) if h[0].lower() not in names]
    # drayman's sessions never decode: ask for the bytes as the server stores them
    return [*ruled, *mine, ("Accept-Encoding", "identity"), *extra]


def connection_limit(rules: Sequence[Rule], host: str) -> int | None:
    limits = [r.max_connections for r in matching(rules, host) if r.max_connections]
    return min(limits) if limits else None


def size_cap(rules: Sequence[Rule], host: str) -> int | None:
    """The smallest size cap of the rules matching ``host`` (None: none)."""
    caps = [r.max_filesize for r in matching(rules, host) if r.max_filesize]
    return min(caps) if caps else None


def insecure_for(rules: Sequence[Rule], host: str) -> bool:
    """Whether a rule matching ``host`` opted out of certificate checks."""
    return any(rule.insecure for rule in matching(rules, host))


def proxy_for_host(rules: Sequence[Rule], host: str) -> str | None:
    """The proxy of the most specific rule for ``host`` that names one."""
    for rule in matching(rules, host):
        if rule.proxy:
            return rule.proxy
    return None


def first_setting(rules: Sequence[Rule], host: str, field: str) -> str | None:
    for rule in matching(rules, host):
        value = getattr(rule, field)
        if value:
            return str(value)
    return None
