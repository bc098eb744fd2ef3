"""What file systems accept as a name: a second opinion for the name properties.

Written from the documented rules of NTFS (Windows), ext4, APFS and HFS+
(macOS), independently of ``drayman.names``, so a property checked against
it does not only check the sanitizer against itself.
"""

from __future__ import annotations

import unicodedata

__all__ = ["WINDOWS_DEVICES", "hfs_units", "refused_somewhere", "utf8_len"]


def utf8_len(text: str) -> int:
    return len(text.encode("utf-8", "surrogatepass"))


def hfs_units(text: str) -> int:
    """UTF-16 units once decomposed, as HFS+ stores a name (at most 255)."""
    return len(unicodedata.normalize("NFD", text).encode("utf-16-le", "surrogatepass")) // 2


#: Windows' device names, from its documentation ("Naming Files, Paths, and
#: Namespaces"), written out here rather than taken from drayman.names
WINDOWS_DEVICES = {"CON", "PRN", "AUX", "NUL"} | {
    f"{port}{digit}" for port in ("COM", "LPT") for digit in "0123456789¹²³"
}


def refused_somewhere(name: str) -> str | None:
    """Why Windows, macOS or Linux would refuse ``name`` as a file name, or None.

    A second opinion, independent of ``is_valid_windows_name``: the rules as
    the file systems document them (NTFS, ext4 and APFS, HFS+).
    """
    if name in ("", ".", ".."):
        return "empty, . or .."
    forbidden = [c for c in name if c in '<>:"/\\|?*' or ord(c) < 32]
    if forbidden:
        return f"the character {forbidden[0]!r}"
    if any("\ud800" <= c <= "\udfff" for c in name):
        return "a lone surrogate (no encoding can store it)"
    if name[-1] in ". ":
        return "a trailing dot or space (Windows drops them)"
    if name.split(".")[0].rstrip(" ").upper() in WINDOWS_DEVICES:
        return "a Windows device name, whatever the extension"
    if len(name.encode("utf-16-le")) // 2 > 255:
        return "more than 255 UTF-16 units (NTFS)"
    if utf8_len(name) > 255:
        return "more than 255 bytes of UTF-8 (ext4, APFS)"
    if hfs_units(name) > 255:
        return "more than 255 UTF-16 units decomposed (HFS+)"
    return None
