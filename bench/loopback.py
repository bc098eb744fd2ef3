"""An aiohttp server on 127.0.0.1, in a thread of the benchmark's own process.

The benchmarks in this folder need servers whose behaviour they control
(endless files, counting what was sent); nginx serves the shared download
benchmark (../shared/bench).
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Callable

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class ThreadServer:
    """``ThreadServer(handler).start()``; every GET goes to ``handler``."""

    def __init__(
        self, handler: Handler, *, background: Callable[[], Awaitable[None]] | None = None
    ):
        self.handler = handler
        self.background = background
        self.port = 0
        self.requests = 0
        self._ready = threading.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._error: BaseException | None = None

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}/{path.lstrip('/')}"

    def start(self) -> ThreadServer:
        threading.Thread(target=self._serve, name="bench-server", daemon=True).start()
        if not self._ready.wait(30):
            raise RuntimeError("the loopback server did not start")
        if self._error is not None:
            raise RuntimeError("the loopback server failed to start") from self._error
        return self

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        self.requests += 1
        return await self.handler(request)

    def _serve(self) -> None:
        loop = self._loop = asyncio.new_event_loop()
        tasks: list[asyncio.Task[None]] = []

        async def setup() -> None:
            app = web.Application()
            app.router.add_get("/{tail:.*}", self._handle)
            runner = web.AppRunner(app, access_log=None, handle_signals=False)
            await runner.setup()
            site = web.TCPSite(runner, "127.0.0.1", 0, backlog=1024)
            await site.start()
            server = site._server
            assert server is not None
            self.port = server.sockets[0].getsockname()[1]  # type: ignore[attr-defined]
            if self.background is not None:
                tasks.append(asyncio.create_task(self.background()))

        try:
            loop.run_until_complete(setup())
        except BaseException as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        loop.run_forever()
