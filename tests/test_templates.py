"""drayman.templates (and the batch import's folders and names): whatever the
template and the values, every part is a valid name inside the folder, or the
template is refused with the one documented error."""

from __future__ import annotations

import json
from pathlib import PurePosixPath, PureWindowsPath

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from conftest import PROPERTY_DEADLINE
from drayman.batch import parse_import
from drayman.names import finish_name, guess_extension
from drayman.templates import FIELDS, InvalidTemplate, check_template, split_template
from fsnames import refused_somewhere, utf8_len

PROPERTY = settings(max_examples=300, deadline=PROPERTY_DEADLINE)

#: templates built from the pieces that matter: fields, unknown fields, format
#: tricks, braces, separators, dots, drive letters, device names
_TEMPLATES = st.lists(
    st.sampled_from(
        [
            *(f"{{{f}}}" for f in FIELDS),
            "{nope}",
            "{}",
            "{0}",
            "{title!r}",
            "{title:>9}",
            "{title[0]}",
            "{title.x}",
            "{",
            "}",
            "{{",
            "}}",
            "/",
            "\\",
            ".",
            "..",
            " ",
            "C:",
            "CON",
            ".txt",
            "\ue000ext\ue000",
        ]
    )
    | st.text(max_size=4),
    max_size=12,
).map("".join)

_VALUES = st.dictionaries(st.sampled_from(FIELDS), st.text() | st.sampled_from(["..", "/", "CON"]))


def assert_inside(parts: list[str]) -> None:
    """Each part a valid name, and joined under a folder they add exactly those levels."""
    for part in parts:
        assert refused_somewhere(part) is None, (part, refused_somewhere(part))
        assert utf8_len(part) <= 200
    for base in (PurePosixPath("/base"), PureWindowsPath("C:/base")):
        assert base.joinpath(*parts).relative_to(base).parts == tuple(parts)


@PROPERTY
@given(_TEMPLATES | st.text(), _VALUES, st.text(max_size=12))
@example("{author}/{title}.{ext}", {"author": "..", "title": "../../x"}, "mp4")
@example("{title}/{{ext}}.{ext}", {"title": "CON"}, "")
@example("a{{/}}b", {}, "x")
def test_any_template_and_values_stay_in_the_folder_or_are_refused(
    template: str, values: dict[str, str], ext: str
) -> None:
    try:
        folders, name_template = split_template(template, values)
    except InvalidTemplate as exc:
        assert "\n" not in str(exc)
        with pytest.raises(InvalidTemplate):
            check_template(template)  # refused up front, before anything is added
        return
    assert_inside([*folders, finish_name(name_template, ext)])


@PROPERTY
@given(st.text() | st.none(), st.text(), st.text() | st.none())
def test_the_extension_from_any_answer_makes_a_valid_name(
    disposition: str | None, url_path: str, content_type: str | None
) -> None:
    ext = guess_extension(
        content_disposition=disposition, url="http://h/" + url_path, content_type=content_type
    )
    assert "/" not in ext and "\\" not in ext
    _, name_template = split_template("{title}.{ext}", {"title": "t"})
    assert_inside([finish_name(name_template, ext)])


@settings(max_examples=100, deadline=PROPERTY_DEADLINE)
@given(
    st.sampled_from(["{title}", "{title}/", "{{", "{author}/{title}.{ext}", "../", "a/"]),
    st.integers(0, 3000),
    st.text(max_size=1000),
)
def test_long_templates_and_values_are_handled_quickly(piece: str, count: int, value: str) -> None:
    template = piece * count + "{title}.{ext}"
    try:
        folders, name_template = split_template(template, {"title": value, "author": value})
    except InvalidTemplate:
        return
    assert_inside([*folders, finish_name(name_template, "mp4")])


@PROPERTY
@given(st.text(), st.text(), st.text())
@example("C:\\x/../y", "..", "CON")
@example("a/ ./b", "x", "a\\b")
def test_an_imported_folder_and_name_stay_inside_or_the_entry_is_bad(
    folder: str, title: str, name: str
) -> None:
    row = {"url": "http://h/x", "title": title, "folder": folder, "name": name}
    result = parse_import(json.dumps([row]), source="list.json")
    if result.bad:
        assert not result.entries and "\n" not in str(result.bad[0])
        return
    [entry] = result.entries
    assert_inside([*entry.folder, *([entry.name] if entry.name else [])])


def test_a_folder_level_of_empty_fields_is_left_out_never_named_unknown() -> None:
    folders, name = split_template("{author}/{date} {author}/{title}.{ext}", {"title": "Two"})
    assert folders == []
    folders, _ = split_template("{author}/{title}.{ext}", {"title": "Two", "author": ""})
    assert folders == []
    assert name.startswith("Two.")
    folders, _ = split_template("{author}/fixed/{title}.{ext}", {"title": "T", "author": "Ann"})
    assert folders == ["Ann", "fixed"]


def test_a_template_without_ext_keeps_the_files_extension_unless_it_writes_one() -> None:
    folders, name = split_template("{host}/{name}", {"name": "big", "host": "h.example"})
    assert folders == ["h.example"] and finish_name(name, "iso") == "big.iso"
    assert finish_name(name, "") == "big"  # no extension known: none added
    _, name = split_template("{title}.mp4", {"title": "Pilot"})
    assert finish_name(name, "webm") == "Pilot.mp4"  # written out: kept as it is
