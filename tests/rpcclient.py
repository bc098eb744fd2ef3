"""A real engine serving aria2's JSON-RPC on a loopback port, and a client for it."""

from __future__ import annotations

import asyncio
import base64
import json
import re
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from drayman.queue.engine import Engine, EngineConfig
from drayman.queue.retry import RetryPolicy
from drayman.queue.transfer import TransferConfig
from drayman.rpc.config import RpcConfig
from drayman.rpc.server import RpcServer

SECRET = "t0ps3cret-for-tests"


def rpc_engine_config() -> EngineConfig:
    return EngineConfig(
        retry=RetryPolicy(base_delay=0.01, max_delay=0.05, max_attempts=2),
        transfer=TransferConfig(read_timeout=5.0, checkpoint_seconds=0.05),
        poll_interval=0.05,
        progress_interval=0.05,
    )


@dataclass
class RpcClient:
    engine: Engine
    server: RpcServer
    session: aiohttp.ClientSession
    downloads: Path
    #: notifications seen by ``listen()`` sockets, in order: (method, gid)
    seen: list[tuple[str, str]] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.port}/jsonrpc"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.server.port}/jsonrpc"

    def request(self, method: str, *params: Any, token: str | None = SECRET) -> dict[str, Any]:
        given = [f"token:{token}", *params] if token is not None else list(params)
        return {"jsonrpc": "2.0", "id": "t", "method": method, "params": given}

    async def post(self, payload: Any, **kwargs: Any) -> tuple[int, Any]:
        async with self.session.post(self.url, data=json.dumps(payload), **kwargs) as response:
            return response.status, await response.json(content_type=None)

    async def answer(self, method: str, *params: Any, token: str | None = SECRET) -> Any:
        """The whole answer object of one call over HTTP POST."""
        _, answer = await self.post(self.request(method, *params, token=token))
        return answer

    async def call(self, method: str, *params: Any) -> Any:
        """The result of one call; fails the test on an error answer."""
        answer = await self.answer(method, *params)
        assert "error" not in answer, answer
        return answer["result"]

    async def get(self, method: str, *params: Any) -> tuple[int, Any]:
        """aria2's GET form: method, id and base64 params in the query."""
        encoded = base64.b64encode(json.dumps([f"token:{SECRET}", *params]).encode()).decode()
        query = {"method": method, "id": "g", "params": encoded}
        async with self.session.get(self.url, params=query) as response:
            return response.status, await response.json(content_type=None)

    async def status(self, gid: str) -> str:
        return str((await self.call("aria2.tellStatus", gid, ["status"]))["status"])

    async def wait_status(self, gid: str, wanted: str, timeout: float = 15.0) -> None:
        deadline = asyncio.get_running_loop().time() + timeout
        while (now := await self.status(gid)) != wanted:
            if asyncio.get_running_loop().time() > deadline:
                raise AssertionError(f"{gid} is {now}, not {wanted}, after {timeout} s")
            await asyncio.sleep(0.02)


@pytest.fixture
async def rpc(db_path: Path, downloads: Path) -> AsyncIterator[RpcClient]:
    config = RpcConfig(
        port=0, secret=SECRET, default_dir=str(downloads), auth_delay=0.05, poll_interval=0.05
    )
    async with (
        Engine(db_path, rpc_engine_config()) as engine,
        RpcServer(engine, config) as server,
        aiohttp.ClientSession() as session,
    ):
        yield RpcClient(engine, server, session, downloads)


def rpc_port_in(log: Path, timeout: float = 30.0) -> int:
    """The port a ``drayman run --rpc-listen-port 0`` says it serves on, in its log."""
    deadline = time.monotonic() + timeout
    while not (match := re.search(r"RPC at http://127\.0\.0\.1:(\d+)/jsonrpc", log.read_text())):
        if time.monotonic() > deadline:
            raise AssertionError(f"the RPC did not listen within {timeout} s: {log.read_text()}")
        time.sleep(0.02)
    return int(match.group(1))
