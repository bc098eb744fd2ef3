"""File names that are safe on Windows, macOS and Linux alike.

The rules are Windows' (the strictest) applied on every OS, so a queue moved
between machines, or a folder synced to a Windows share, never holds a name
one of them cannot open. No I/O here: callers say what is taken.
"""

from __future__ import annotations

import functools
import mimetypes
import os
import re
import unicodedata
from collections.abc import Callable
from pathlib import Path
from urllib.parse import unquote, urlsplit

from drayman.errors import InvalidName
from drayman.headers import parse_content_disposition_filename

FALLBACK_NAME = "download"
DEFAULT_MAX_BYTES = 200
#: the most any file system takes (ext4, APFS: 255 bytes of UTF-8)
MAX_NAME_BYTES = 255
#: HFS+ (older Macs, many external drives) stores names decomposed (NFD), at
#: most 255 UTF-16 units of that: "Ǖ" is 2 bytes of UTF-8 but 3 units there
MAX_UTF16_UNITS = 255
_FORBIDDEN = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
_RESERVED = re.compile(
    r"^(CON|PRN|AUX|NUL|CONIN\$|CONOUT\$|COM[0-9¹²³]|LPT[0-9¹²³])(\..*)?$", re.IGNORECASE
)
_DOUBLE_EXTENSIONS = (".tar.gz", ".tar.bz2", ".tar.xz", ".tar.zst", ".tar.lz", ".tar.z")


def _split_extension(name: str) -> tuple[str, str]:
    lowered = name.lower()
    for ext in _DOUBLE_EXTENSIONS:
        if lowered.endswith(ext) and len(name) > len(ext):
            return name[: -len(ext)], name[-len(ext) :]
    stem, ext = os.path.splitext(name)
    if not stem or len(ext) > 16 or " " in ext:
        return name, ""
    return stem, ext


def _cut_to_bytes(text: str, limit: int) -> str:
    encoded = text.encode("utf-8")
    if len(encoded) <= limit:
        return text
    return encoded[:limit].decode("utf-8", errors="ignore")


def _fits(name: str, max_bytes: int) -> bool:
    """Within ``max_bytes`` of UTF-8, and 255 UTF-16 units even when decomposed."""
    if len(name.encode("utf-8")) > max_bytes:
        return False
    decomposed = unicodedata.normalize("NFD", name)
    return len(decomposed.encode("utf-16-le", "surrogatepass")) // 2 <= MAX_UTF16_UNITS


def _shrink(stem: str, tail: str, max_bytes: int, *, keep: int = 0) -> str:
    """Cut ``stem`` (to no fewer than ``keep`` characters) until ``stem + tail`` fits."""
    stem = _cut_to_bytes(stem, max(max_bytes - len(tail.encode("utf-8")), keep))
    while len(stem) > keep and not _fits(stem + tail, max_bytes):
        stem = stem[:-1]
    return stem


def _trim(text: str) -> str:
    """No whitespace at either end, no dot at the end (Windows drops trailing dots and spaces)."""
    text = text.lstrip()
    while text and (text[-1] == "." or text[-1].isspace()):
        text = text[:-1]
    return text


def _is_reserved(name: str) -> bool:
    """A Windows device name, alone or before any extension (``con``, ``NUL .tar.gz``)."""
    return bool(_RESERVED.match(name) or _RESERVED.match(name.split(".")[0].rstrip(" ")))


def _fit(name: str, max_bytes: int) -> str:
    """Shorten the stem (keeping the extension) until the name fits (see :func:`_fits`)."""
    if _fits(name, max_bytes):
        return name
    stem, ext = _split_extension(name)
    if len(ext.encode("utf-8")) > max_bytes // 2:
        stem, ext = name, ""
    return (_trim(_shrink(stem, ext, max_bytes)) or "_") + ext


def _sanitize_once(name: str, max_bytes: int) -> str:
    text = unicodedata.normalize("NFC", name)
    # only the last component: "../../x" and "C:\\x" both become "x"
    text = re.split(r"[/\\]", text)[-1]
    # lone surrogates cannot be encoded on any file system: "?" (then "_")
    text = text.encode("utf-8", errors="replace").decode("utf-8")
    text = _FORBIDDEN.sub("_", text)
    text = _trim(text)
    if text in ("", ".", ".."):
        text = FALLBACK_NAME
    if _is_reserved(text):
        text = "_" + text
    text = _trim(_fit(text, max_bytes)) or _fit(FALLBACK_NAME, max_bytes)
    if _is_reserved(text):
        text = _fit("_" + text, max_bytes)
    return text


