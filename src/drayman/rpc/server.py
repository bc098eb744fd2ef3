"""The RPC server: aria2's ``/jsonrpc`` over HTTP and WebSocket, on the engine's loop.

Stricter than aria2's defaults, since a browser on the same machine is the
main client and any web page it shows could try the port too:

- it listens on 127.0.0.1 only, unless told ``listen_all``;
- every method but the two lists needs the secret (``token:...``), compared
  in constant time; a wrong one is answered after ``auth_delay`` seconds;
- a request whose ``Host`` is not a loopback name or address is refused
  (DNS rebinding: a page of evil.example re-pointed at 127.0.0.1);
- the web page at ``/`` (a client of this RPC, see webpage.py) passes the
  same Host check;
- a request from a browser page (``Origin``) is refused unless that origin
  was allowed, is a browser extension, or is this server's own (the web
  page at ``/``); CORS headers go to those only; no JSONP;
- bodies past ``max_body``, malformed JSON, wrong types: JSON-RPC errors,
  never a traceback. Nothing with a token in it is logged (no access log).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import contextlib
import ipaddress
import json
import logging
import socket
from collections.abc import Callable
from typing import Any

from aiohttp import WSMsgType, web

from drayman.errors import RpcListenFailed
from drayman.jobs import Job
from drayman.queue.engine import Engine
from drayman.queue.progress import EngineSnapshot
from drayman.rpc.config import RpcConfig
from drayman.rpc.errors import (
    METHOD_FAILED,
    UNAUTHORIZED,
    InvalidParams,
    InvalidRequest,
    ParseError,
    RpcError,
)
from drayman.rpc.events import JobEvents
from drayman.rpc.gid import gid_of
from drayman.rpc.methods import Aria2Methods
from drayman.rpc.webpage import FILES, load_files, page_response

log = logging.getLogger(__name__)

PATH = "/jsonrpc"
CONTENT_TYPE = "application/json-rpc"
EXTENSION_SCHEMES = (
    "chrome-extension://",
    "moz-extension://",
    "safari-web-extension://",
    "ms-browser-extension://",
    "extension://",
)


def _http_status(code: int) -> int:
    """aria2's HTTP status for an error answer (HttpServerBodyCommand)."""
    return {METHOD_FAILED: 400, -32600: 400, -32601: 404}.get(code, 500)


def host_name(host_header: str) -> str:
    """The name or address of a ``Host`` header, without port or brackets."""
    host = host_header.strip()
    if host.startswith("["):
        host = host[1 : host.find("]")] if "]" in host else host[1:]
    elif host.count(":") == 1:
        host = host.rsplit(":", 1)[0]
    return host.rstrip(".").lower()


def host_allowed(host_header: str | None, listen_all: bool, names: frozenset[str]) -> bool:
    """Loopback names and addresses always; with ``listen_all``, any address and
    this machine's own names. Never another name: that is DNS rebinding."""
    if not host_header:
        return True  # not a browser (they always send Host)
    host = host_name(host_header)
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return listen_all and host in names
    return address.is_loopback or listen_all


def _machine_names() -> frozenset[str]:
    name = socket.gethostname().lower().rstrip(".")
    return frozenset({name, f"{name}.local", name.split(".")[0]})


class _Client:
    """One WebSocket: answers and notifications go out in order, by one writer."""

    def __init__(self, ws: web.WebSocketResponse) -> None:
        self.ws = ws
        self.outbox: asyncio.Queue[str] = asyncio.Queue()
        self.writer = asyncio.create_task(self._write(), name="drayman-rpc-ws-writer")

    async def _write(self) -> None:
        while True:
            text = await self.outbox.get()
            try:
                await self.ws.send_str(text)
            except (ConnectionError, RuntimeError):
                return  # gone; the reader ends too


