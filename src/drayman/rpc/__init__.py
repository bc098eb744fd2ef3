"""aria2-compatible JSON-RPC: browser extensions, AriaNg, aria2p and scripts drive drayman.

The server (:mod:`.server`) runs on the engine's own event loop and serves
``/jsonrpc`` over HTTP (POST, and GET with base64 params) and WebSocket. Its
methods (:mod:`.methods`) are commands through the same :class:`JobQueue`
the CLI uses: every one is a write to the job table, never a call into a
transfer. Job rows become aria2 status structs in :mod:`.status`; GIDs are
job ids (:mod:`.gid`).
"""

from __future__ import annotations

from drayman.rpc.config import RpcConfig

__all__ = ["RpcConfig"]
