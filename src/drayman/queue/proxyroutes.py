"""The way each request goes: straight, through an HTTP(S) proxy, or through SOCKS5.

:func:`drayman.proxies.choose_proxy` says which proxy; this module turns that
into what aiohttp needs. HTTP and HTTPS proxies ride on the engine's one
session (aiohttp sends an absolute-form request for http URLs and a CONNECT
tunnel for https ones; the proxy's credentials go in ``Proxy-Authorization``
to the proxy only). SOCKS5 needs a connector of its own: one session per
SOCKS proxy, made when first used (aiohttp-socks, the ``socks`` extra).
"""

from __future__ import annotations

import base64
import contextlib
import ssl
from collections.abc import Callable, Sequence
from typing import NamedTuple

import aiohttp

from drayman.errors import PermanentError
from drayman.proxies import (
    SOCKS_HINT,
    SOCKS_SCHEMES,
    ProxyEnvironment,
    ProxySettings,
    proxy_credentials,
    proxy_for_url,
    socks_available,
    without_credentials,
)
from drayman.rules import Rule
from drayman.urls import redact_password


class SocksUnavailable(PermanentError):
    """cannot use the proxy {proxy}: {hint}"""


class Route(NamedTuple):
    """How one request goes: the session, and aiohttp's proxy arguments."""

    session: aiohttp.ClientSession
    #: an HTTP(S) proxy's URL without credentials (None: straight, or SOCKS)
    proxy: str | None = None
    #: the ``Proxy-Authorization`` value for an HTTP(S) proxy with a user
    proxy_authorization: str | None = None
    #: the proxy as a message may name it (password hidden); None: straight
    shown: str | None = None

    def request_headers(self, url: str) -> list[tuple[str, str]]:
        """Headers of the request itself: a plain-http request goes to the proxy
        as it is (absolute form), so it carries the proxy's credentials."""
        if self.proxy_authorization is None or url.startswith("https:"):
            return []
        return [("Proxy-Authorization", self.proxy_authorization)]

    def connect_headers(self, url: str) -> dict[str, str] | None:
        """Headers of the CONNECT that tunnels an https request through the proxy."""
        if self.proxy_authorization is None or not url.startswith("https:"):
            return None
        return {"Proxy-Authorization": self.proxy_authorization}


RouteFor = Callable[[str], Route]
SessionFactory = Callable[[aiohttp.BaseConnector], aiohttp.ClientSession]


class ProxyRoutes:
    """The engine's routes: :meth:`route` for each request hop."""

    def __init__(
        self,
        direct: aiohttp.ClientSession,
        settings: ProxySettings,
        environment: ProxyEnvironment,
        *,
        make_session: SessionFactory,
        connector_options: dict[str, object],
    ) -> None:
        self.direct = direct
        self.settings = settings
        self.environment = environment
        self._make_session = make_session
        self._connector_options = connector_options
        self._socks: dict[str, aiohttp.ClientSession] = {}

    def proxy_for(
        self, url: str, *, job_proxy: str | None, rules: Sequence[Rule] = ()
    ) -> str | None:
        """The proxy URL a request to ``url`` goes through, or None (direct)."""
        return proxy_for_url(
            url,
            job_proxy=job_proxy,
            rules=rules,
            settings=self.settings,
            environment=self.environment,
        )

    def route(self, url: str, *, job_proxy: str | None, rules: Sequence[Rule] = ()) -> Route:
        proxy = self.proxy_for(url, job_proxy=job_proxy, rules=rules)
        if proxy is None:
            return Route(self.direct)
        shown = redact_password(proxy)
        scheme = proxy.partition("://")[0]
        if scheme in SOCKS_SCHEMES:
            return Route(self._socks_session(proxy), shown=shown)
        credentials = proxy_credentials(proxy)
        authorization = None
        if credentials is not None:
            token = base64.b64encode(":".join(credentials).encode("utf-8")).decode("ascii")
            authorization = f"Basic {token}"
        return Route(self.direct, without_credentials(proxy), authorization, shown)

    def _socks_session(self, proxy: str) -> aiohttp.ClientSession:
        session = self._socks.get(proxy)
        if session is not None:
            return session
        if not socks_available():
            raise SocksUnavailable(proxy=redact_password(proxy), hint=SOCKS_HINT)
        from aiohttp_socks import ProxyConnector, ProxyType

        scheme, _, rest = proxy.partition("://")
        host_port = rest.rpartition("@")[2]
        host, _, port = host_port.rpartition(":")
        credentials = proxy_credentials(proxy)
        connector = ProxyConnector(
            host=host.strip("[]"),
            port=int(port),
            proxy_type=ProxyType.SOCKS5,
            username=credentials[0] if credentials else None,
            password=credentials[1] if credentials else None,
            # socks5h: the proxy resolves names; socks5: we do, as curl does
            rdns=scheme == "socks5h",
            **self._connector_options,  # type: ignore[arg-type]
        )
        session = self._socks[proxy] = self._make_session(connector)
        return session

    async def close(self) -> None:
        sessions, self._socks = list(self._socks.values()), {}
        for session in sessions:
            with contextlib.suppress(Exception):
                await session.close()


def connector_options(limit: int, ssl_context: ssl.SSLContext | None) -> dict[str, object]:
    """The engine's connector settings, for a SOCKS session's connector too."""
    return {
        "limit": limit,
        "limit_per_host": 0,
        "ssl": ssl_context if ssl_context is not None else True,
    }
