"""drayman.names: file names that are safe on Windows, macOS and Linux alike."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from conftest import PROPERTY_DEADLINE
from drayman.errors import InvalidName
from drayman.inputs import validate_name
from drayman.names import (
    filename_from_url,
    is_valid_windows_name,
    next_free_name,
    pick_filename,
    safe_join,
    sanitize_filename,
    with_counter,
)
from fsnames import hfs_units, refused_somewhere, utf8_len

PROPERTY = settings(max_examples=300, deadline=PROPERTY_DEADLINE)
#: tmp_path is only read (safe_join does no I/O), so sharing it across examples is fine
PROPERTY_WITH_TMP = settings(
    max_examples=300,
    deadline=PROPERTY_DEADLINE,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)


def test_the_second_opinion_refuses_what_it_should() -> None:
    for name in ("CON", "con.txt", "Nul .tar.gz", "COM¹.log", "LPT0", "a.", "a ", "a:b", "a\x1fb"):
        assert refused_somewhere(name), name
    for name in ("CONSOLE", "COM10", ".bashrc", "é" * 127, "a" * 255, "naïve café.txt"):
        assert refused_somewhere(name) is None, name
    assert refused_somewhere("é" * 128)  # 256 bytes of UTF-8
    assert refused_somewhere("Ǖ" * 90)  # 180 bytes, but 270 units decomposed


# -- sanitize_filename ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        # only the last path component, whatever the separator
        ("../../x", "x"),
        ("..\\..\\x", "x"),
        ("/etc/passwd", "passwd"),
        ("dir/sub/file.txt", "file.txt"),
        ("C:\\Windows\\win.ini", "win.ini"),
        ("C:\\x", "x"),
        ("C:x", "C_x"),
        ("\\\\server\\share\\x.txt", "x.txt"),
        ("\\\\?\\C:\\x.txt", "x.txt"),
        ("a/", "download"),
        ("a/..", "download"),
        # forbidden characters
        ("a<b>c:d|e?f*g", "a_b_c_d_e_f_g"),
        ('say "hi".txt', "say _hi_.txt"),
        ("a<b>c", "a_b_c"),
        ("report: final?.pdf", "report_ final_.pdf"),
        # control characters
        ("tab\there", "tab_here"),
        ("nul\x00byte", "nul_byte"),
        ("bell\x07.txt", "bell_.txt"),
        ("esc\x1b[31m.txt", "esc_[31m.txt"),
        ("del\x7f.txt", "del_.txt"),
        ("new\nline.txt", "new_line.txt"),
        # surrounding whitespace, trailing dots and spaces
        ("  padded.txt  ", "padded.txt"),
        ("trailing. . ", "trailing"),
        ("trailing...", "trailing"),
        ("name.txt.", "name.txt"),
        ("a\u00a0.\u00a0.", "a"),
        ("\u3000wide\u3000", "wide"),
        # nothing left
        ("", "download"),
        (" ", "download"),
        (".", "download"),
        ("..", "download"),
        ("...", "download"),
        (". . .", "download"),
        ("/", "download"),
        ("\\", "download"),
        # leading dots are kept
        (".bashrc", ".bashrc"),
        ("..hidden", "..hidden"),
        (". a", ". a"),
        # Windows device names get a "_"
        ("CON", "_CON"),
        ("CON.txt", "_CON.txt"),
        ("con.txt", "_con.txt"),
        ("nul", "_nul"),
        ("NUL .tar.gz", "_NUL .tar.gz"),
        ("COM1.tar.gz", "_COM1.tar.gz"),
        ("lpt9", "_lpt9"),
        ("COM¹", "_COM¹"),
        ("lpt².log", "_lpt².log"),
        ("Aux.", "_Aux"),
        ("prn.", "_prn"),
        ("../CON", "_CON"),
        ("conin$", "_conin$"),
        # not device names
        ("CONSOLE.txt", "CONSOLE.txt"),
        ("COM10", "COM10"),
        ("LPT", "LPT"),
        ("nullify.txt", "nullify.txt"),
        ("xcon.txt", "xcon.txt"),
        # Unicode is kept, NFC-normalized
        ("naïve café.txt", "naïve café.txt"),
        ("cafe\u0301.txt", "caf\u00e9.txt"),
        ("日本語のファイル.pdf", "日本語のファイル.pdf"),
        ("😀 party.mkv", "😀 party.mkv"),
        # lone surrogates cannot be encoded: replaced
        ("a\ud800b.txt", "a_b.txt"),
    ],
)
def test_sanitize_filename(raw: str, safe: str) -> None:
    assert sanitize_filename(raw) == safe
    assert is_valid_windows_name(safe)


@pytest.mark.parametrize(
    ("raw", "ext"),
    [
        ("x" * 300 + ".mp4", ".mp4"),
        ("é" * 300 + ".mp4", ".mp4"),
        ("😀" * 100 + ".mkv", ".mkv"),
        ("日本" * 100 + ".tar.gz", ".tar.gz"),
        ("a" * 199 + "é" + ".txt", ".txt"),
        ("👩‍👩‍👧‍👦" * 30 + ".png", ".png"),
    ],
)
def test_long_names_keep_their_extension_and_valid_utf8(raw: str, ext: str) -> None:
    name = sanitize_filename(raw)
    assert name.endswith(ext)
    assert utf8_len(name) <= 200
    assert utf8_len(name) > 190  # cut close to the limit, not far below it
    assert name.encode("utf-8").decode("utf-8") == name
    assert raw.startswith(name[: -len(ext)])  # a prefix of the stem, not mangled
    assert sanitize_filename(name) == name


@pytest.mark.parametrize(
    ("raw", "ext"),
    [
        # 2 bytes of UTF-8 each but 3 UTF-16 units decomposed: 100 of them
        # fit in 200 bytes and still overflow HFS+'s 255 units (found by the
        # property below)
        ("Ǖ" * 100 + ".txt", ".txt"),
        ("ǖ" * 300, ""),
        ("ǘ" * 90 + ".mp4", ".mp4"),
    ],
)
def test_names_that_grow_when_decomposed_are_cut_for_hfs(raw: str, ext: str) -> None:
    name = sanitize_filename(raw)
    assert hfs_units(name) <= 255 and utf8_len(name) <= 200
    assert name.endswith(ext) and raw.startswith(name[: len(name) - len(ext)])
    assert hfs_units(name) > 240  # cut close to the limit, not far below it
    counted = with_counter(raw, 12)
    assert hfs_units(counted) <= 255 and counted.endswith(f" (12){ext}")


def test_a_300_byte_name_without_extension_is_cut() -> None:
    name = sanitize_filename("b" * 300)
    assert name == "b" * 200


def test_cut_never_leaves_a_trailing_dot_or_space() -> None:
    raw = "a" * 195 + " . . . . . . . . . .xyz"
    name = sanitize_filename(raw, max_bytes=200)
    assert is_valid_windows_name(name) and utf8_len(name) <= 200


@pytest.mark.parametrize("max_bytes", [1, 2, 3, 4, 5, 8, 20, 255])
def test_max_bytes_is_respected(max_bytes: int) -> None:
    for raw in ("é" * 50 + ".txt", "CON.txt", "😀😀😀", "", "a" * 300):
        name = sanitize_filename(raw, max_bytes=max_bytes)
        assert name and utf8_len(name) <= max_bytes, (raw, name)
        assert is_valid_windows_name(name)
        assert sanitize_filename(name, max_bytes=max_bytes) == name


def test_max_bytes_below_one_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        sanitize_filename("x", max_bytes=0)


def test_sanitize_is_deterministic() -> None:
    raw = "a<b>..\\CON.tar.gz. "
    assert sanitize_filename(raw) == sanitize_filename(raw) == "_CON.tar.gz"


# -- is_valid_windows_name ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "valid"),
    [
        ("file.txt", True),
        (".bashrc", True),
        ("_CON.txt", True),
        ("naïve.txt", True),
        ("a" * 255, True),
        ("😀" * 127, True),  # 254 UTF-16 code units
        ("", False),
        (".", False),
        ("..", False),
        ("CON", False),
        ("con.txt", False),
        ("NUL .tar.gz", False),
        ("COM1", False),
        ("COM¹.txt", False),
        ("LPT0", False),
        ("a<b", False),
        ("a:b", False),
        ("a/b", False),
        ("a\\b", False),
        ("a|b", False),
        ("a?b", False),
        ("a*b", False),
        ('a"b', False),
        ("a\x00b", False),
        ("a\x1fb", False),
        ("name.", False),
        ("name ", False),
        (" name", False),
        ("a" * 256, False),
        ("😀" * 128, False),  # 256 UTF-16 code units
    ],
)
def test_is_valid_windows_name(name: str, valid: bool) -> None:
    assert is_valid_windows_name(name) is valid


# -- filename_from_url ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "name"),
    [
        ("http://h/file.iso", "file.iso"),
        ("http://h/dir/file.iso", "file.iso"),
        ("http://h/a%20b.bin", "a b.bin"),
        ("http://h/na%C3%AFve.txt", "naïve.txt"),
        ("http://h/x.zip?download=1", "x.zip"),
        ("http://h/x.zip#frag", "x.zip"),
        ("http://h/a%ffb", "a\ufffdb"),
        ("http://h/a%2Fb", "a/b"),  # decoded; the sanitizer deals with "/"
        ("http://h/dir//file", "file"),
        ("http://h/", None),
        ("http://h", None),
        ("http://h/dir/", None),
        ("http://h/?q=name.txt", None),
        ("http://h/a/..", None),
        ("http://h/%2e%2e", None),
        ("http://h/.", None),
        ("http://[/x", None),
    ],
)
def test_filename_from_url(url: str, name: str | None) -> None:
    assert filename_from_url(url) == name


# -- pick_filename --------------------------------------------------------------------------

CD = 'attachment; filename="server.bin"'


@pytest.mark.parametrize(
    ("requested", "disposition", "url", "content_type", "expected"),
    [
        ("mine.bin", CD, "http://h/u.bin", None, "mine.bin"),
        (None, CD, "http://h/u.bin", None, "server.bin"),
        ("", CD, "http://h/u.bin", None, "server.bin"),
        (None, None, "http://h/u.bin", None, "u.bin"),
        (None, "inline", "http://h/u.bin", None, "u.bin"),
        (None, "garbage;;;", "http://h/u.bin", None, "u.bin"),
        (None, None, "http://h/a%20b.bin", None, "a b.bin"),
        (None, None, "http://h/", "text/html", "h.html"),
        (None, None, "http://h/", "text/html; charset=utf-8", "h.html"),
        (None, None, "http://h/", "application/pdf", "h.pdf"),
        (None, None, "http://h/dir/", "application/zip", "dir.zip"),
        (None, None, "http://h/", None, "h"),
        (None, None, "http://h/", "nonsense/unknown", "h"),
        (None, None, "http://example.org/", "", "example.org"),
        # every source is sanitized
        ("../../evil.sh", None, "http://h/", None, "evil.sh"),
        ("CON.txt", None, "http://h/", None, "_CON.txt"),
        (None, 'attachment; filename="../../etc/passwd"', "http://h/", None, "passwd"),
        (None, "attachment; filename*=UTF-8''..%5C..%5Cboot.ini", "http://h/", None, "boot.ini"),
        (None, 'attachment; filename="nul"', "http://h/", None, "_nul"),
        (None, None, "http://h/a%2Fb.txt", None, "b.txt"),
        (None, None, "http://h/x%3Cy%3E.txt", None, "x_y_.txt"),
        # a source with nothing usable in it is skipped
        ("..", CD, "http://h/u.bin", None, "server.bin"),
        (None, 'attachment; filename=".."', "http://h/u.bin", None, "u.bin"),
        (None, 'attachment; filename="  "', "http://h/u.bin", None, "u.bin"),
        (None, None, "http://h/..", "text/plain", "h.txt"),
    ],
)
def test_pick_filename(
    requested: str | None,
    disposition: str | None,
    url: str,
    content_type: str | None,
    expected: str,
) -> None:
    name = pick_filename(
        requested=requested, content_disposition=disposition, url=url, content_type=content_type
    )
    assert name == expected
    assert is_valid_windows_name(name)


# -- with_counter and next_free_name -------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "n", "expected"),
    [
        ("movie.mp4", 1, "movie (1).mp4"),
        ("movie.mp4", 12, "movie (12).mp4"),
        ("archive.tar.gz", 1, "archive (1).tar.gz"),
        ("archive.TAR.GZ", 2, "archive (2).TAR.GZ"),
        ("archive.tar.bz2", 1, "archive (1).tar.bz2"),
        ("archive.tar.xz", 1, "archive (1).tar.xz"),
        ("archive.tar.zst", 1, "archive (1).tar.zst"),
        ("notes.txt.bak", 1, "notes.txt (1).bak"),
        ("noext", 1, "noext (1)"),
        (".bashrc", 1, ".bashrc (1)"),
        ("v1.2.3", 1, "v1.2 (1).3"),
        ("CON.txt", 1, "_CON (1).txt"),
        ("../x.txt", 1, "x (1).txt"),
        ("a.", 1, "a (1)"),
        ("", 1, "download (1)"),
    ],
)
def test_with_counter(name: str, n: int, expected: str) -> None:
    assert with_counter(name, n) == expected


def test_with_counter_stays_within_the_byte_limit() -> None:
    long = "é" * 99 + ".mp4"  # 202 bytes: sanitized to 200 first
    for n in (1, 99, 10_000):
        name = with_counter(long, n)
        assert utf8_len(name) <= 200
        assert name.endswith(f" ({n}).mp4")
        assert is_valid_windows_name(name)
    small = with_counter("abcdefghij.txt", 3, max_bytes=12)
    assert small == "abcd (3).txt"  # exactly 12 bytes


def test_next_free_name() -> None:
    taken = {"a.txt", "a (1).txt", "a (3).txt"}
    assert next_free_name("a.txt", taken.__contains__) == "a (2).txt"
    assert next_free_name("b.txt", taken.__contains__) == "b.txt"
    assert next_free_name("x.tar.gz", {"x.tar.gz"}.__contains__) == "x (1).tar.gz"


def test_next_free_name_asks_about_each_candidate_in_order() -> None:
    asked: list[str] = []

    def is_taken(name: str) -> bool:
        asked.append(name)
        return len(asked) < 4

    assert next_free_name("f.bin", is_taken) == "f (3).bin"
    assert asked == ["f.bin", "f (1).bin", "f (2).bin", "f (3).bin"]


def test_next_free_name_gives_up_after_the_limit() -> None:
    with pytest.raises(InvalidName) as info:
        next_free_name("full.txt", lambda _name: True, limit=5)
    assert "no free name after 5 tries" in str(info.value)
    assert "full.txt" in str(info.value)


# -- safe_join ------------------------------------------------------------------------------


def test_safe_join(tmp_path: Path) -> None:
    assert safe_join(tmp_path, "file.txt") == tmp_path / "file.txt"
    assert safe_join(str(tmp_path), ".bashrc") == tmp_path / ".bashrc"
    assert safe_join(tmp_path, "_CON.txt").parent == tmp_path


@pytest.mark.parametrize(
    "name",
    [
        "",
        ".",
        "..",
        "\ud800",  # once a UnicodeEncodeError, not InvalidName
        "a\udfffb.txt",
        "Ǖ" * 100,
        "a" * 256,  # no file system stores it; was accepted
        "../x",
        "a/b",
        "a\\b",
        "/etc/passwd",
        "C:\\x",
        "CON",
        "x.",
        "x ",
        "a<b",
        "\x00",
    ],
)
def test_safe_join_refuses_unsafe_names(tmp_path: Path, name: str) -> None:
    with pytest.raises(InvalidName):
        safe_join(tmp_path, name)


# -- properties -----------------------------------------------------------------------------


@PROPERTY_WITH_TMP
@given(st.text())
def test_sanitized_names_are_valid_everywhere_and_stay_in_the_folder(
    tmp_path: Path, text: str
) -> None:
    name = sanitize_filename(text)
    assert name
    assert "/" not in name and "\\" not in name
    assert utf8_len(name) <= 200
    assert is_valid_windows_name(name), name
    assert refused_somewhere(name) is None, (name, refused_somewhere(name))
    assert unicodedata.is_normalized("NFC", name)
    assert sanitize_filename(name) == name
    assert safe_join(tmp_path, name).parent == tmp_path


@PROPERTY
@given(st.text())
@example("Ǖ" * 100)
@example("CON .txt")
def test_what_drayman_calls_valid_every_os_accepts(text: str) -> None:
    if is_valid_windows_name(text) and utf8_len(text) <= 200 and hfs_units(text) <= 255:
        assert refused_somewhere(text) is None, text


@PROPERTY_WITH_TMP
@given(st.text())
@example("\ud800")
@example("..")
def test_safe_join_lands_in_the_folder_or_refuses(tmp_path: Path, text: str) -> None:
    try:
        joined = safe_join(tmp_path, text)
    except InvalidName as exc:
        assert "\n" not in str(exc)
        return
    assert joined.parent == tmp_path and joined.name == text
    assert refused_somewhere(text) is None


@PROPERTY
@given(st.text())
def test_a_name_given_with_o_is_refused_or_made_safe(text: str) -> None:
    try:
        name = validate_name(text)
    except InvalidName:
        stripped = text.strip()
        assert stripped in ("", ".", "..") or "/" in stripped or "\\" in stripped
        return
    assert refused_somewhere(name) is None, (text, name)
    assert utf8_len(name) <= 200


#: names built from pieces that have broken sanitizers: separators, device names,
#: dots, non-ASCII spaces, combining marks, lone surrogates, emoji
_HOSTILE = st.lists(
    st.one_of(
        st.text(max_size=3),
        st.sampled_from(list("./\\ :\u00a0\u3000\u0301\u0344\ud800¹$😀é\x00\x7f")),
        st.sampled_from(["CON", "nul", "COM1", "LPT²", ".tar.gz", "..", "C:\\", "\\\\srv\\"]),
    ),
    max_size=60,
).map("".join)


@PROPERTY
@given(_HOSTILE, st.integers(1, 300))
def test_sanitize_with_any_limit(text: str, max_bytes: int) -> None:
    name = sanitize_filename(text, max_bytes=max_bytes)
    assert name and utf8_len(name) <= max_bytes
    assert is_valid_windows_name(name), name
    assert refused_somewhere(name) is None, (name, refused_somewhere(name))
    assert sanitize_filename(name, max_bytes=max_bytes) == name


#: long runs of what makes a sanitizer loop or backtrack: dots, spaces,
#: separators, combining marks, device names
_LONG = st.builds(
    lambda head, piece, count, tail: head + piece * count + tail,
    st.text(max_size=5),
    st.sampled_from(
        [".", " ", "/", "\\", ". ", "CON.", "\u0301", "é", "Ǖ", "😀", ":", "\x00", "a", "%2e"]
    )
    | st.text(min_size=1, max_size=3),
    st.integers(0, 50_000),
    st.text(max_size=5),
)


@settings(max_examples=100, deadline=PROPERTY_DEADLINE)
@given(_LONG, st.integers(1, 100_000))
def test_long_hostile_names_are_handled_quickly(text: str, n: int) -> None:
    name = sanitize_filename(text)
    assert refused_somewhere(name) is None and utf8_len(name) <= 200
    counted = with_counter(text, n)
    assert refused_somewhere(counted) is None and f"({n})" in counted
    url_name = filename_from_url("http://h/" + text)
    assert url_name is None or isinstance(url_name, str)
    picked = pick_filename(requested=None, content_disposition=text, url="http://h/" + text)
    assert refused_somewhere(picked) is None


@PROPERTY
@given(_HOSTILE, st.integers(1, 100_000))
def test_with_counter_is_always_safe_and_numbered(text: str, n: int) -> None:
    name = with_counter(text, n)
    assert is_valid_windows_name(name) and utf8_len(name) <= 200
    assert refused_somewhere(name) is None, name
    assert sanitize_filename(name) == name
    assert f"({n})" in name


@PROPERTY
@given(st.sets(st.integers(0, 30), max_size=25))
def test_next_free_name_finds_the_first_gap(taken_counters: set[int]) -> None:
    taken = {"f.txt" if n == 0 else f"f ({n}).txt" for n in taken_counters}
    free = next_free_name("f.txt", taken.__contains__)
    assert free not in taken
    first_gap = min(set(range(32)) - taken_counters)
    assert free == ("f.txt" if first_gap == 0 else f"f ({first_gap}).txt")


@PROPERTY
@given(st.text(), st.text() | st.none(), st.text() | st.none())
def test_pick_filename_is_always_safe(url_path: str, requested: str | None, cd: str | None) -> None:
    name = pick_filename(
        requested=requested, content_disposition=cd, url="http://h/" + url_path, content_type=cd
    )
    assert is_valid_windows_name(name) and utf8_len(name) <= 200
    assert refused_somewhere(name) is None, name
