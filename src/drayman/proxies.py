"""Which proxy a request goes through: the user's choices, and the environment's as curl reads it.

This module knows no HTTP client (the engine's :mod:`drayman.queue.proxyroutes`
turns a choice into a connection; the window stores its setting through
here). A proxy URL is ``http://``, ``https://`` (TLS to the proxy),
``socks5://`` (names resolved here) or ``socks5h://`` (names resolved by the
proxy), with an optional ``user:password@``. The password is never shown:
:func:`drayman.urls.redact_password` hides it in every message.

From the most specific to the least, the first that says something wins:

1. the job's own (``drayman add --proxy URL`` or ``--no-proxy``);
2. the most specific per-host rule with one (``rules add HOST --proxy URL``);
3. the run's ``--proxy URL`` (the window's setting), unless ``NO_PROXY`` names the host;
4. the environment, unless ``--no-proxy``: ``http_proxy`` for http URLs,
   ``HTTPS_PROXY`` for https, else ``ALL_PROXY``, unless ``NO_PROXY`` names
   the host (upper or lower case, lower case first, as curl reads them);
5. no proxy.
"""

from __future__ import annotations

import importlib.util
import ipaddress
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit

from drayman.errors import InvalidProxy, ProxyLost
from drayman.rules import Rule, proxy_for_host
from drayman.urls import host_of, origin, redact_password

#: the scheme of a proxy URL -> its port when the URL names none (curl's defaults)
DEFAULT_PORTS = {"http": 1080, "https": 443, "socks5": 1080, "socks5h": 1080}
SOCKS_SCHEMES = frozenset({"socks5", "socks5h"})
#: what a job or a rule stores for "no proxy, whatever the run or the environment say"
DIRECT = "direct"
#: what to install for socks5:// proxies
SOCKS_HINT = "socks5:// proxies need the socks extra: pip install 'drayman[socks]'"


def socks_available() -> bool:
    """Whether aiohttp-socks (the ``socks`` extra) is installed."""
    try:
        return importlib.util.find_spec("aiohttp_socks") is not None
    except ValueError:  # a module without a spec
        return False


def _invalid(text: str, reason: str) -> InvalidProxy:
    shown = redact_password(text)
    return InvalidProxy(reason=reason, url=shown if len(shown) <= 200 else shown[:200] + "...")


def validate_proxy(text: str) -> str:
    """``scheme://[user:password@]host:port`` from what a user or a variable gives.

    A URL without a scheme is an HTTP proxy (``proxy.corp:3128``), as curl
    takes it; a missing port is the scheme's default. Raises
    :class:`InvalidProxy` (the password hidden) for anything else.
    """
    url = text.strip() if isinstance(text, str) else ""
    if not url or any(c.isspace() or not c.isprintable() for c in url):
        raise _invalid(str(text), "blank, or with spaces or control characters")
    if "://" not in url:
        url = "http://" + url
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise _invalid(url, "invalid port") from None
    scheme = parts.scheme.lower()
    if scheme not in DEFAULT_PORTS:
        raise _invalid(url, f"unsupported scheme {scheme!r} (http, https, socks5, socks5h)")
    host = parts.hostname
    if not host:
        raise _invalid(url, "no host")
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        raise _invalid(url, "a proxy URL has no path")
    if port == 0:
        raise _invalid(url, "invalid port")
    shown_host = f"[{host}]" if ":" in host else host
    userinfo = ""
    if parts.username is not None:
        userinfo = quote(unquote(parts.username), safe="")
        if parts.password is not None:
            userinfo += ":" + quote(unquote(parts.password), safe="")
        userinfo += "@"
    return f"{scheme}://{userinfo}{shown_host}:{port or DEFAULT_PORTS[scheme]}"


def proxy_credentials(url: str) -> tuple[str, str] | None:
    """(user, password) of a validated proxy URL, decoded; None without them."""
    parts = urlsplit(url)
    if parts.username is None:
        return None
    return unquote(parts.username), unquote(parts.password or "")


def without_credentials(url: str) -> str:
    """A validated proxy URL without its ``user:password@``."""
    parts = urlsplit(url)
    return parts._replace(netloc=parts.netloc.rpartition("@")[2]).geturl()


# -- the environment (curl's reading) --------------------------------------------


def _variable(environ: Mapping[str, str], name: str, *, upper: bool = True) -> str | None:
    """The lower-case variable, else the upper-case one (curl prefers lower case)."""
    value = environ.get(name.lower())
    if not value and upper:
        value = environ.get(name.upper())
    return value.strip() if value and value.strip() else None


