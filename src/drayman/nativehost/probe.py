"""Is drayman serving its RPC on a port, with this secret? One aria2.getVersion asks."""

from __future__ import annotations

import enum
import json
import urllib.error
import urllib.request


class Found(enum.Enum):
    DRAYMAN = "drayman"  # drayman, and the secret is right
    WRONG_SECRET = "wrong secret"  # an aria2 RPC (drayman or aria2) with another secret
    OTHER = "other"  # something else answers on the port
    NOTHING = "nothing"  # nobody listens


def probe(port: int, secret: str, timeout: float = 5.0) -> Found:
    body = json.dumps(
        {
            "jsonrpc": "2.0",
            "id": "drayman-native-host",
            "method": "aria2.getVersion",
            "params": [f"token:{secret}"],
        }
    ).encode("utf-8")
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/jsonrpc",
        data=body,
        headers={"Content-Type": "application/json"},
    )
    # never through a proxy from the environment: this is loopback
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=timeout) as response:
            data = response.read(65536)
    except urllib.error.HTTPError as exc:
        data = exc.read(65536)
    except (OSError, ValueError):  # refused, reset, timed out (URLError is an OSError)
        return Found.NOTHING
    try:
        answer = json.loads(data.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return Found.OTHER
    if not isinstance(answer, dict):
        return Found.OTHER
    result = answer.get("result")
    if isinstance(result, dict) and "drayman" in result:
        return Found.DRAYMAN
    error = answer.get("error")
    if isinstance(error, dict) and error.get("message") == "Unauthorized":
        return Found.WRONG_SECRET
    return Found.OTHER
