"""Folders by file type: the category table, and which category a file is in.

A job added without a folder or a template (``drayman add URL``, the
window's Add dialog left at the default folder) is *sorted*: once the
server's answer tells its real name, the file goes to its category's
subfolder of the download folder (``Video/``, ``Archives/``). The table
says which extensions and Content-Types make each category; the last one,
``Other``, takes everything else. No I/O here: the table is stored as JSON
in the database's settings (see :mod:`drayman.queue.jobqueue`).
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace

from drayman.errors import BadInput
from drayman.names import sanitize_filename

#: the settings key of the table (JSON) and of the switch ("1"/"0")
TABLE_SETTING = "categories"
ENABLED_SETTING = "categories_enabled"
#: the category that takes every file no other one does; it cannot be removed
OTHER = "Other"
#: an extension: letters, digits, and inner dots (``tar.gz``)
_EXTENSION = re.compile(r"^[a-z0-9][a-z0-9+_-]*(\.[a-z0-9+_-]+)*$")
#: a Content-Type pattern: ``video/mp4``, ``video/*``, ``application/vnd.ms-*``
_CONTENT_TYPE = re.compile(r"^[a-z0-9*][a-z0-9!#$&^_.+*-]*/[a-z0-9!#$&^_.+*-]+$")
#: at most this many levels below the download folder
MAX_DEPTH = 4


class InvalidCategory(BadInput):
    """category {name!r}: {reason}"""


@dataclass(frozen=True, slots=True)
class Category:
    name: str
    #: below the download folder, levels joined by "/"; "" is the download folder itself
    folder: str
    #: lower case, without the leading dot (``mp4``, ``tar.gz``)
    extensions: tuple[str, ...] = ()
    #: lower case, ``*`` matches any run of characters (``video/*``)
    content_types: tuple[str, ...] = ()

    @property
    def parts(self) -> list[str]:
        """The folder's levels, for ``os.path.join(download_folder, *parts)``."""
        return [part for part in self.folder.split("/") if part]


def _category(name: str, folder: str, extensions: str, content_types: str = "") -> Category:
    return Category(name, folder, tuple(extensions.split()), tuple(content_types.split()))


DEFAULTS: tuple[Category, ...] = (
    _category(
        "Video",
        "Video",
        "mp4 m4v mkv webm avi mov wmv flv mpg mpeg m2ts mts ts 3gp ogv vob",
        "video/* application/x-mpegurl",
    ),
    _category(
        "Audio",
        "Audio",
        "mp3 m4a m4b aac flac wav ogg oga opus wma aif aiff ape alac mka mid midi",
        "audio/*",
    ),
    _category(
        "Documents",
        "Documents",
        "pdf doc docx xls xlsx ppt pptx odt ods odp rtf txt md csv epub mobi azw3 djvu "
        "tex pages numbers key",
        "application/pdf application/msword application/vnd.ms-* "
        "application/vnd.openxmlformats-officedocument.* application/vnd.oasis.opendocument.* "
        "application/rtf application/epub+zip text/plain text/csv text/markdown",
    ),
    _category(
        "Archives",
        "Archives",
        "zip rar 7z tar gz tgz bz2 tbz2 xz txz zst lz lzma z cab "
        "tar.gz tar.bz2 tar.xz tar.zst tar.lz tar.z",
        "application/zip application/x-zip-compressed application/vnd.rar "
        "application/x-rar-compressed application/x-7z-compressed application/gzip "
        "application/x-gzip application/x-tar application/x-bzip2 application/x-xz "
        "application/zstd",
    ),
    _category(
        "Programs",
        "Programs",
        "exe msi msix appx apk xapk deb rpm dmg pkg appimage flatpak snap iso img jar",
        "application/x-msdownload application/x-msi application/x-ms-installer "
        "application/vnd.microsoft.portable-executable application/vnd.android.package-archive "
        "application/x-debian-package application/vnd.debian.binary-package application/x-rpm "
        "application/x-apple-diskimage application/x-iso9660-image application/java-archive",
    ),
    _category(
        "Images",
        "Images",
        "jpg jpeg png gif webp avif heic heif bmp tif tiff svg ico psd raw cr2 nef dng",
        "image/*",
    ),
    _category(OTHER, OTHER, ""),
)


