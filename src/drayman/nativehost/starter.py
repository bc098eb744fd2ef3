"""Start drayman (the engine with its RPC, or the window) detached from the browser.

The browser kills its native host when the extension disconnects, and on
Windows it puts the host in a job object that is closed with it; the engine
must outlive both. On POSIX it gets a session of its own; on Windows it is
a detached process that breaks away from the job (when the job allows it).
Its stdin and stdout are not the browser's pipe (the browser would wait on
them); its stderr goes to a log file only the user can read.
"""

from __future__ import annotations

import os
import subprocess
import sys
import sysconfig
from pathlib import Path
from typing import Any

import drayman
from drayman.private import make_private_dirs, open_private


def import_root() -> str | None:
    """The folder drayman is imported from, when Python would not find it by itself
    (a source checkout run with PYTHONPATH): a child must run the same code."""
    root = Path(drayman.__file__).resolve().parent.parent
    paths = sysconfig.get_paths()
    installed = {Path(paths[key]).resolve() for key in ("purelib", "platlib")}
    return None if root in installed else str(root)


def child_environment() -> dict[str, str]:
    env = dict(os.environ)
    root = import_root()
    if root is not None:
        rest = env.get("PYTHONPATH")
        env["PYTHONPATH"] = root + (os.pathsep + rest if rest else "")
    return env


def drayman_command(db: str | None, *args: str) -> list[str]:
    return [sys.executable, "-m", "drayman", *(["--db", db] if db else []), *args]


def start_detached(command: list[str], log_path: Path) -> subprocess.Popen[bytes]:
    make_private_dirs(log_path.parent)
    log_fd = open_private(log_path, os.O_WRONLY | os.O_APPEND)
    kwargs: dict[str, Any] = {
        "stdin": subprocess.DEVNULL,
        "stdout": subprocess.DEVNULL,
        "stderr": log_fd,
        "env": child_environment(),
        "close_fds": True,
    }
    try:
        if sys.platform == "win32":
            flags = subprocess.DETACHED_PROCESS | subprocess.CREATE_NEW_PROCESS_GROUP
            try:
                return subprocess.Popen(
                    command, creationflags=flags | subprocess.CREATE_BREAKAWAY_FROM_JOB, **kwargs
                )
            except PermissionError:  # a job that forbids breaking away
                return subprocess.Popen(command, creationflags=flags, **kwargs)
        return subprocess.Popen(command, start_new_session=True, **kwargs)
    finally:
        os.close(log_fd)
