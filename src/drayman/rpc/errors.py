"""JSON-RPC errors as aria2 sends them.

aria2 answers a failed method with code 1 and a message (``Unauthorized``,
``No such method: x``, ``No such download for GID#...``); malformed requests
get the JSON-RPC codes: -32700 (not JSON), -32600 (not a request), -32602
(parameters of the wrong type).
"""

from __future__ import annotations

from typing import Any

#: a method failed (aria2's code for every method error)
METHOD_FAILED = 1
PARSE_ERROR = -32700
INVALID_REQUEST = -32600
INVALID_PARAMS = -32602

UNAUTHORIZED = "Unauthorized"


class RpcError(Exception):
    """An error answer: ``{"code": code, "message": message}``."""

    code = METHOD_FAILED

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message

    def as_json(self) -> dict[str, Any]:
        return {"code": self.code, "message": self.message}


class RpcFault(RpcError):
    """A method could not do what was asked (aria2's code 1)."""


class Unauthorized(RpcFault):
    def __init__(self) -> None:
        super().__init__(UNAUTHORIZED)


class InvalidParams(RpcError):
    code = INVALID_PARAMS


class InvalidRequest(RpcError):
    code = INVALID_REQUEST


class ParseError(RpcError):
    code = PARSE_ERROR
