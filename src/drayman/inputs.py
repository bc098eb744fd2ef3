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


def validate_sha256(text: str) -> str:
    if not _SHA256.match(text.strip()):
        raise InvalidChecksum(text=text)
    return text.strip().lower()


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