# a download's name is worked out from its URL before the request and again from
# the answer, and each sanitized: remembered, a batch of small files does it once
@functools.lru_cache(maxsize=4096)
def sanitize_filename(name: str, *, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """One path component, valid on every OS, at most ``max_bytes`` of UTF-8
    (and 255 UTF-16 units, decomposed as HFS+ stores it).

    Deterministic and idempotent: ``sanitize_filename(sanitize_filename(x)) ==
    sanitize_filename(x)``.
    """
    if max_bytes < 1:
        raise ValueError(f"max_bytes must be at least 1, not {max_bytes}")
    text = _sanitize_once(name, max_bytes)
    # cutting or prefixing can, rarely, expose something a second pass changes
    # (a stem cut before a combining mark, say); repeat until nothing moves
    for _ in range(4):
        again = _sanitize_once(text, max_bytes)
        if again == text:
            break
        text = again
    return text


def is_valid_windows_name(name: str) -> bool:
    """Whether Windows (and so every OS) accepts ``name`` as a file name as it is."""
    if not name or name in (".", ".."):
        return False
    if _FORBIDDEN.search(name) or name[-1] in ". " or name != name.strip():
        return False
    if _is_reserved(name):
        return False
    return len(name.encode("utf-16-le")) // 2 <= 255


@functools.lru_cache(maxsize=4096)
def filename_from_url(url: str) -> str | None:
    """The URL's last path segment, percent-decoded; None for ``/``, ``/dir/``, ``..``."""
    try:
        path = urlsplit(url).path
    except ValueError:
        return None
    segment = path.rsplit("/", 1)[-1]
    if not segment:
        return None
    name = unquote(segment, errors="replace")
    return name if name and name not in (".", "..") else None


#: stands for {ext} in a stored name template until the server has answered
#: (a private-use character: no value can contain it, see _value)
EXT_MARK = "\ue000ext\ue000"


def finish_name(name_template: str, ext: str) -> str:
    """The file name once ``ext`` is known (no leading dot; may be empty)."""
    ext = ext.lstrip(".")
    text = name_template.replace(EXT_MARK, ext)
    if not ext:
        text = text.replace("..", ".").rstrip(".")
    return sanitize_filename(text)


def guess_extension(*, content_disposition: str | None, url: str, content_type: str | None) -> str:
    """``mp4``-style extension from Content-Disposition, the URL, or Content-Type."""
    for candidate in (
        parse_content_disposition_filename(content_disposition) if content_disposition else None,
        filename_from_url(url),
    ):
        if candidate:
            ext = _split_extension(sanitize_filename(candidate))[1]
            if ext:
                return ext.lstrip(".")
    if content_type:
        guessed = mimetypes.guess_extension(content_type.split(";")[0].strip())
        if guessed:
            return guessed.lstrip(".")
    return ""


def pick_filename(
    *,
    requested: str | None,
    content_disposition: str | None,
    url: str,
    content_type: str | None = None,
    template: str | None = None,
) -> str:
    """The first of: ``-o``, a name template, Content-Disposition, the URL path, a fallback."""
    if template is not None and not requested:
        ext = guess_extension(
            content_disposition=content_disposition, url=url, content_type=content_type
        )
        return finish_name(template, ext)
    for candidate in (
        requested,
        parse_content_disposition_filename(content_disposition) if content_disposition else None,
        filename_from_url(url),
    ):
        if candidate and candidate.strip(" ./\\"):
            return sanitize_filename(candidate)
    extension = ""
    if content_type:
        extension = mimetypes.guess_extension(content_type.split(";")[0].strip()) or ""
    return sanitize_filename(fallback_stem(url) + extension)


def fallback_stem(url: str) -> str:
    """A name for a URL that ends in ``/``: its last folder, else its host
    (``http://h/docs/`` -> ``docs``, ``https://example.org/`` -> ``example.org``),
    never the same ``download.html`` for every site."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return FALLBACK_NAME
    for segment in reversed(parts.path.split("/")):
        name = unquote(segment, errors="replace")
        if name.strip(" ./\\"):
            return name
    return parts.hostname or FALLBACK_NAME


def with_counter(name: str, n: int, *, max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    """``movie.mp4``, 1 -> ``movie (1).mp4`` (``archive (1).tar.gz``; ``.bashrc (1)``)."""
    stem, ext = _split_extension(sanitize_filename(name, max_bytes=max_bytes))
    suffix = f" ({n})"
    # cut the stem, not the counter: the counter is what makes the name free
    stem = _shrink(stem, suffix + ext, max_bytes, keep=1)
    return sanitize_filename(stem + suffix + ext, max_bytes=max_bytes)


def next_free_name(name: str, is_taken: Callable[[str], bool], *, limit: int = 10_000) -> str:
    """``name`` if it is free, else the first free ``with_counter(name, n)`` for n = 1..limit."""
    if not is_taken(name):
        return name
    for n in range(1, limit + 1):
        candidate = with_counter(name, n)
        if not is_taken(candidate):
            return candidate
    raise InvalidName(reason=f"no free name after {limit} tries", name=name)


def safe_join(folder: str | os.PathLike[str], name: str) -> Path:
    """``folder/name``, refusing anything that would not land directly in ``folder``,
    or that some OS could not store (more than 255 bytes, say)."""
    base = Path(folder)
    if name != sanitize_filename(name, max_bytes=MAX_NAME_BYTES):
        raise InvalidName(reason="not a safe file name", name=name)
    joined = base / name
    if joined.parent != base or name in (".", ".."):
        raise InvalidName(reason="the name leaves the folder", name=name)
    return joined
