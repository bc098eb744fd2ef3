"""The RPC secret when none is given: made once, kept in the user's config folder.

Browser extensions and AriaNg are set up once with host, port and secret;
the secret must therefore outlive a run. It is 32 random bytes (URL-safe
base64), in a file only the user can read; ``drayman run`` prints it the
time it is made, the window shows it in its settings.
"""

from __future__ import annotations

import secrets
from pathlib import Path

from drayman.private import config_path, write_private


def secret_path() -> Path:
    return config_path("rpc-secret")


def load_or_create_secret(path: Path | None = None) -> tuple[str, bool]:
    """The stored secret, made first if there is none; and whether it was just made."""
    path = path or secret_path()
    try:
        with open(path, encoding="utf-8") as handle:
            stored = handle.read().strip()
        if stored:
            return stored, False
    except FileNotFoundError:
        pass
    secret = secrets.token_urlsafe(32)
    store_secret(secret, path)
    return secret, True


def store_secret(secret: str, path: Path | None = None) -> None:
    """Keep a secret the user chose (in the window) where ``drayman run`` finds it too."""
    write_private(path or secret_path(), secret + "\n")
