"""The web page at ``/``: drayman's queue in a browser, a client of this RPC.

Plain HTML, CSS and JavaScript packaged with drayman (``drayman/rpc/web``),
nothing from elsewhere: the page talks to ``/jsonrpc`` over a WebSocket with
the secret the user types (kept in the browser's localStorage, never in a
URL). The files are read once, when the server starts. Every answer carries
a Content-Security-Policy that lets the page load and connect to this server
only, and may not be framed (a page of another site cannot put it under the
user's clicks).
"""

from __future__ import annotations

import re
from importlib import resources

from aiohttp import web

#: the path each file is served at, its file in ``drayman/rpc/web`` and its type
FILES: dict[str, tuple[str, str]] = {
    "/": ("index.html", "text/html"),
    "/app.js": ("app.js", "text/javascript"),
    "/app.css": ("app.css", "text/css"),
}


_PLAIN_HOST = re.compile(r"[A-Za-z0-9.\-]+(:[0-9]+)?|\[[0-9A-Fa-f:.]+\](:[0-9]+)?")


def load_files() -> dict[str, tuple[bytes, str]]:
    """The page's files, by path: their bytes and content type (blocking: a thread)."""
    folder = resources.files("drayman.rpc").joinpath("web")
    files = FILES.items()
    return {path: (folder.joinpath(name).read_bytes(), kind) for path, (name, kind) in files}


def security_headers(host: str) -> dict[str, str]:
    """What every answer of the page carries; ``host`` is the request's ``Host``."""
    # 'self' covers ws:// of the same host in current browsers; named too for older
    # ones, when the Host is a plain name or address (never text into the policy)
    sockets = f" ws://{host} wss://{host}" if _PLAIN_HOST.fullmatch(host) else ""
    policy = (
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        f"connect-src 'self'{sockets}; base-uri 'none'; form-action 'none'; "
        "frame-ancestors 'none'"
    )
    return {
        "Content-Security-Policy": policy,
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }


def page_response(files: dict[str, tuple[bytes, str]], request: web.Request) -> web.Response:
    """The file at the request's path, or 404."""
    found = files.get(request.path)
    if found is None:
        return web.Response(status=404, text="Not found", headers=security_headers(request.host))
    body, kind = found
    return web.Response(
        body=body,
        content_type=kind,
        charset="utf-8",
        headers=security_headers(request.host),
    )
