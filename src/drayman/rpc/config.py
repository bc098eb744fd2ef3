"""What the RPC server is told: where to listen, the secret, what it lets in."""

from __future__ import annotations

from dataclasses import dataclass, field

#: aria2's default port, the one browser extensions and AriaNg try first
DEFAULT_PORT = 6800
#: the largest request body (or WebSocket message) read; aria2 clients send
#: a few kilobytes, a multicall of a thousand URLs a few hundred
MAX_BODY = 2 * 1024 * 1024


@dataclass(frozen=True)
class RpcConfig:
    """``drayman run --rpc-listen-port PORT [--rpc-secret S] [--rpc-listen-all]``."""

    #: 0: any free port (the server says which)
    port: int = DEFAULT_PORT
    #: every request's first parameter must be ``token:`` + this
    secret: str = field(default="", repr=False)  # never in a log or a traceback
    #: listen on every interface, not only 127.0.0.1 (an explicit choice)
    listen_all: bool = False
    #: web origins whose pages may call the RPC (CORS), e.g. a hosted AriaNg;
    #: the server's own origin always may
    allowed_origins: tuple[str, ...] = ()
    #: browser extensions (chrome-extension://, moz-extension://...) may call it
    allow_extensions: bool = True
    #: folders a client's ``dir`` may name (with their subfolders), besides
    #: ``default_dir`` and the folders of per-host rules
    allowed_dirs: tuple[str, ...] = ()
    #: where jobs go without ``dir`` (None: rules, else Downloads, as `add`)
    default_dir: str | None = None
    max_body: int = MAX_BODY
    #: seconds before answering a wrong secret, as aria2 (slows guessing)
    auth_delay: float = 1.0
    #: how often to look for job changes made by other processes
    poll_interval: float = 0.5
