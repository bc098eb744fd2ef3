"""An aiohttp server on 127.0.0.1 whose every GET goes to one handler, for the benchmarks.

The benchmarks in this folder need servers whose behaviour they control
(endless files, counting what was sent); nginx serves the shared download
benchmark (../shared/bench). The thread and event loop it runs on are the
tests' loopback server's (tests/httpserver.py).
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiohttp import web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from httpserver import BackgroundServer

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ThreadServer(BackgroundServer):
    """``ThreadServer(handler).start()``; every GET goes to ``handler``.

    ``background``, if given, runs on the server's loop while it serves.
    """

    def __init__(
        self, handler: Handler, *, background: Callable[[], Awaitable[None]] | None = None
    ) -> None:
        super().__init__("127.0.0.1", 0)
        self.handler = handler
        self.background = background
        #: requests answered so far
        self.requests = 0
        self._runner: web.AppRunner | None = None
        self._tasks: list[asyncio.Task[None]] = []

    def url(self, path: str) -> str:
        return f"{self.base_url}/{path.lstrip('/')}"

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        return await self.handler(request)

    async def _start_site(self) -> None:
        app = web.Application()
        app.router.add_get("/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port, backlog=1024)
        await site.start()
        server = site._server
        assert server is not None
        self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
        if self.background is not None:
            self._tasks.append(asyncio.create_task(self.background()))

    async def _shutdown(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._runner is not None:
            await self._runner.cleanup()
