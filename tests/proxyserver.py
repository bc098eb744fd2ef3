"""Proxies on loopback for tests: an HTTP proxy (absolute-form GET and CONNECT) and SOCKS5.

Both record what passes through them, so a test can tell whether a request
went through the proxy (and to which host and port) or straight to the
server. Each runs on its own thread and loop, like the HTTP servers of
:mod:`httpserver`, and maps the host names in ``names`` to addresses (a name
only the proxy can resolve proves the client did not resolve it).

Written on asyncio streams (the :class:`~httpserver.RawServer` machinery):
a CONNECT tunnel hands the raw connection over, which aiohttp.web cannot do.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import ipaddress
import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

import pytest

from httpserver import RawConnection, RawServer, response_head

__all__ = ["HttpProxy", "SocksProxy", "SocksRequest", "http_proxy", "socks_proxy"]


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while data := await reader.read(256 * 1024):
            writer.write(data)
            await writer.drain()


async def _splice(
    client: RawConnection, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
) -> None:
    """Bytes both ways until either side closes; then both are closed."""
    tasks = [
        asyncio.create_task(_pipe(client.reader, writer)),
        asyncio.create_task(_pipe(reader, client.writer)),
    ]
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await writer.wait_closed()


class HttpProxy(RawServer):
    """An HTTP proxy: ``GET http://host:port/path`` forwarded, ``CONNECT host:port`` tunnelled.

    ``requests`` (RawRequest) holds each request head as the client sent it;
    with ``credentials`` set, a request without the right
    ``Proxy-Authorization`` gets a 407.
    """

    def __init__(
        self,
        *,
        credentials: tuple[str, str] | None = None,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(self._serve_client, ssl_context=ssl_context)
        self.credentials = credentials
        self.names: dict[str, str] = {}

    @property
    def proxy_url(self) -> str:
        """http://, or https:// (TLS to the proxy) with an ``ssl_context``."""
        return f"{self.scheme}://{self.host}:{self.port}"

    def _authorized(self, header: str | None) -> bool:
        if self.credentials is None:
            return True
        user, password = self.credentials
        expected = base64.b64encode(f"{user}:{password}".encode()).decode()
        return header == f"Basic {expected}"

    async def _serve_client(self, conn: RawConnection) -> None:
        request = await conn.read_request()
        if request is None:
            return
        if not self._authorized(request.headers.get("Proxy-Authorization")):
            await conn.send(
                response_head(
                    407,
                    {"Proxy-Authenticate": 'Basic realm="test"', "Content-Length": "0"},
                )
            )
            return
        if request.method == "CONNECT":
            host, _, port = request.path.rpartition(":")
            reader, writer = await asyncio.open_connection(
                self.names.get(host, host.strip("[]")), int(port)
            )
            await conn.send(b"HTTP/1.1 200 Connection established\r\n\r\n")
            await _splice(conn, reader, writer)
            return
        target = urlsplit(request.path)
        assert target.scheme == "http" and target.hostname, request.path
        reader, writer = await asyncio.open_connection(
            self.names.get(target.hostname, target.hostname), target.port or 80
        )
        try:
            path = (target.path or "/") + (f"?{target.query}" if target.query else "")
            lines = [f"{request.method} {path} HTTP/1.1"]
            for name, value in request.headers.items():
                if name.lower() not in ("proxy-authorization", "proxy-connection", "connection"):
                    lines.append(f"{name}: {value}")
            lines.append("Connection: close")
            writer.write(("\r\n".join(lines) + "\r\n\r\n").encode("latin-1"))
            await writer.drain()
            # the answer's head with "Connection: close": one request per connection
            head = await reader.readuntil(b"\r\n\r\n")
            status, *fields = head.decode("latin-1").split("\r\n")
            kept = [
                f for f in fields if f and not f.lower().startswith(("connection:", "keep-alive:"))
            ]
            await conn.send(
                ("\r\n".join([status, *kept, "Connection: close"]) + "\r\n\r\n").encode("latin-1")
            )
            await _pipe(reader, conn.writer)
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError, OSError):
                await writer.wait_closed()


@dataclass(frozen=True)
class SocksRequest:
    #: 1 IPv4, 3 a domain name, 4 IPv6 (what the client sent)
    address_type: int
    host: str
    port: int


class SocksProxy(RawServer):
    """A SOCKS5 server (RFC 1928, CONNECT only); RFC 1929 user/password with ``credentials``."""

    def __init__(self, *, credentials: tuple[str, str] | None = None) -> None:
        super().__init__(self._serve_client)
        self.credentials = credentials
        self.names: dict[str, str] = {}
        self.connects: list[SocksRequest] = []
        self.refused_logins = 0

    def proxy_url(self, scheme: str = "socks5") -> str:
        return f"{scheme}://{self.host}:{self.port}"

    async def _serve_client(self, conn: RawConnection) -> None:
        reader = conn.reader
        version, count = await reader.readexactly(2)
        methods = await reader.readexactly(count)
        assert version == 5
        if self.credentials is None:
            if 0 not in methods:
                await conn.send(b"\x05\xff")
                return
            await conn.send(b"\x05\x00")
        else:
            if 2 not in methods:
                await conn.send(b"\x05\xff")
                return
            await conn.send(b"\x05\x02")
            _, size = await reader.readexactly(2)
            user = (await reader.readexactly(size)).decode()
            (size,) = await reader.readexactly(1)
            password = (await reader.readexactly(size)).decode()
            if (user, password) != self.credentials:
                with self._lock:
                    self.refused_logins += 1
                await conn.send(b"\x01\x01")
                return
            await conn.send(b"\x01\x00")
        _, command, _, address_type = await reader.readexactly(4)
        if address_type == 1:
            host = socket.inet_ntop(socket.AF_INET, await reader.readexactly(4))
        elif address_type == 4:
            host = socket.inet_ntop(socket.AF_INET6, await reader.readexactly(16))
        else:
            (size,) = await reader.readexactly(1)
            host = (await reader.readexactly(size)).decode("idna")
        port = int.from_bytes(await reader.readexactly(2), "big")
        with self._lock:
            self.connects.append(SocksRequest(address_type, host, port))
        if command != 1:
            await conn.send(b"\x05\x07\x00\x01" + bytes(6))
            return
        address = self.names.get(host, host)
        try:
            ipaddress.ip_address(address)
            target_reader, target_writer = await asyncio.open_connection(address, port)
        except (OSError, ValueError):
            await conn.send(b"\x05\x05\x00\x01" + bytes(6))  # connection refused
            return
        bound = socket.inet_aton("127.0.0.1") + port.to_bytes(2, "big")
        await conn.send(b"\x05\x00\x00\x01" + bound)
        await _splice(conn, target_reader, target_writer)


@pytest.fixture
def http_proxy() -> Iterator[HttpProxy]:
    with HttpProxy() as proxy:
        yield proxy


@pytest.fixture
def socks_proxy() -> Iterator[SocksProxy]:
    with SocksProxy() as proxy:
        yield proxy