class RpcServer:
    """``async with RpcServer(engine, config):`` serves until the block ends."""

    def __init__(
        self,
        engine: Engine,
        config: RpcConfig,
        *,
        on_shutdown: Callable[[], None] | None = None,
    ) -> None:
        if not config.secret:
            raise ValueError("the RPC needs a secret")
        self.engine = engine
        self.config = config
        self.methods = Aria2Methods(engine, config, on_shutdown=on_shutdown)
        self.events = JobEvents(
            engine.queue,
            self._notify,
            self.methods.removed_elsewhere,
            poll_interval=config.poll_interval,
        )
        self.methods.on_removing = self.events.learn
        self._clients: set[_Client] = set()
        self._runner: web.AppRunner | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self._undo: list[Callable[[], None]] = []
        self._names: frozenset[str] = frozenset()
        self._files: dict[str, tuple[bytes, str]] = {}
        self.port = config.port

    # -- life cycle ------------------------------------------------------------------

    def application(self) -> web.Application:
        app = web.Application(client_max_size=self.config.max_body)
        app.router.add_route("*", PATH, self._handle)
        for path in FILES:
            app.router.add_get(path, self._page)
        return app

    async def start(self) -> None:
        """Listen; raises :class:`RpcListenFailed` (port taken, say) with nothing left open."""
        if self.config.listen_all:
            self._names = await asyncio.to_thread(_machine_names)
        self._files = await asyncio.to_thread(load_files)
        host = None if self.config.listen_all else "127.0.0.1"
        # no access log: GET requests carry the token in their query
        runner = web.AppRunner(self.application(), access_log=None, handle_signals=False)
        await runner.setup()
        try:
            await web.TCPSite(runner, host, self.config.port).start()
        except OSError as exc:
            await runner.cleanup()
            address = f"{host or '*'}:{self.config.port}"
            raise RpcListenFailed(address=address, reason=exc.strerror or str(exc)) from None
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        self._undo = [
            self.engine.subscribe(self._on_progress),
            self.engine.queue.on_change(self.events.poke),
        ]
        self._tasks = [asyncio.create_task(self.events.run(), name="drayman-rpc-events")]
        log.info("RPC listening on %s:%d%s", host or "*", self.port, PATH)

    async def stop(self) -> None:
        for undo in self._undo:
            with contextlib.suppress(ValueError):
                undo()
        self._undo = []
        for task in self._tasks:
            task.cancel()
        for client in list(self._clients):
            client.writer.cancel()
            # a client that never answers the close frame does not hold the stop up
            with contextlib.suppress(Exception):
                async with asyncio.timeout(1.0):
                    await client.ws.close()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> RpcServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    # -- from the engine -----------------------------------------------------------------

    def _on_progress(self, snapshot: EngineSnapshot) -> None:
        self.methods.live = {p.job_id: p for p in snapshot.active}
        self.methods.total_speed = snapshot.total_speed
        if snapshot.changes:
            self.events.poke()

    def _notify(self, method: str, job: Job) -> None:
        if not self._clients:
            return
        text = json.dumps({"jsonrpc": "2.0", "method": method, "params": [{"gid": gid_of(job)}]})
        for client in self._clients:
            client.outbox.put_nowait(text)

    # -- HTTP --------------------------------------------------------------------------

    async def _page(self, request: web.Request) -> web.StreamResponse:
        """The web page's files, to loopback names only unless ``listen_all`` (DNS rebinding)."""
        if not host_allowed(request.headers.get("Host"), self.config.listen_all, self._names):
            return web.Response(
                status=403, text="Forbidden: the Host header is not a loopback name or address"
            )
        return page_response(self._files, request)

    def _origin_allowed(self, request: web.Request) -> bool:
        origin = request.headers.get("Origin")
        if origin is None:
            return True  # not a page in a browser
        if self.config.allow_extensions and origin.startswith(EXTENSION_SCHEMES):
            return True
        if origin in self.config.allowed_origins or "*" in self.config.allowed_origins:
            return True
        # the server's own pages (the web page at "/"); Host is checked first
        return origin in (f"http://{request.host}", f"https://{request.host}")

    def _cors(self, request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
        origin = request.headers.get("Origin")
        if origin is not None:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Vary"] = "Origin"
        return response

    @staticmethod
    def _refusal(error: RpcError, status: int) -> web.Response:
        body = {"jsonrpc": "2.0", "id": None, "error": error.as_json()}
        return web.Response(status=status, text=json.dumps(body), content_type=CONTENT_TYPE)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if not host_allowed(request.headers.get("Host"), self.config.listen_all, self._names):
            return self._refusal(
                InvalidRequest("Forbidden: the Host header is not a loopback name or address"), 403
            )
        if not self._origin_allowed(request):
            return self._refusal(
                InvalidRequest(
                    "Forbidden: this origin may not use the RPC "
                    "(allow it with `drayman run --rpc-allow-origin ORIGIN`)"
                ),
                403,
            )
        if request.method == "OPTIONS":
            response = web.Response(status=200)
            if request.headers.get("Origin") and request.headers.get(
                "Access-Control-Request-Method"
            ):
                response.headers["Access-Control-Allow-Methods"] = "POST, GET, OPTIONS"
                response.headers["Access-Control-Max-Age"] = "1728000"
                wanted = request.headers.get("Access-Control-Request-Headers")
                if wanted:
                    response.headers["Access-Control-Allow-Headers"] = wanted
            return self._cors(request, response)
        if request.method == "GET" and request.headers.get("Upgrade", "").lower() == "websocket":
            return await self._websocket(request)
        if request.method == "GET":
            data: Any = self._from_query(request)
        elif request.method == "POST":
            data = await self._from_body(request)
        else:
            return self._cors(request, web.Response(status=405, headers={"Allow": "GET, POST"}))
        if isinstance(data, RpcError):
            payload: Any = {"jsonrpc": "2.0", "id": None, "error": data.as_json()}
            status = 413 if "too large" in data.message else _http_status(data.code)
        else:
            payload, status = await self._answer(data)
        text = json.dumps(payload)
        return self._cors(
            request, web.Response(status=status, text=text, content_type=CONTENT_TYPE)
        )

    def _from_query(self, request: web.Request) -> Any:
        """aria2's GET: ``method``, ``id`` and base64 ``params`` (a whole batch without method)."""
        query = request.query
        if "jsoncallback" in query:
            return InvalidRequest(
                "JSONP (jsoncallback) is not served: any web page could read the answers"
            )
        params: Any = []
        if "params" in query:
            try:
                raw = base64.b64decode(query["params"], validate=False)
                params = json.loads(raw.decode("utf-8"))
            except (binascii.Error, ValueError, UnicodeDecodeError):
                return ParseError("Parse error.")
        if "method" not in query:
            return params  # a batch, or one request object, whole in params
        request_id: Any = query.get("id")
        return {"jsonrpc": "2.0", "method": query["method"], "id": request_id, "params": params}

    async def _from_body(self, request: web.Request) -> Any:
        try:
            body = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return InvalidRequest(
                f"Invalid Request: the body is too large (over {self.config.max_body} bytes)"
            )
        try:
            return json.loads(body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return ParseError("Parse error.")

    async def _answer(self, data: Any) -> tuple[Any, int]:
        """The answer to a request or a batch, and its HTTP status (aria2's)."""
        if isinstance(data, list):
            answers = [await self._one(item) for item in data if isinstance(item, dict)]
            await self._slow_down_guessing(answers)
            return answers, 200
        if not isinstance(data, dict):
            return self._error(None, InvalidRequest("Invalid Request.")), 400
        answer = await self._one(data)
        await self._slow_down_guessing([answer])
        error = answer.get("error")
        return answer, 200 if error is None else _http_status(error["code"])

    async def _slow_down_guessing(self, answers: list[dict[str, Any]]) -> None:
        if any(_unauthorized(answer.get("error")) for answer in answers) or any(
            isinstance(result, list)
            and any(isinstance(r, dict) and _unauthorized(r) for r in result)
            for result in (answer.get("result") for answer in answers)
        ):
            await asyncio.sleep(self.config.auth_delay)

    @staticmethod
    def _error(request_id: Any, error: RpcError) -> dict[str, Any]:
        return {"jsonrpc": "2.0", "id": request_id, "error": error.as_json()}

    async def _one(self, request: dict[str, Any]) -> dict[str, Any]:
        if "id" not in request:  # aria2 answers every request, so it needs an id
            return self._error(None, InvalidRequest("Invalid Request."))
        request_id = request["id"]
        method = request.get("method")
        if not isinstance(method, str):
            return self._error(request_id, InvalidRequest("Invalid Request."))
        params = request.get("params", [])
        if params is None:
            params = []
        if not isinstance(params, list):
            return self._error(request_id, InvalidParams("Invalid params."))
        try:
            result = await self.methods.call(method, list(params))
        except RpcError as exc:
            return self._error(request_id, exc)
        return {"jsonrpc": "2.0", "id": request_id, "result": result}

    # -- WebSocket ---------------------------------------------------------------------

    async def _websocket(self, request: web.Request) -> web.StreamResponse:
        ws = web.WebSocketResponse(max_msg_size=self.config.max_body, heartbeat=30.0)
        await ws.prepare(request)
        client = _Client(ws)
        self._clients.add(client)
        try:
            async for message in ws:
                if message.type == WSMsgType.TEXT:
                    try:
                        data: Any = json.loads(message.data)
                    except ValueError:
                        payload: Any = self._error(None, ParseError("Parse error."))
                    else:
                        payload, _ = await self._answer(data)
                    client.outbox.put_nowait(json.dumps(payload))
                elif message.type == WSMsgType.BINARY:
                    client.outbox.put_nowait(
                        json.dumps(self._error(None, ParseError("Parse error.")))
                    )
        finally:
            self._clients.discard(client)
            client.writer.cancel()
        return ws


def _unauthorized(error: Any) -> bool:
    return isinstance(error, dict) and error.get("message") == UNAUTHORIZED
