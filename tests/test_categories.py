"""Folders by file type: the table, the decision, and real downloads sorted by it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from conftest import KILLED, make_symlink, run_cli
from drayman.batch import Entry
from drayman.categories import (
    DEFAULTS,
    OTHER,
    Categories,
    InvalidCategory,
    check_folder,
    decide,
    dumps,
    from_settings,
    loads,
    with_category,
    without_category,
)
from drayman.inputs import default_download_dir
from drayman.jobs import JobState
from drayman.queue.engine import Engine
from drayman.queue.partrecord import PartRecord, database_id, url_id, write_record
from httpserver import LoopbackServer, make_body
from test_disk import files_in, folder_mode, ls, run_until_idle, sha
from test_engine import fast_config

__all__ = ["folder_mode"]  # the fixture, shared with test_disk.py

KiB = 1024


@pytest.fixture
def download_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The user's Downloads folder, made this test's own (for this process and the CLI's)."""
    folder = tmp_path / "Downloads"
    folder.mkdir()
    config = tmp_path / "xdg-config"
    config.mkdir()
    # Linux: xdg-user-dirs; macOS: ~/Downloads
    (config / "user-dirs.dirs").write_text(f'XDG_DOWNLOAD_DIR="{folder}"\n')
    monkeypatch.setenv("XDG_CONFIG_HOME", str(config))
    monkeypatch.setenv("HOME", str(tmp_path))
    assert default_download_dir() == str(folder)
    return folder


def tree(folder: Path) -> list[str]:
    """Every file below ``folder``, as relative paths."""
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


# -- the decision ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "content_type", "category"),
    [
        ("clip.mp4", "application/octet-stream", "Video"),
        ("CLIP.MKV", None, "Video"),
        ("backup.zip", "application/zip", "Archives"),
        ("src.tar.gz", "application/gzip", "Archives"),
        ("song.flac", None, "Audio"),
        ("paper.pdf", None, "Documents"),
        ("setup.exe", None, "Programs"),
        ("photo.jpeg", None, "Images"),
        # no extension: the Content-Type tells
        ("download", "video/mp4; codecs=avc1", "Video"),
        ("get", "application/x-7z-compressed", "Archives"),
        # the extension wins over a Content-Type that says otherwise
        ("notes.txt", "video/mp4", "Documents"),
        # nothing tells: Other
        ("page.html", "text/html", OTHER),
        ("blob", "application/octet-stream", OTHER),
        ("blob", None, OTHER),
        (".bashrc", None, OTHER),
    ],
)
def test_a_file_is_in_the_category_its_extension_or_content_type_says(
    name: str, content_type: str | None, category: str
) -> None:
    assert decide(Categories(), name, content_type).name == category


def test_folders_stay_below_the_download_folder() -> None:
    assert check_folder("x", "Media/Video") == "Media/Video"
    assert check_folder("x", "Media\\Video\\") == "Media/Video"
    assert check_folder("x", "") == ""
    for bad in ("..", "a/../b", "/etc", "C:\\x", "c:x", "a/CON", "a/b?", "1/2/3/4/5"):
        with pytest.raises(InvalidCategory):
            check_folder("x", bad)


def test_the_table_is_edited_checked_and_stored() -> None:
    books = with_category(Categories(), "Books", folder="Books", extensions=["EPUB", ".mobi"])
    # added before Other, which stays last; epub left Documents for it
    assert [c.name for c in books.table][-2:] == ["Books", OTHER]
    assert decide(books, "novel.epub", None).name == "Books"
    assert "epub" not in (books.named("Documents") or DEFAULTS[0]).extensions
    moved = with_category(books, "video", folder="Media/Video")
    assert decide(moved, "a.mp4", None).folder == "Media/Video"
    assert loads(dumps(moved.table)) == moved.table
    assert from_settings("0", dumps(moved.table)) == Categories(False, moved.table)
    assert from_settings(None, None) == Categories()
    assert [c.name for c in without_category(moved, "Books").table][-1] == OTHER
    with pytest.raises(InvalidCategory, match="Other takes every file"):
        without_category(moved, "other")
    with pytest.raises(InvalidCategory, match="not a file extension"):
        with_category(moved, "Bad", extensions=["a b/"])
    with pytest.raises(InvalidCategory, match="not a Content-Type"):
        with_category(moved, "Bad", content_types=["video"])
    with pytest.raises(InvalidCategory, match="not JSON"):
        loads("{")


# -- real downloads ----------------------------------------------------------------------


