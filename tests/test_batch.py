"""Batch import formats and name templates: engine API and CLI."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import PROPERTY_DEADLINE, run_cli
from drayman.batch import parse_import
from drayman.names import finish_name, is_valid_windows_name
from drayman.templates import InvalidTemplate, check_template, split_template
from httpserver import LoopbackServer, make_body

GOOD_JSON = json.dumps(
    [
        {
            "url": "https://cdn.example/v/1.mp4",
            "title": "First",
            "author": "Ann",
            "thumbnail": "https://cdn.example/t/1.jpg",
            "headers": {"Referer": "https://site/"},
        },
        {
            "url": "https://cdn.example/v/2.mp4",
            "title": "Second",
            "sha256": "a" * 64,
            "folder": "extra/deep",
            "name": "two.mp4",
        },
    ]
)


def test_json_array_is_parsed_field_by_field() -> None:
    result = parse_import(GOOD_JSON, source="list.json")
    assert result.bad == []
    first, second = result.entries
    assert (first.title, first.author, first.thumbnail) == (
        "First",
        "Ann",
        "https://cdn.example/t/1.jpg",
    )
    assert first.headers == (("Referer", "https://site/"),)
    assert (second.sha256, second.folder, second.name) == ("a" * 64, ("extra", "deep"), "two.mp4")
    assert first.where == "list.json item 1"


@pytest.mark.parametrize(
    ("text", "source", "where", "reason"),
    [
        ('[{"url": "ftp://x/y"}]', "l.json", "l.json item 1", "unsupported scheme"),
        ('[{"title": "no url"}]', "l.json", "l.json item 1", "no 'url'"),
        ('[{"url": "http://h/a", "colour": "red"}]', "l.json", "l.json item 1", "unknown field"),
        ('[{"url": "http://h/a", "headers": {"Range": "x"}}]', "l.json", "l.json item 1", "Range"),
        ('[{"url": "http://h/a", "folder": "../up"}]', "l.json", "l.json item 1", "subfolder"),
        ('[{"url": "http://h/a", "sha256": "xyz"}]', "l.json", "l.json item 1", "sha256"),
        ('[1, {"url": "http://h/a"}]', "l.json", "l.json item 1", "object"),
        ("[{", "l.json", "l.json", "not valid JSON"),
        ('{"url": "http://h/a"}\n{"url": 5\n', "l.jsonl", "l.jsonl line 2", "not valid JSON"),
        ("url,title\nhttp://h/a,A\nnot-a-url,B\n", "l.csv", "l.csv line 3", "not a URL"),
        ("title\nA\n", "l.csv", "l.csv", "'url' column"),
        ("# list\nhttp://h/a\n\nhttp://h b\n", "l.txt", "l.txt line 4", "whitespace"),
    ],
)
def test_bad_entries_say_where_and_why(text: str, source: str, where: str, reason: str) -> None:
    result = parse_import(text, source=source)
    assert result.bad, result
    assert result.bad[0].where == where
    assert reason in result.bad[0].reason


def test_formats_are_detected_by_name_or_content() -> None:
    lines = '{"url": "http://h/1"}\n\n{"url": "http://h/2", "title": "T"}\n'
    assert [e.url for e in parse_import(lines, source="stdin").entries] == [
        "http://h/1",
        "http://h/2",
    ]
    csv_text = 'url,title,headers\nhttp://h/1,"A, with comma","{""Cookie"": ""c=1""}"\n'
    [entry] = parse_import(csv_text, source="-").entries
    assert (entry.title, entry.headers) == ("A, with comma", (("Cookie", "c=1"),))
    assert len(parse_import("http://h/1\nhttp://h/2\n", source="x").entries) == 2


@pytest.mark.parametrize(
    "title",
    ["../x", "..", "CON", "nul.txt", "a/b\\c", "é" * 300, "😀" * 80, "trailing. ", "", "{ext}"],
)
def test_hostile_titles_stay_in_one_valid_name(title: str, tmp_path: Path) -> None:
    folders, name_template = split_template(
        "{author}/{title}.{ext}", {"title": title, "author": title or "x"}
    )
    name = finish_name(name_template, "mp4")
    assert len(folders) == 1
    for part in [*folders, name]:
        assert is_valid_windows_name(part), part
        assert (tmp_path / part).resolve().parent == tmp_path.resolve()
    assert name.endswith(".mp4")


@pytest.mark.parametrize(
    "template",
    [
        "/abs/{title}",
        "C:{title}",
        "../{title}",
        "{title}/../x",
        "{nope}",
        "{title!r}",
        "{title:>9}",
        "{ext}/{title}",
        "{",
        "",
    ],
)
def test_bad_templates_are_refused(template: str) -> None:
    with pytest.raises(InvalidTemplate):
        check_template(template)


@settings(max_examples=200, deadline=PROPERTY_DEADLINE)
@given(st.text(), st.text())
def test_any_title_and_author_stay_inside_the_folder(title: str, author: str) -> None:
    folders, name_template = split_template(
        "{author}/{date}/{title} [{index}].{ext}",
        {"title": title, "author": author, "date": "2026-01-01", "index": "7"},
    )
    for part in [*folders, finish_name(name_template, "webm")]:
        assert is_valid_windows_name(part)
        assert "/" not in part and "\\" not in part


def test_cli_import_with_template_downloads_into_author_folders(
    db_path: Path, downloads: Path, http_server: LoopbackServer, tmp_path: Path
) -> None:
    bodies = {n: make_body(50_000 + n, seed=n) for n in range(3)}
    for n, body in bodies.items():
        http_server.add(f"/v/{n}.mp4", body)
    http_server.add("/v/noext", b"webm bytes", content_type="video/webm")
    listing = tmp_path / "list.json"
    listing.write_text(
        json.dumps(
            [
                {"url": http_server.url("/v/0.mp4"), "title": "Intro", "author": "Ann"},
                {"url": http_server.url("/v/1.mp4"), "title": "../../escape", "author": "Ann"},
                {"url": http_server.url("/v/2.mp4"), "title": "CON", "author": "Bob/Smith"},
                {"url": http_server.url("/v/noext"), "title": "Typed", "author": "Bob/Smith"},
            ]
        )
    )
    added = run_cli(
        db_path,
        "add",
        "-i",
        str(listing),
        "-d",
        str(downloads),
        "--template",
        "{author}/{title}.{ext}",
    )
    assert added.returncode == 0, added.stderr
    assert added.stdout.split() == ["1", "2", "3", "4"]
    assert run_cli(db_path, "run", "--until-idle").returncode == 0
    files = sorted(p.relative_to(downloads).as_posix() for p in downloads.rglob("*") if p.is_file())
    assert files == [
        "Ann/.._.._escape.mp4",
        "Ann/Intro.mp4",
        "Bob_Smith/Typed.webm",
        "Bob_Smith/_CON.mp4",
    ]
    assert (downloads / "Ann" / "Intro.mp4").read_bytes() == bodies[0]
    listed = json.loads(run_cli(db_path, "ls", "--json").stdout)
    assert listed[0]["title"] == "Intro" and listed[0]["author"] == "Ann"


def test_cli_one_bad_entry_adds_nothing_unless_skipped(
    db_path: Path, downloads: Path, tmp_path: Path
) -> None:
    listing = tmp_path / "list.csv"
    listing.write_text("url,title\nhttp://127.0.0.1:9/a,A\nftp://x/b,B\nhttp://127.0.0.1:9/c,C\n")
    refused = run_cli(db_path, "add", "-i", str(listing), "-d", str(downloads))
    assert refused.returncode == 2
    assert "list.csv line 3" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    assert json.loads(run_cli(db_path, "ls", "--json").stdout) == []
    skipped = run_cli(db_path, "add", "-i", str(listing), "-d", str(downloads), "--skip-invalid")
    assert skipped.returncode == 0
    assert skipped.stdout.split() == ["1", "2"]
    assert "skipped list.csv line 3" in skipped.stderr
    bad_template = run_cli(
        db_path, "add", "http://127.0.0.1:9/x", "-d", str(downloads), "--template", "../{title}"
    )
    assert bad_template.returncode == 2
