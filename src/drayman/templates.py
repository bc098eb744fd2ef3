"""Name templates: ``{author}/{title}.{ext}`` -> a subfolder and a file name.

Every expanded part is sanitized like any other name, and a value can never
add a path level (a ``/`` inside a title stays inside one name), so a
template cannot leave the destination folder. ``{ext}`` is filled in when
the server has answered, from Content-Disposition, the URL or Content-Type.
"""

from __future__ import annotations

import os
import re
import string
from collections.abc import Mapping

from drayman.errors import BadInput
from drayman.names import EXT_MARK, finish_name, sanitize_filename

__all__ = ["FIELDS", "InvalidTemplate", "check_template", "finish_name", "split_template"]

FIELDS = ("title", "author", "name", "ext", "host", "date", "index", "playlist")
_SEPARATORS = re.compile(r"[/\\]")
_FORMATTER = string.Formatter()


class InvalidTemplate(BadInput):
    """{reason}: {template!r}"""


def check_template(template: str) -> None:
    """Refuse unknown fields, format tricks and path escapes before anything is added."""
    if not template.strip():
        raise InvalidTemplate(reason="the template is empty", template=template)
    if template.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", template):
        raise InvalidTemplate(reason="a template must be relative to the folder", template=template)
    parts = _SEPARATORS.split(template)
    if any(part.strip() in ("", ".", "..") for part in parts):
        raise InvalidTemplate(reason="empty, '.' or '..' path parts", template=template)
    try:
        parsed = list(_FORMATTER.parse(template))
    except ValueError as exc:
        raise InvalidTemplate(reason=f"bad braces ({exc})", template=template) from None
    for _, field, spec, conversion in parsed:
        if field is None:
            continue
        if field not in FIELDS:
            known = ", ".join("{" + f + "}" for f in FIELDS)
            raise InvalidTemplate(
                reason=f"unknown field {{{field}}} (known: {known})", template=template
            )
        if spec or conversion:
            raise InvalidTemplate(reason="fields take no format or conversion", template=template)
    if "{ext}" in "/".join(parts[:-1]):
        raise InvalidTemplate(reason="{ext} may only appear in the file name", template=template)


def _value(text: str) -> str:
    """A field value: one name part, whatever it contains."""
    return _SEPARATORS.sub("_", text.replace("\ue000", "")).strip()


def split_template(template: str, values: Mapping[str, str]) -> tuple[list[str], str]:
    """Expand every field but ``{ext}``: (sanitized subfolders, file-name template).

    A folder level whose fields are all empty is left out: ``{author}/`` for
    an entry without an author files it in the folder itself, never in a
    made-up "unknown" or "_" folder.
    """
    check_template(template)
    filled = {field: _value(values.get(field) or "") for field in FIELDS if field != "ext"}
    filled["ext"] = EXT_MARK
    parts = _SEPARATORS.split(template)
    folders = [
        sanitize_filename(_FORMATTER.vformat(part, (), filled))
        for part in parts[:-1]
        if not _all_empty(part, filled)
    ]
    file_part = parts[-1]
    if "{ext}" not in file_part and not _LITERAL_EXT.search(file_part):
        # "{host}/{name}" means the file's name, extension included: a file
        # without one opens with nothing. An extension written out stays as it is
        file_part += ".{ext}"
    return folders, _FORMATTER.vformat(file_part, (), filled)


#: a file-name part that ends in an extension of its own ("{title}.mp4")
_LITERAL_EXT = re.compile(r"\.[A-Za-z0-9]{1,8}$")


def _all_empty(part: str, filled: Mapping[str, str]) -> bool:
    """Whether ``part`` has fields and every one of them is empty."""
    names = [field for _, field, _, _ in _FORMATTER.parse(part) if field is not None]
    return bool(names) and not any(filled[name] for name in names)


def folder_for(base: str, subfolders: list[str]) -> str:
    """``base`` joined with already-sanitized parts (each a single component)."""
    return os.path.join(base, *subfolders) if subfolders else base