@dataclass(frozen=True)
class ProxyEnvironment:
    """The proxy variables as curl reads them; see :meth:`from_environ`."""

    http: str | None = None
    https: str | None = None
    all: str | None = None
    no_proxy: tuple[str, ...] = ()

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> ProxyEnvironment:
        """``http_proxy``, ``HTTPS_PROXY``, ``ALL_PROXY``, ``NO_PROXY`` (either case).

        ``HTTP_PROXY`` in upper case is ignored inside a CGI program
        (``REQUEST_METHOD`` set), where a request's ``Proxy:`` header becomes
        it ("httpoxy"). Raises :class:`InvalidProxy` naming the variable for
        a value that is no proxy URL.
        """
        values: dict[str, str | None] = {}
        for field, name, upper in (
            ("http", "http_proxy", "REQUEST_METHOD" not in environ),
            ("https", "https_proxy", True),
            ("all", "all_proxy", True),
        ):
            raw = _variable(environ, name, upper=upper)
            try:
                values[field] = None if raw is None else validate_proxy(raw)
            except InvalidProxy as exc:
                which = name if environ.get(name) else name.upper()
                raise InvalidProxy(f"{exc} (from the variable {which})") from None
        no_proxy = _variable(environ, "no_proxy") or ""
        entries = tuple(e.strip().lower() for e in no_proxy.split(",") if e.strip())
        return cls(values["http"], values["https"], values["all"], entries)

    def proxy_for(self, url: str) -> str | None:
        scheme, host, port = origin(url)
        chosen = (self.https if scheme == "https" else self.http) or self.all
        if chosen is None or bypassed(host, port, self.no_proxy):
            return None
        return chosen


def bypassed(host: str, port: int, no_proxy: Sequence[str]) -> bool:
    """Does ``NO_PROXY`` name ``host``? curl's rules.

    ``*`` names every host; ``example.com`` and ``.example.com`` name it and
    its subdomains; an IP address names itself, ``10.0.0.0/8`` a network.
    ``host:port`` names the host on that port only.
    """
    host = host.lower().rstrip(".").strip("[]")
    for entry in no_proxy:
        if entry == "*":
            return True
        name, entry_port = entry, None
        if entry.startswith("["):  # [::1]:8080
            name, _, rest = entry[1:].partition("]")
            entry_port = rest[1:] if rest.startswith(":") else None
        elif entry.count(":") == 1:  # host:port (more colons: a bare IPv6 address)
            name, entry_port = entry.split(":")
        if entry_port is not None and entry_port != str(port):
            continue
        name = name.strip(".").removeprefix("*.")
        if not name:
            continue
        if _ip_match(host, name):
            return True
        if host == name or host.endswith("." + name):
            return True
    return False


def _ip_match(host: str, entry: str) -> bool:
    try:
        address = ipaddress.ip_address(host)
        network = ipaddress.ip_network(entry, strict=False)
    except ValueError:
        return False
    return address in network


# -- the choice ------------------------------------------------------------------


@dataclass(frozen=True)
class ProxySettings:
    """What the run says: its own proxy (``--proxy``), and whether the environment counts."""

    #: a validated proxy URL for every request (unless NO_PROXY names the host)
    proxy: str | None = None
    #: False with ``--no-proxy``: the proxy variables are ignored, NO_PROXY too
    use_environment: bool = True
    #: why the run's proxy cannot be known (the window's was chosen, its URL is
    #: lost): a request that would take it is refused, never sent another way
    lost: str | None = None


def choose_proxy(
    url: str,
    *,
    job_proxy: str | None,
    rule_proxy: str | None,
    settings: ProxySettings,
    environment: ProxyEnvironment,
) -> str | None:
    """The proxy URL a request to ``url`` goes through, or None (direct). See the module.

    Raises :class:`ProxyLost` when it would be the run's proxy and that is lost.
    """
    for explicit in (job_proxy, rule_proxy):
        if explicit is not None:
            return None if explicit == DIRECT else explicit
    if settings.lost is not None:
        raise ProxyLost(why=settings.lost)
    if settings.proxy is not None:
        if settings.use_environment:
            _, host, port = origin(url)
            if bypassed(host, port, environment.no_proxy):
                return None
        return settings.proxy
    if settings.use_environment:
        return environment.proxy_for(url)
    return None


def proxy_for_url(
    url: str,
    *,
    job_proxy: str | None,
    rules: Sequence[Rule],
    settings: ProxySettings,
    environment: ProxyEnvironment,
) -> str | None:
    """:func:`choose_proxy`, with the rule for ``url``'s host found in ``rules``."""
    return choose_proxy(
        url,
        job_proxy=job_proxy,
        rule_proxy=proxy_for_host(rules, host_of(url)) if rules else None,
        settings=settings,
        environment=environment,
    )