@dataclass(frozen=True, slots=True)
class Categories:
    """Whether sorting is on, and the table (``Other`` last)."""

    enabled: bool = True
    table: tuple[Category, ...] = DEFAULTS

    def named(self, name: str) -> Category | None:
        wanted = name.casefold()
        return next((c for c in self.table if c.name.casefold() == wanted), None)


def _suffixes(file_name: str) -> list[str]:
    """``a.tar.gz`` -> ``["tar.gz", "gz"]``: the longer one first (at most two dots)."""
    pieces = file_name.lower().split(".")[1:]
    if not pieces or not file_name.strip(".").count("."):
        return []
    return [".".join(pieces[-2:]), pieces[-1]] if len(pieces) >= 2 else [pieces[-1]]


def decide(categories: Categories, file_name: str, content_type: str | None) -> Category:
    """The category of ``file_name``: by its extension, else by the answer's
    Content-Type, else :data:`OTHER` (the table's last entry)."""
    table = categories.table
    for suffix in _suffixes(file_name):
        for category in table:
            if suffix in category.extensions:
                return category
    media = (content_type or "").split(";")[0].strip().lower()
    # a server that does not know says octet-stream: that tells nothing
    if media and media != "application/octet-stream":
        for category in table:
            if any(fnmatch.fnmatchcase(media, pattern) for pattern in category.content_types):
                return category
    return categories.named(OTHER) or table[-1]


# -- checking what a user types ----------------------------------------------------------


def check_name(name: str) -> str:
    text = name.strip()
    if not text or len(text) > 64 or any(ch in text for ch in "\r\n\t"):
        raise InvalidCategory(name=name, reason="a name is 1 to 64 characters on one line")
    return text


def check_folder(name: str, folder: str) -> str:
    """One or more plain folder names below the download folder ("" for the folder itself).

    Every level must be a name every OS accepts as it is; nothing may climb
    out (``..``) or start elsewhere (``/x``, ``C:\\x``).
    """
    text = folder.strip().replace("\\", "/")
    if text in ("", ".", "./"):
        return ""
    if text.startswith("/") or re.match(r"^[A-Za-z]:", text):
        raise InvalidCategory(name=name, reason=f"{folder!r} is not inside the download folder")
    parts = [part for part in text.split("/") if part]
    if len(parts) > MAX_DEPTH:
        raise InvalidCategory(name=name, reason=f"at most {MAX_DEPTH} levels of folders")
    for part in parts:
        if part in (".", "..") or sanitize_filename(part) != part:
            raise InvalidCategory(
                name=name, reason=f"{part!r} is not a folder name every system accepts"
            )
    return "/".join(parts)


def check_extensions(name: str, items: Iterable[str]) -> tuple[str, ...]:
    checked: list[str] = []
    for item in items:
        ext = item.strip().lower().lstrip(".")
        if not ext:
            continue
        if not _EXTENSION.match(ext):
            raise InvalidCategory(name=name, reason=f"{item.strip()!r} is not a file extension")
        if ext not in checked:
            checked.append(ext)
    return tuple(checked)


def check_content_types(name: str, items: Iterable[str]) -> tuple[str, ...]:
    checked: list[str] = []
    for item in items:
        media = item.strip().lower()
        if not media:
            continue
        if not _CONTENT_TYPE.match(media):
            raise InvalidCategory(
                name=name, reason=f"{item.strip()!r} is not a Content-Type (video/mp4, video/*)"
            )
        if media not in checked:
            checked.append(media)
    return tuple(checked)


def split_list(text: str) -> list[str]:
    """``"mp4, mkv webm"`` -> ``["mp4", "mkv", "webm"]`` (commas or spaces)."""
    return [item for item in re.split(r"[\s,]+", text) if item]