async def test_files_added_without_a_folder_land_in_their_category_folders(
    db_path: Path, download_folder: Path, http_server: LoopbackServer
) -> None:
    video, archive = make_body(300 * KiB, seed=1), make_body(200 * KiB, seed=2)
    http_server.add("/clip.mp4", video, content_type="video/mp4")
    http_server.add("/backup.zip", archive, content_type="application/zip")
    # no extension in the URL: Content-Disposition names it
    http_server.add("/get", archive, content_disposition='attachment; filename="named.zip"')
    http_server.add("/blob", b"x" * 100)
    async with Engine(db_path, fast_config()) as engine:
        ids = await engine.queue.add(
            [http_server.url(p) for p in ("/clip.mp4", "/backup.zip", "/get", "/blob")]
        )
        await run_until_idle(engine)
        jobs = [await engine.queue.get(i) for i in ids]
    assert [j.state for j in jobs] == [JobState.DONE] * 4, [j.error for j in jobs]
    assert tree(download_folder) == [
        "Archives/backup.zip",
        "Archives/named.zip",
        "Other/blob",
        "Video/clip.mp4",
    ]
    assert (download_folder / "Video" / "clip.mp4").read_bytes() == video
    assert (download_folder / "Archives" / "backup.zip").read_bytes() == archive
    assert jobs[0].final_path == str(download_folder / "Video" / "clip.mp4")
    assert jobs[0].chosen_dir == str(download_folder)


async def test_a_folder_a_template_or_a_rule_folder_is_never_sorted(
    db_path: Path,
    download_folder: Path,
    downloads: Path,
    http_server: LoopbackServer,
    tmp_path: Path,
) -> None:
    body = make_body(100 * KiB, seed=3)
    http_server.add("/a.mp4", body)
    http_server.add("/b.zip", body)
    async with Engine(db_path, fast_config()) as engine:
        await engine.queue.add(
            [http_server.url("/a.mp4"), http_server.url("/b.zip")], dest_dir=downloads
        )
        await engine.queue.add_entries(
            [Entry(url=http_server.url("/a.mp4"), where="1", title="Ep 1", author="Ann")],
            template="{author}/{title}.{ext}",
        )
        ruled = tmp_path / "ruled"
        await engine.queue.add_rule("127.0.0.1", dest_dir=ruled)
        await engine.queue.add([http_server.url("/b.zip")])
        await run_until_idle(engine)
        states = {j.state for j in await engine.queue.jobs()}
    assert states == {JobState.DONE}
    assert tree(downloads) == ["a.mp4", "b.zip"]
    assert tree(download_folder) == ["Ann/Ep 1.mp4"]
    assert tree(ruled) == ["b.zip"]


async def test_sorting_off_or_changed_applies_to_jobs_named_afterwards(
    db_path: Path, download_folder: Path, http_server: LoopbackServer
) -> None:
    http_server.add("/a.mp4", b"a" * 1000)
    http_server.add("/b.mp4", b"b" * 1000)
    async with Engine(db_path, fast_config()) as engine:
        categories = await engine.queue.categories()
        await engine.queue.set_categories(Categories(False, categories.table))
        await engine.queue.add([http_server.url("/a.mp4")])
        await run_until_idle(engine)
        changed = with_category(categories, "Video", folder="Media/Films")
        await engine.queue.set_categories(changed)
        await engine.queue.add([http_server.url("/b.mp4")])
        await run_until_idle(engine)
    assert tree(download_folder) == ["Media/Films/b.mp4", "a.mp4"]


async def test_a_sorted_file_never_replaces_one_already_there(
    db_path: Path, download_folder: Path, http_server: LoopbackServer
) -> None:
    (download_folder / "Video").mkdir()
    (download_folder / "Video" / "clip.mp4").write_bytes(b"mine")
    body = make_body(50 * KiB, seed=4)
    http_server.add("/clip.mp4", body)
    async with Engine(db_path, fast_config()) as engine:
        [job_id] = await engine.queue.add([http_server.url("/clip.mp4")])
        await run_until_idle(engine)
        job = await engine.queue.get(job_id)
    assert job.state == JobState.DONE, job.error
    assert (download_folder / "Video" / "clip.mp4").read_bytes() == b"mine"
    assert (download_folder / "Video" / "clip (1).mp4").read_bytes() == body


async def test_a_category_folder_planted_as_a_link_is_not_followed(
    db_path: Path,
    download_folder: Path,
    http_server: LoopbackServer,
    tmp_path: Path,
    folder_mode: str,
) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    make_symlink(download_folder / "Video", outside, directory=True)
    http_server.add("/clip.mp4", make_body(50 * KiB, seed=5))
    async with Engine(db_path, fast_config()) as engine:
        [job_id] = await engine.queue.add([http_server.url("/clip.mp4")])
        await run_until_idle(engine)
        job = await engine.queue.get(job_id)
    assert job.state == JobState.FAILED
    assert job.error is not None and "symbolic link" in job.error
    assert list(outside.iterdir()) == []


