"""Talking to ``drayman native-host`` as a browser does: a real subprocess, framed JSON."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import struct
import subprocess
import sys
from pathlib import Path
from typing import Any

from drayman.nativehost import CHROMIUM_EXTENSION_ID

CHROMIUM_CALLER = [f"chrome-extension://{CHROMIUM_EXTENSION_ID}/"]


def frame(message: Any) -> bytes:
    body = json.dumps(message).encode("utf-8")
    return struct.pack("=I", len(body)) + body


def unframe(data: bytes) -> list[Any]:
    """Every message in a host's whole output; fails on a torn one."""
    messages = []
    while data:
        assert len(data) >= 4, f"a torn length: {data!r}"
        (length,) = struct.unpack("=I", data[:4])
        assert len(data) >= 4 + length, f"a torn message: {data!r}"
        messages.append(json.loads(data[4 : 4 + length].decode("utf-8")))
        data = data[4 + length :]
    return messages


def talk(
    command: list[str], raw: bytes, env: dict[str, str], timeout: float = 90
) -> tuple[int, list[Any], str]:
    """Run a native host, send it ``raw`` and close its stdin, as the browser does:
    its exit status, its messages and its stderr."""
    done = subprocess.run(command, input=raw, capture_output=True, env=env, timeout=timeout)
    return done.returncode, unframe(done.stdout), done.stderr.decode("utf-8", "replace")


def host_command(*caller: str, db: Path | None = None) -> list[str]:
    return [
        sys.executable,
        "-m",
        "drayman",
        *(["--db", str(db)] if db else []),
        "native-host",
        *caller,
    ]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def host_env(tmp_path: Path, db: Path) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PYTHONWARNINGS", None)
    env["DRAYMAN_DB"] = str(db)
    env["DRAYMAN_CONFIG_DIR"] = str(tmp_path / "config")
    env["PYTHONPATH"] = str(Path("src").resolve())
    return env


def kill_started(pid: int | None) -> None:
    """End an engine a test's native host started (by its pid), if it still runs."""
    if pid:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.kill(pid, signal.SIGTERM)