def check_table(table: Sequence[Category]) -> tuple[Category, ...]:
    """The table as stored: every entry checked, names unique, :data:`OTHER` last."""
    checked: list[Category] = []
    seen: set[str] = set()
    for category in table:
        name = check_name(category.name)
        if name.casefold() in seen:
            raise InvalidCategory(name=name, reason="two categories have this name")
        seen.add(name.casefold())
        checked.append(
            Category(
                name,
                check_folder(name, category.folder),
                check_extensions(name, category.extensions),
                check_content_types(name, category.content_types),
            )
        )
    others = [c for c in checked if c.name.casefold() == OTHER.casefold()]
    rest = [c for c in checked if c.name.casefold() != OTHER.casefold()]
    other = replace(others[0], name=OTHER) if others else DEFAULTS[-1]
    return (*rest, other)


def with_category(
    categories: Categories,
    name: str,
    *,
    folder: str | None = None,
    extensions: Sequence[str] | None = None,
    content_types: Sequence[str] | None = None,
) -> Categories:
    """The table with ``name`` changed (or added before Other); only what is given changes."""
    name = check_name(name)
    current = categories.named(name)
    if current is None:
        current = Category(name, name if folder is None else "")
    changed = Category(
        current.name,
        check_folder(name, folder) if folder is not None else current.folder,
        check_extensions(name, extensions) if extensions is not None else current.extensions,
        check_content_types(name, content_types)
        if content_types is not None
        else current.content_types,
    )
    # an extension or a type given here leaves the category that had it
    others = [
        Category(
            c.name,
            c.folder,
            tuple(e for e in c.extensions if e not in changed.extensions or extensions is None),
            tuple(
                t
                for t in c.content_types
                if t not in changed.content_types or content_types is None
            ),
        )
        if c.name != current.name
        else changed
        for c in categories.table
    ]
    is_new = categories.named(name) is None
    table = [*others[:-1], changed, others[-1]] if is_new else others
    return replace(categories, table=check_table(table))


def without_category(categories: Categories, name: str) -> Categories:
    found = categories.named(name)
    if found is None:
        raise InvalidCategory(name=name, reason="no such category")
    if found.name == OTHER:
        raise InvalidCategory(name=name, reason="Other takes every file no category takes")
    return replace(categories, table=tuple(c for c in categories.table if c is not found))


# -- stored form ---------------------------------------------------------------------------


def dumps(table: Sequence[Category]) -> str:
    return json.dumps(
        [
            {
                "name": c.name,
                "folder": c.folder,
                "extensions": list(c.extensions),
                "content_types": list(c.content_types),
            }
            for c in table
        ],
        ensure_ascii=False,
    )


def loads(text: str) -> tuple[Category, ...]:
    """The stored table; :class:`InvalidCategory` (a BadInput) if it was hand-edited wrong."""
    try:
        raw = json.loads(text)
    except ValueError as exc:
        raise InvalidCategory(name="*", reason=f"the stored table is not JSON: {exc}") from None
    if not isinstance(raw, list):
        raise InvalidCategory(name="*", reason="the stored table is not a list")
    table = []
    for item in raw:
        if not isinstance(item, dict):
            raise InvalidCategory(name="*", reason="an entry of the stored table is not an object")
        name = str(item.get("name", ""))
        extensions, types = item.get("extensions", []), item.get("content_types", [])
        if not isinstance(extensions, list) or not isinstance(types, list):
            raise InvalidCategory(name=name, reason="extensions and content_types are lists")
        table.append(
            Category(
                name,
                str(item.get("folder", "")),
                tuple(str(e) for e in extensions),
                tuple(str(t) for t in types),
            )
        )
    return check_table(table)


def from_settings(enabled: str | None, table: str | None) -> Categories:
    """From the two settings as stored (None: never set, the defaults)."""
    return Categories(
        enabled=enabled != "0",
        table=DEFAULTS if table is None else loads(table),
    )