async def test_a_part_an_earlier_database_left_in_the_category_folder_is_taken_over(
    db_path: Path, download_folder: Path, http_server: LoopbackServer
) -> None:
    """After a lost database, the job added again finds its .part where sorting put it."""
    body = make_body(600 * KiB, seed=7)
    resource = http_server.add("/movie.mp4", body)
    url = http_server.url("/movie.mp4")
    (download_folder / "Video").mkdir()
    part = download_folder / "Video" / "movie.mp4.part"
    offset = 200 * KiB
    part.write_bytes(body[:offset])
    record = PartRecord(
        db=database_id(db_path),
        url=url_id(url),
        etag=resource.etag,
        last_modified=None,
        total=len(body),
        offset=offset,
    )
    assert write_record(str(part), record)
    async with Engine(db_path, fast_config()) as engine:
        [job_id] = await engine.queue.add([url])
        await run_until_idle(engine)
        job = await engine.queue.get(job_id)
    assert job.state == JobState.DONE, job.error
    assert tree(download_folder) == ["Video/movie.mp4"]
    assert (download_folder / "Video" / "movie.mp4").read_bytes() == body
    [request] = http_server.requests_for("/movie.mp4")
    assert request.headers["Range"] == f"bytes={offset}-"


@pytest.mark.parametrize("point", ["name.after-commit", "finish.after-link"])
def test_a_crash_between_sorting_and_the_final_rename_is_recovered_by_the_next_run(
    db_path: Path, download_folder: Path, http_server: LoopbackServer, point: str
) -> None:
    """SIGKILL right after the category's folder and the name were committed
    (before any .part exists), and again in the middle of the final rename."""
    body = make_body(400 * KiB, seed=6)
    http_server.add("/movie.mp4", body)
    added = run_cli(db_path, "add", http_server.url("/movie.mp4"), "--sha256", sha(body))
    assert added.returncode == 0, added.stderr
    crashed = run_cli(db_path, "run", "--until-idle", env={"DRAYMAN_CRASH_AT": point})
    assert crashed.returncode == KILLED, (crashed.returncode, crashed.stderr)
    [before] = ls(db_path)
    assert before["state"] == "running"  # as the dead process left it
    # the decision was durable: the name and the category's folder, together
    assert before["path"] == str(download_folder / "Video" / "movie.mp4")

    again = run_cli(db_path, "run", "--until-idle")
    assert again.returncode == 0, again.stderr
    [after] = ls(db_path)
    assert after["state"] == "done", after["error"]
    assert after["path"] == str(download_folder / "Video" / "movie.mp4")
    assert tree(download_folder) == ["Video/movie.mp4"]
    assert (download_folder / "Video" / "movie.mp4").read_bytes() == body
    assert files_in(download_folder) == ["Video"]


def test_the_categories_command_edits_what_the_next_add_uses(
    db_path: Path, download_folder: Path, http_server: LoopbackServer
) -> None:
    listed = run_cli(db_path, "categories", "ls", "--json")
    assert listed.returncode == 0, listed.stderr
    shown = json.loads(listed.stdout)
    assert shown["enabled"] is True
    assert [c["name"] for c in shown["categories"]] == [c.name for c in DEFAULTS]
    changed = run_cli(db_path, "categories", "set", "Books", "--folder", "Books", "--ext", "epub")
    assert changed.returncode == 0, changed.stderr
    bad = run_cli(db_path, "categories", "set", "Video", "--folder", "../elsewhere")
    assert bad.returncode == 2
    assert bad.stderr.count("\n") == 1 and "'..' is not a folder name" in bad.stderr
    assert run_cli(db_path, "categories", "rm", "Other").returncode == 2
    http_server.add("/novel.epub", b"book" * 100)
    assert run_cli(db_path, "add", http_server.url("/novel.epub")).returncode == 0
    assert run_cli(db_path, "run", "--until-idle").returncode == 0
    assert tree(download_folder) == ["Books/novel.epub"]
    assert run_cli(db_path, "categories", "off").returncode == 0
    text = run_cli(db_path, "categories", "ls")
    assert "sorting by file type: off" in text.stdout and "Books/" in text.stdout
    assert run_cli(db_path, "categories", "reset").returncode == 0
    reset = json.loads(run_cli(db_path, "categories", "ls", "--json").stdout)
    assert reset["enabled"] is True and "Books" not in [c["name"] for c in reset["categories"]]
