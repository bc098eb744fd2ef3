"""Byte counts as people read them (1024-based, like the RATE suffixes)."""

from __future__ import annotations

import re

from drayman.errors import InvalidSize

#: like a RATE (drayman.queue.ratelimit), without the "/s"
_SIZE = re.compile(r"(\d+(?:\.\d+)?)\s*([kKmMgG]?)(?:i?[bB])?")
_UNITS = {"": 1, "k": 1024, "m": 1024**2, "g": 1024**3}


def parse_size(text: str) -> int:
    """``"500M"`` -> 524288000 bytes. Suffixes k, M, G are 1024-based; at least 1 byte."""
    match = _SIZE.fullmatch(text.strip())
    if not match:
        raise InvalidSize(text=text)
    value = int(float(match.group(1)) * _UNITS[match.group(2).lower()])
    if not 1 <= value < 2**63:
        raise InvalidSize(text=text)
    return value


def human_size(n: float | None) -> str:
    """``1536`` -> ``"1.5 KiB"``; None (unknown) -> ``"?"``."""
    if n is None:
        return "?"
    value = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(value) < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def human_duration(seconds: float | None, unknown: str = "") -> str:
    """``75`` -> ``"1:15"``, ``3725`` -> ``"1:02:05"``; None -> ``unknown``."""
    if seconds is None:
        return unknown
    whole = int(seconds)
    hours, rest = divmod(whole, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"
