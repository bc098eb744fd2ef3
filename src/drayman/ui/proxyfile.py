"""The window's own proxy URL, password and all: in a private file, never in QSettings.

QSettings' file is made under the user's umask, often readable by every user
of the machine; a proxy URL may carry ``user:password@``. So QSettings keeps
only which proxy (the environment's, none, or this one), and this file,
``window-proxy`` in drayman's config folder beside the RPC secret, keeps
the URL, readable by the user only. The window reads and writes it off its
thread (``asyncio.to_thread``), as it does the RPC secret.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from drayman.errors import ProxyLost
from drayman.private import config_path, write_private


def proxy_path() -> Path:
    return config_path("window-proxy")


def read_proxy(path: Path | None = None) -> str:
    """The window's proxy URL, or "" when there is none.

    Raises :class:`ProxyLost` (the file, and what is wrong with it) when the
    file is there but cannot be read: the window must not take that as "none".
    """
    path = path or proxy_path()
    try:
        with open(path, encoding="utf-8") as handle:
            return handle.read().strip()
    except FileNotFoundError:
        return ""
    except UnicodeDecodeError:
        raise ProxyLost(why=f"{path} is not text") from None
    except OSError as exc:
        raise ProxyLost(why=f"{path}: {exc.strerror or type(exc).__name__}") from None


def store_proxy(url: str, path: Path | None = None) -> None:
    """Keep ``url`` as the window's proxy; "" removes the file (no password left behind)."""
    path = path or proxy_path()
    if url:
        write_private(path, url + "\n")
        return
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
