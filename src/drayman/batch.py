"""Batch imports: plain text, JSON (array or JSON Lines) and CSV lists of downloads.

Each entry has a ``url`` and optionally ``title``, ``author``, ``thumbnail``,
``headers`` (an object), ``sha256``, ``folder`` (a subfolder) and ``name``.
Bad entries are reported with where they are and why; the caller decides
whether one bad entry stops the import (the CLI's default) or is skipped.
"""

from __future__ import annotations

import csv
import io
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from drayman.errors import BadInput
from drayman.headers import parse_request_header
from drayman.inputs import validate_name, validate_sha256
from drayman.names import sanitize_filename
from drayman.urls import validate_url

FIELDS = ("url", "title", "author", "thumbnail", "headers", "sha256", "folder", "name")
MAX_TEXT = 1000


@dataclass(frozen=True)
class Entry:
    url: str
    where: str
    title: str | None = None
    author: str | None = None
    thumbnail: str | None = None
    headers: tuple[tuple[str, str], ...] = ()
    sha256: str | None = None
    #: subfolder parts, each already a safe single name
    folder: tuple[str, ...] = ()
    name: str | None = None
    #: from a resolved page (drayman.pages): its playlist's title, the item's
    #: position in it (the template's {playlist} and {index}) and its page
    playlist: str | None = None
    index: int | None = None
    page_url: str | None = None


@dataclass(frozen=True)
class BadEntry:
    where: str
    reason: str

    def __str__(self) -> str:
        return f"{self.where}: {self.reason}"


@dataclass
class ImportResult:
    entries: list[Entry] = field(default_factory=list)
    bad: list[BadEntry] = field(default_factory=list)


def detect_format(source: str, text: str) -> str:
    """By extension, else by the first non-blank character."""
    extension = os.path.splitext(source)[1].lower()
    if extension in (".json", ".jsonl", ".ndjson", ".csv", ".txt"):
        return {".ndjson": "jsonl"}.get(extension, extension[1:])
    head = text.lstrip("\ufeff \t\r\n")[:1]
    if head == "[":
        return "json"
    if head == "{":
        return "jsonl"
    first_line = head and text.lstrip("\ufeff").splitlines()[0].lower()
    if first_line and "url" in [c.strip() for c in first_line.split(",")]:
        return "csv"
    return "txt"


def parse_import(text: str, *, source: str = "input", fmt: str | None = None) -> ImportResult:
    fmt = fmt or detect_format(source, text)
    name = os.path.basename(source) if source != "-" else "stdin"
    result = ImportResult()
    try:
        raw_entries = list(_RAW_READERS[fmt](text, name))
    except BadInput as exc:
        result.bad.append(BadEntry(name, str(exc)))
        return result
    except KeyError:
        raise BadInput(f"unknown list format {fmt!r} (txt, json, jsonl or csv)") from None
    for where, raw in raw_entries:
        try:
            result.entries.append(_entry(where, raw))
        except BadInput as exc:
            result.bad.append(BadEntry(where, str(exc)))
    return result


# -- readers: (where, raw) pairs ----------------------------------------------------


def _read_txt(text: str, name: str) -> Iterator[tuple[str, Any]]:
    for number, line in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            yield f"{name} line {number}", {"url": stripped}


def _read_json(text: str, name: str) -> Iterator[tuple[str, Any]]:
    try:
        data = json.loads(text.lstrip("\ufeff"))
    except json.JSONDecodeError as exc:
        where = f"line {exc.lineno}, column {exc.colno}"
        raise BadInput(f"not valid JSON ({where}: {exc.msg})") from None
    if isinstance(data, dict) and isinstance(data.get("items"), list):
        data = data["items"]
    if not isinstance(data, list):
        raise BadInput("a JSON list must be an array of objects")
    for index, item in enumerate(data, start=1):
        yield f"{name} item {index}", item


def _read_jsonl(text: str, name: str) -> Iterator[tuple[str, Any]]:
    for number, line in enumerate(text.lstrip("\ufeff").splitlines(), start=1):
        if not line.strip():
            continue
        where = f"{name} line {number}"
        try:
            yield where, json.loads(line)
        except json.JSONDecodeError as exc:
            yield where, BadInput(f"not valid JSON ({exc.msg})")


def _read_csv(text: str, name: str) -> Iterator[tuple[str, Any]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    if "url" not in header:
        raise BadInput("a CSV list needs a header row with a 'url' column")
    reader.fieldnames = header
    for row in reader:
        where = f"{name} line {reader.line_num}"
        if None in row:
            yield where, BadInput("more values than columns")
            continue
        item: dict[str, Any] = {k: v for k, v in row.items() if v not in (None, "")}
        if "headers" in item:
            try:
                item["headers"] = json.loads(item["headers"])
            except json.JSONDecodeError:
                yield where, BadInput("the headers column must hold a JSON object")
                continue
        yield where, item


_RAW_READERS = {"txt": _read_txt, "json": _read_json, "jsonl": _read_jsonl, "csv": _read_csv}


# -- validation ---------------------------------------------------------------------


def _text(item: dict[str, Any], key: str) -> str | None:
    value = item.get(key)
    if value is None:
        return None
    if not isinstance(value, str | int | float) or isinstance(value, bool):
        raise BadInput(f"'{key}' must be text")
    text = " ".join(str(value).split())
    if len(text) > MAX_TEXT:
        raise BadInput(f"'{key}' is longer than {MAX_TEXT} characters")
    return text or None


def _entry(where: str, raw: Any) -> Entry:
    if isinstance(raw, BadInput):
        raise raw
    if not isinstance(raw, dict):
        raise BadInput("an entry must be an object with a 'url'")
    unknown = sorted(set(raw) - set(FIELDS))
    if unknown:
        raise BadInput(f"unknown field(s) {', '.join(map(repr, unknown))}")
    url = _text(raw, "url")
    if url is None:
        raise BadInput("no 'url'")
    url = validate_url(url)
    thumbnail = _text(raw, "thumbnail")
    if thumbnail is not None:
        thumbnail = validate_url(thumbnail)
    headers_raw = raw.get("headers") or {}
    if not isinstance(headers_raw, dict):
        raise BadInput("'headers' must be an object of name: value")
    headers = tuple(parse_request_header(f"{name}: {value}") for name, value in headers_raw.items())
    sha256 = _text(raw, "sha256")
    if sha256 is not None:
        sha256 = validate_sha256(sha256)
    folder: tuple[str, ...] = ()
    folder_text = _text(raw, "folder")
    if folder_text:
        parts = [p for p in folder_text.replace("\\", "/").split("/") if p.strip()]
        if folder_text.startswith(("/", "\\")) or any(p.strip() in (".", "..") for p in parts):
            raise BadInput("'folder' must be a subfolder (no absolute path, no '..')")
        folder = tuple(sanitize_filename(p) for p in parts)
    name = _text(raw, "name")
    if name is not None:
        name = validate_name(name)
    return Entry(
        url=url,
        where=where,
        title=_text(raw, "title"),
        author=_text(raw, "author"),
        thumbnail=thumbnail,
        headers=headers,
        sha256=sha256,
        folder=folder,
        name=name,
    )
