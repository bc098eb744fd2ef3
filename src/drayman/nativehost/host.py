"""``drayman native-host``: what the browser starts when drayman's extension calls.

The browser passes the caller on the command line: Chromium the origin
(``chrome-extension://ID/``, on Windows followed by ``--parent-window=N``),
Firefox the manifest's path and the extension's ID. Any other caller gets
no answer (exit 2). Requests, one JSON object each:

- ``{"command": "info", "port": P}``: the RPC port and secret, and whether
  drayman answers there (the options page fills its fields from it);
- ``{"command": "start", "port": P, "window": false}``: the same, after
  starting ``drayman run --rpc-listen-port P`` (or the window, whose own
  settings then give the port) when nothing answers on P.

Answers are ``{"ok": true, "port", "secret", "running", "started", "version"}``
or ``{"ok": false, "error": "one line"}``. The secret goes to the browser
only: nothing here logs it.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Any, BinaryIO

from drayman import __version__
from drayman.errors import DraymanError, EngineStartFailed
from drayman.nativehost import ALLOWED_EXTENSIONS, ALLOWED_ORIGINS
from drayman.nativehost.probe import Found, probe
from drayman.nativehost.protocol import ProtocolError, read_message, write_message
from drayman.nativehost.starter import drayman_command, start_detached
from drayman.private import config_path
from drayman.rpc.config import DEFAULT_PORT
from drayman.rpc.secret import load_or_create_secret

#: how long a started drayman has to answer on its port
START_TIMEOUT = 30.0


def caller_allowed(argv: list[str]) -> bool:
    if argv and argv[0] in ALLOWED_ORIGINS:
        return True  # Chromium, Chrome, Edge
    return len(argv) >= 2 and argv[1] in ALLOWED_EXTENSIONS  # Firefox


def log_path() -> Path:
    return config_path("native-host.log")


def _last_line(path: Path, offset: int) -> str:
    try:
        with open(path, "rb") as handle:
            handle.seek(offset)
            text = handle.read(65536).decode("utf-8", "replace")
    except OSError:
        return ""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _refusal(found: Found, port: int) -> EngineStartFailed:
    if found is Found.WRONG_SECRET:
        return EngineStartFailed(
            reason=f"an aria2 RPC on port {port} does not take drayman's secret "
            "(another drayman run with --rpc-secret, or aria2 itself)"
        )
    return EngineStartFailed(reason=f"port {port} is used by another program; choose another")


def start(port: int, secret: str, window: bool, db: str | None) -> int:
    """Start drayman and wait until it answers on ``port``; its process id."""
    args = ["gui"] if window else ["run", "--rpc-listen-port", str(port)]
    path = log_path()
    offset = path.stat().st_size if path.exists() else 0
    process = start_detached(drayman_command(db, *args), path)
    deadline = time.monotonic() + START_TIMEOUT
    while time.monotonic() < deadline:
        found = probe(port, secret, timeout=2.0)
        if found is Found.DRAYMAN:
            return process.pid
        if found is not Found.NOTHING:
            raise _refusal(found, port)
        if process.poll() is not None:
            said = _last_line(path, offset) or f"exit status {process.returncode}"
            raise EngineStartFailed(reason=said.removeprefix("drayman: error: "))
        time.sleep(0.1)
    if window:
        reason = (
            f"the window started, but its RPC does not answer on port {port}: in its "
            "File → Settings…, tick “Let browser extensions and aria2 tools add downloads” "
            f"with port {port}"
        )
    else:
        reason = f"it did not answer on port {port} within {START_TIMEOUT:g} s (see {path})"
    raise EngineStartFailed(reason=reason)


def answer(message: Any, db: str | None) -> dict[str, Any]:
    if not isinstance(message, dict) or message.get("command") not in ("info", "start"):
        return {"ok": False, "error": 'unknown request: send {"command": "info" or "start"}'}
    port = message.get("port", DEFAULT_PORT)
    if isinstance(port, str) and port.isdigit():
        port = int(port)
    if not isinstance(port, int) or isinstance(port, bool) or not 0 < port < 65536:
        return {"ok": False, "error": f"not a port: {port!r}"}
    try:
        secret, _ = load_or_create_secret()
        found = probe(port, secret)
        started = None
        if message["command"] == "start" and found is not Found.DRAYMAN:
            if found is not Found.NOTHING:
                raise _refusal(found, port)
            started = start(port, secret, bool(message.get("window")), db)
            found = Found.DRAYMAN
    except DraymanError as exc:
        return {"ok": False, "error": str(exc)}
    except OSError as exc:
        return {"ok": False, "error": f"drayman could not be started for the browser: {exc}"}
    result: dict[str, Any] = {
        "ok": True,
        "port": port,
        "secret": secret,
        "running": found is Found.DRAYMAN,
        "started": started is not None,
        "version": __version__,
    }
    if started is not None:
        result["pid"] = started
    return result


def serve(argv: list[str], db: str | None, stdin: BinaryIO, stdout: BinaryIO) -> int:
    """Answer the browser's messages until it closes the pipe; the exit status."""
    if not caller_allowed(argv):
        caller = argv[1] if len(argv) >= 2 and not argv[1].startswith("--") else argv[:1]
        print(
            f"drayman: error: native-host answers drayman's extension only, not {caller}",
            file=sys.stderr,
        )
        return 2
    while True:
        try:
            message = read_message(stdin)
        except ProtocolError as exc:
            write_message(stdout, {"ok": False, "error": str(exc)})
            return 2
        if message is None:
            return 0
        write_message(stdout, answer(message, db))


def main(argv: list[str], db: str | None) -> int:
    from drayman.nativehost.protocol import binary_stdio

    stdin, stdout = binary_stdio()
    # stdout is the browser's channel: anything printed by mistake would break it
    sys.stdout = sys.stderr
    try:
        return serve(argv, db, stdin, stdout)
    except BrokenPipeError:
        return 0
