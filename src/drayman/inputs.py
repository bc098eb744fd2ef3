"""Checks of what a user types: checksums, file names, folders, headers."""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path

from drayman.errors import BadInput, InvalidChecksum, InvalidName
from drayman.headers import parse_request_header
from drayman.names import sanitize_filename

_SHA256 = re.compile(r"^[0-9a-fA-F]{64}$")
_SHA256_PREFIX = re.compile(r"^sha-?256\s*[:=]\s*", re.IGNORECASE)


def validate_sha256(text: str) -> str:
    """64 hex digits, as given or in the forms checksum files and sites write
    (``sha256:HEX``, ``SHA256=HEX``, ``sha-256:HEX``)."""
    digest = _SHA256_PREFIX.sub("", text.strip())
    if not _SHA256.match(digest):
        raise InvalidChecksum(text=text)
    return digest.lower()


def validate_name(name: str) -> str:
    """A name given with ``-o``: one plain file name, made safe for every OS."""
    stripped = name.strip()
    if not stripped or stripped in {".", ".."} or "/" in stripped or "\\" in stripped:
        raise InvalidName(reason="give a file name, not a path (use -d for the folder)", name=name)
    return sanitize_filename(stripped)


def validate_folder(folder: str | os.PathLike[str]) -> str:
    path = Path(folder).expanduser()
    path = path.absolute()
    if path.exists() and not path.is_dir():
        raise BadInput(f"not a folder: {os.fspath(path)}")
    return os.path.normpath(os.fspath(path))


def check_writable_folder(folder: str | os.PathLike[str]) -> str:
    """``folder`` (absolute), or :class:`BadInput` when files cannot be made there.

    A folder that does not exist yet is judged by the nearest one that does
    (drayman creates the rest). Disk I/O: call it off the window's thread.
    """
    path = Path(validate_folder(folder))
    existing = path
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if not existing.is_dir():
        raise BadInput(f"not a folder: {os.fspath(existing)}")
    # access() says EROFS for a read-only file system, even to root
    if not os.access(existing, os.W_OK | os.X_OK):
        raise BadInput(f"cannot save files in {os.fspath(path)}: permission denied or read-only")
    return os.fspath(path)


def parse_headers(headers: Iterable[str | tuple[str, str]]) -> tuple[tuple[str, str], ...]:
    parsed = []
    for header in headers:
        if isinstance(header, str):
            parsed.append(parse_request_header(header))
        else:
            parsed.append(parse_request_header(f"{header[0]}: {header[1]}"))
    return tuple(parsed)


def default_download_dir() -> str:
    """The user's Downloads folder (platformdirs), where jobs go unless told otherwise."""
    import platformdirs

    return platformdirs.user_downloads_dir()
