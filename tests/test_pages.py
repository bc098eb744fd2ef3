"""Pages in: feeds, video pages, files and a fake video site resolved by the real yt-dlp.

Every page is served from loopback; yt-dlp's own generic extractor reads the
feed and the video page, the plugin in tests/yt_dlp_plugins the fake site.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conftest import run_cli
from drayman import pages, resolver
from drayman.errors import BadInput
from httpserver import LoopbackServer, make_body
from pagesites import FakeSite, add_feed, add_video_page, plugin_env
from proxyserver import HttpProxy


@pytest.fixture
def site() -> Iterator[LoopbackServer]:
    with LoopbackServer() as server:
        yield server


def feed_items(server: LoopbackServer) -> list[dict[str, Any]]:
    return [
        {
            "name": "ep1.mp3",
            "title": "Episode 1: Pilot",
            "size": 3000,
            "thumbnail": server.url("/t/1.png"),
            "duration": "61",
        },
        {"name": "ep2.mp3", "title": "Episode 2", "size": 4500},
    ]


def resolve_json(db_path: Path, *urls: str, extra: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    result = run_cli(db_path, "resolve", *urls, "--json", *extra, env=plugin_env())
    assert result.returncode == 0, result.stderr
    data: list[dict[str, Any]] = json.loads(result.stdout)
    return data


def test_resolve_lists_a_feeds_items_and_adds_nothing(site: LoopbackServer, db_path: Path) -> None:
    add_feed(site, "/feed.xml", "Loop Cast", feed_items(site))
    feed = site.url("/feed.xml")

    entries = resolve_json(db_path, feed)

    assert [(e["title"], e["url"], e["index"]) for e in entries] == [
        ("Episode 1: Pilot", site.url("/media/ep1.mp3"), 1),
        ("Episode 2", site.url("/media/ep2.mp3"), 2),
    ]
    # no author of their own: the feed's title
    assert {e["author"] for e in entries} == {"Loop Cast"}
    assert [e["thumbnail"] for e in entries] == [site.url("/t/1.png"), None]
    assert {e["page_url"] for e in entries} == {feed}
    assert entries[0]["duration"] == 61
    assert {e["playlist"] for e in entries} == {"Loop Cast"}
    # adds nothing (yt-dlp's generic extractor does look at each file's first bytes)
    listed = run_cli(db_path, "ls", "--json")
    assert listed.returncode == 0 and json.loads(listed.stdout) == []


def test_resolve_reads_a_video_page_and_a_direct_file(site: LoopbackServer, db_path: Path) -> None:
    body = make_body(7000, seed=5)
    add_video_page(
        site, "/watch.html", "A walk in the park", "/v/walk.mp4", body, site.url("/t/w.png")
    )
    site.add("/files/raw.mp4", make_body(100, seed=6), content_type="video/mp4")

    page, direct = resolve_json(db_path, site.url("/watch.html"), site.url("/files/raw.mp4"))

    assert page["url"] == site.url("/v/walk.mp4")
    assert page["title"].startswith("A walk in the park")
    assert page["thumbnail"] == site.url("/t/w.png")
    assert page["page_url"] == site.url("/watch.html")
    assert page["index"] == 1
    assert "Referer" in page["header_names"]
    assert direct["url"] == direct["page_url"] == site.url("/files/raw.mp4")
    assert direct["title"] == "raw" and direct["index"] == 1


def test_a_channel_resolves_to_its_videos_with_authors_and_skips_stream_only_ones(
    site: LoopbackServer, db_path: Path
) -> None:
    fake = FakeSite(site)
    fake.add_video("a1", "First", uploader="Ann", thumbnail=site.url("/t/a1.png"))
    fake.add_video("a2", "Second")  # no uploader: the channel's
    fake.add_video("a3", "Live only", hls_only=True)
    channel = fake.add_channel("ann", "Ann's channel", ["a1", "a2", "a3"], uploader="Ann Example")

    result = run_cli(db_path, "resolve", channel, "--json", env=plugin_env())

    assert result.returncode == 0, result.stderr
    entries = json.loads(result.stdout)
    assert [(e["title"], e["author"], e["index"]) for e in entries] == [
        ("First", "Ann", 1),
        ("Second", "Ann Example", 2),
    ]
    # the single file with sound, not the better picture without it
    assert entries[0]["url"] == site.url("/fakemedia/a1.mp4?token=t1")
    assert entries[0]["filesize"] == 5000
    assert entries[0]["page_url"] == fake.page("a1")
    assert entries[0]["thumbnail"] == site.url("/t/a1.png")
    assert entries[0]["header_names"].count("Referer") == 1
    # one line for the item that exists only as HLS fragments
    skipped = [line for line in result.stderr.splitlines() if "Live only" in line]
    assert len(skipped) == 1 and "m3u8_native" in skipped[0]


def test_the_readable_table_lists_the_items(site: LoopbackServer, db_path: Path) -> None:
    add_feed(site, "/feed.xml", "Loop Cast", feed_items(site))

    result = run_cli(db_path, "resolve", site.url("/feed.xml"), env=plugin_env())

    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].split()[:3] == ["#", "TITLE", "AUTHOR"]
    assert "Episode 1: Pilot" in lines[1] and "Loop Cast" in lines[1] and "1:01" in lines[1]
    assert "Episode 2" in lines[2]


@pytest.mark.parametrize("kind", ["missing", "no video"])
def test_a_page_that_yields_nothing_is_one_line_and_exit_2(
    kind: str, site: LoopbackServer, db_path: Path
) -> None:
    site.add("/empty.html", b"<html><body>nothing here</body></html>", content_type="text/html")
    url = site.url("/gone.html" if kind == "missing" else "/empty.html")

    result = run_cli(db_path, "resolve", url, "--json", env=plugin_env())

    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith(f"drayman: error: {url}: ")
    if kind == "missing":
        assert "404" in result.stderr


def test_a_bad_format_selector_is_bad_input(site: LoopbackServer, db_path: Path) -> None:
    site.add("/files/raw.mp4", make_body(100), content_type="video/mp4")

    result = run_cli(db_path, "resolve", site.url("/files/raw.mp4"), "--format", "best[[")

    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1


def test_without_yt_dlp_the_page_commands_say_how_to_get_them(
    tmp_path: Path, db_path: Path
) -> None:
    # a yt_dlp that cannot be imported, ahead of the installed one
    shadow = tmp_path / "shadow"
    (shadow / "yt_dlp").mkdir(parents=True)
    (shadow / "yt_dlp" / "__init__.py").write_text("raise ImportError('not installed')\n")
    env = plugin_env()
    env["PYTHONPATH"] = os.pathsep.join([str(shadow), env["PYTHONPATH"]])

    result = run_cli(db_path, "resolve", "https://example.org/feed.xml", env=env)

    assert result.returncode == 2
    assert result.stderr.strip().splitlines() == [
        'drayman: error: resolving pages needs yt-dlp: pip install "drayman[pages]"'
    ]


async def test_the_library_streams_entries_and_stops_when_cancelled(
    site: LoopbackServer,
) -> None:
    fake = FakeSite(site)
    ids = [f"v{n}" for n in range(6)]
    for n, video_id in enumerate(ids):
        fake.add_video(video_id, f"Video {n}", uploader="Ann")
    channel = fake.add_channel("many", "Many", ids, uploader="Ann")

    seen: list[tuple[str | None, int, int | None]] = []
    resolved = await resolver.resolve(
        [channel], on_entry=lambda e, n, t: seen.append((e.title, n, t))
    )
    assert [e.title for e in resolved.entries] == [f"Video {n}" for n in range(6)]
    assert seen == [(f"Video {n}", n + 1, 6) for n in range(6)]

    # cancelled from the first entry on: the worker stops at the next item
    cancel = threading.Event()
    got: list[str | None] = []

    def first_then_cancel(entry: pages.PageEntry, found: int, total: int | None) -> None:
        got.append(entry.title)
        cancel.set()

    with pytest.raises(pages.ResolveCancelled):
        pages.resolve_sync([channel], on_entry=first_then_cancel, cancel=cancel)
    assert got == ["Video 0"]


def test_bad_urls_are_refused_before_any_request() -> None:
    with pytest.raises(BadInput):
        pages.resolve_sync(["ftp://example.org/feed"])


# -- add --resolve: jobs through drayman's own engine ---------------------------------


def added_ids(result: Any) -> list[int]:
    assert result.returncode == 0, result.stderr
    return [int(line) for line in result.stdout.split()]


def test_add_resolve_lands_every_item_byte_exact_one_folder_per_author(
    site: LoopbackServer, db_path: Path, downloads: Path
) -> None:
    bodies = add_feed(site, "/feed.xml", "Loop Cast", feed_items(site))
    walk = make_body(9000, seed=7)
    add_video_page(site, "/watch.html", "A walk", "/v/walk.mp4", walk, site.url("/t/w.png"))
    fake = FakeSite(site)
    first = fake.add_video("b1", "Intro", uploader="Bea")
    second = fake.add_video("b2", "Outro")
    channel = fake.add_channel("bea", "Bea's channel", ["b1", "b2"], uploader="Bea B")

    result = run_cli(
        db_path,
        "add",
        "--resolve",
        site.url("/feed.xml"),
        site.url("/watch.html"),
        channel,
        "-d",
        str(downloads),
        "--template",
        "{author}/{title}.{ext}",
        env=plugin_env(),
    )
    assert len(added_ids(result)) == 5

    run = run_cli(db_path, "run", "--until-idle")
    assert run.returncode == 0, run.stderr
    files = {
        str(p.relative_to(downloads)).replace(os.sep, "/"): p.read_bytes()
        for p in downloads.rglob("*")
        if p.is_file()
    }
    walk_name = next(name for name in files if name.endswith(".mp4") and "walk" in name)
    assert files == {
        "Loop Cast/Episode 1_ Pilot.mp3": bodies["ep1.mp3"],
        "Loop Cast/Episode 2.mp3": bodies["ep2.mp3"],
        walk_name: walk,
        "Bea/Intro.mp4": first,
        "Bea B/Outro.mp4": second,
    }
    jobs = json.loads(run_cli(db_path, "ls", "--json").stdout)
    assert {j["state"] for j in jobs} == {"done"}
    assert {j["page_url"] for j in jobs} == {
        site.url("/feed.xml"),
        site.url("/watch.html"),
        fake.page("b1"),
        fake.page("b2"),
    }
    # the format's own headers went with the download
    (media,) = [r for r in site.requests_for("/fakemedia/b1.mp4") if r.method == "GET"][-1:]
    assert media.headers["Referer"] == fake.page("b1")


def test_playlist_and_index_name_files_of_a_channel(
    site: LoopbackServer, db_path: Path, downloads: Path
) -> None:
    fake = FakeSite(site)
    bodies = [fake.add_video(f"c{n}", f"Part {n}", uploader="Cy") for n in (1, 2, 3)]
    channel = fake.add_channel("cy", "Cy: the series", ["c1", "c2", "c3"], uploader="Cy")

    result = run_cli(
        db_path,
        "add",
        "--resolve",
        channel,
        "-d",
        str(downloads),
        "--template",
        "{playlist}/{index} {title}.{ext}",
        env=plugin_env(),
    )
    added_ids(result)
    assert run_cli(db_path, "run", "--until-idle").returncode == 0

    folder = downloads / "Cy_ the series"
    assert sorted(p.name for p in folder.iterdir()) == [
        "1 Part 1.mp4",
        "2 Part 2.mp4",
        "3 Part 3.mp4",
    ]
    assert [(folder / f"{n} Part {n}.mp4").read_bytes() for n in (1, 2, 3)] == bodies


def test_a_cookie_from_the_page_goes_to_the_media_origin_only(
    site: LoopbackServer, other_server: LoopbackServer, db_path: Path, downloads: Path
) -> None:
    fake = FakeSite(site)
    body = fake.add_video("k1", "Kept", uploader="Kay", redirect_to=other_server.url("/cdn/k1.mp4"))
    other_server.add("/cdn/k1.mp4", body, content_type="video/mp4")
    site.resources["/fakesite/video/k1.json"].extra_headers["Set-Cookie"] = "session=s3cret; Path=/"

    entries = resolve_json(db_path, fake.page("k1"))
    assert "Cookie" in entries[0]["header_names"]
    added_ids(
        run_cli(
            db_path, "add", "--resolve", fake.page("k1"), "-d", str(downloads), env=plugin_env()
        )
    )
    assert run_cli(db_path, "run", "--until-idle").returncode == 0

    assert (downloads / "k1.mp4").read_bytes() == body
    asked = [r for r in site.requests_for("/fakemedia/k1.mp4") if r.method == "GET"]
    assert asked and asked[-1].headers.get("Cookie") == "session=s3cret"
    redirected = other_server.requests_for("/cdn/k1.mp4")
    assert redirected and all("Cookie" not in r.headers for r in redirected)
    listed = run_cli(db_path, "ls", "--json").stdout
    assert "s3cret" not in listed


def test_add_resolve_adds_nothing_when_one_page_yields_nothing(
    site: LoopbackServer, db_path: Path, downloads: Path
) -> None:
    add_feed(site, "/feed.xml", "Loop Cast", feed_items(site))

    result = run_cli(
        db_path,
        "add",
        "--resolve",
        site.url("/feed.xml"),
        site.url("/nothing-here.html"),
        "-d",
        str(downloads),
        env=plugin_env(),
    )

    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        line for line in result.stderr.strip().splitlines() if line.startswith("drayman: error: ")
    ]
    assert site.url("/nothing-here.html") in result.stderr
    assert json.loads(run_cli(db_path, "ls", "--json").stdout) == []


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["add", "https://example.org/a", "--format", "best"], "--resolve"),
        (["add", "--resolve", "https://example.org/p", "-o", "x.mp4"], "--template"),
        (["add", "--resolve", "https://example.org/p", "--template", "{nope}"], "unknown field"),
    ],
)
def test_add_resolve_refuses_bad_combinations(args: list[str], says: str, db_path: Path) -> None:
    result = run_cli(db_path, *args)

    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1 and says in result.stderr


# -- expired links: a fresh one from the job's page ------------------------------------


@pytest.mark.parametrize("changed", [False, True], ids=["same-file", "file-changed"])
def test_an_expired_link_is_renewed_from_its_page_and_never_spliced(
    changed: bool, site: LoopbackServer, db_path: Path, downloads: Path
) -> None:
    fake = FakeSite(site)
    size, cut = 3 * 1024 * 1024, 1024 * 1024 + 5
    # the first answer breaks off after a MiB; by then the link has expired
    body = fake.add_video(
        "x1", "Expiring", uploader="Eve", size=size, reset_after=cut, fault_times=1
    )
    new_body = make_body(size + 7, seed=4242) if changed else None
    fake.expire_after_first("x1", "t2", new_body)
    added_ids(
        run_cli(
            db_path, "add", "--resolve", fake.page("x1"), "-d", str(downloads), env=plugin_env()
        )
    )

    run = run_cli(db_path, "-v", "run", "--until-idle", env=plugin_env())

    assert run.returncode == 0, run.stderr
    final = (downloads / "x1.mp4").read_bytes()
    asked = [(r.query, r.headers.get("Range")) for r in site.requests_for("/fakemedia/x1.mp4")]
    # the first link; its resume refused (403); the fresh link, resumed from the same offset
    assert [query for query, _ in asked] == ["token=t1", "token=t1", "token=t2"]
    assert asked[0][1] is None
    offset = int(str(asked[1][1]).removeprefix("bytes=").removesuffix("-"))
    assert 0 < offset <= cut
    assert asked[2][1] == f"bytes={offset}-"
    sent = site.bytes_sent["/fakemedia/x1.mp4"]
    if changed:
        # another file behind the fresh link: If-Range got a 200, the download began again
        assert final == new_body
        assert sent <= cut + len(new_body)
    else:
        assert final == body
        assert sent <= size + cut - offset  # resumed: what was kept was not fetched again
    (job,) = json.loads(run_cli(db_path, "ls", "--json").stdout)
    assert job["state"] == "done" and job["url"].endswith("token=t2")
    assert job["page_url"] == fake.page("x1")
    assert "fresh link" in run.stderr


def test_a_link_that_stays_refused_fails_after_a_few_renewals(
    site: LoopbackServer, db_path: Path, downloads: Path
) -> None:
    fake = FakeSite(site)
    fake.add_video("y1", "Refused", uploader="Eve")
    added_ids(
        run_cli(
            db_path, "add", "--resolve", fake.page("y1"), "-d", str(downloads), env=plugin_env()
        )
    )
    # every link answers 403 from now on, and the page signs a new one at each read
    site.resources[fake.media_path("y1")].hook = lambda index, request: {"status": 403}
    page_json = "/fakesite/video/y1.json"

    def renew(index: int, request: Any) -> None:
        fake.rotate(f"r{len(site.requests_for(page_json))}")
        site.resources[page_json].hook = renew

    fake.rotate("t2")
    site.resources[page_json].hook = renew

    run = run_cli(db_path, "-v", "run", "--until-idle", env=plugin_env())

    assert run.returncode == 1
    (job,) = json.loads(run_cli(db_path, "ls", "--json").stdout)
    assert job["state"] == "failed"
    assert "HTTP 403" in job["error"] and "link still fails" in job["error"]
    # the page was resolved again a bounded number of times
    assert len(site.requests_for(page_json)) == 1 + 3


def test_a_plain_job_answered_403_fails_as_before(
    site: LoopbackServer, db_path: Path, downloads: Path
) -> None:
    site.add("/plain.bin", make_body(100), status_script=[(403, {})])

    added_ids(run_cli(db_path, "add", site.url("/plain.bin"), "-d", str(downloads)))
    run = run_cli(db_path, "run", "--until-idle")

    assert run.returncode == 1
    (job,) = json.loads(run_cli(db_path, "ls", "--json").stdout)
    assert job["error"] == "the server answered HTTP 403 Forbidden"


def test_format_picks_yt_dlps_selection_and_separate_streams_are_refused(
    site: LoopbackServer, db_path: Path
) -> None:
    fake = FakeSite(site)
    fake.add_video("f1", "Formats", uploader="Fay")

    picture = resolve_json(db_path, fake.page("f1"), extra=("--format", "video-only-1080"))
    merged = run_cli(
        db_path,
        "resolve",
        fake.page("f1"),
        "--json",
        "--format",
        "video-only-1080+audio-only",
        env=plugin_env(),
    )

    # a single file, picture only: what was asked for
    assert [e["url"] for e in picture] == [site.url("/fakemedia/f1.mp4?token=t1&v=1080")]
    # two streams to merge: drayman does not, and says so in one line
    assert merged.returncode == 2
    assert merged.stderr.count("\n") == 1
    assert "separate video and audio streams" in merged.stderr


async def test_an_item_outside_a_playlist_gets_no_playlist_folder(
    db_path: Path, tmp_path: Path
) -> None:
    from drayman.batch import Entry
    from drayman.queue.jobqueue import JobQueue

    queue = await JobQueue.open(db_path)
    try:
        solo, listed = await queue.plan(
            [
                Entry(url="http://127.0.0.1:9/solo.mp4", where="1", title="Solo"),
                Entry(url="http://127.0.0.1:9/b.mp4", where="2", title="B", playlist="Set"),
            ],
            dest_dir=tmp_path,
            template="{playlist}/{title}.{ext}",
        )
    finally:
        await queue.close()

    assert solo.dest_dir == str(tmp_path)
    assert listed.dest_dir == str(tmp_path / "Set")


def test_pages_are_read_through_the_proxy_given_and_never_around_it(
    site: LoopbackServer, db_path: Path, http_proxy: HttpProxy
) -> None:
    """``--proxy`` and ``--no-proxy`` hold for reading pages as for downloading:
    a user who routes drayman through a proxy does not want yt-dlp going straight."""
    add_feed(site, "/feed.xml", "Loop Cast", feed_items(site))
    feed = site.url("/feed.xml")
    # the environment names a proxy that is not there: reading pages without a flag
    # follows it (as downloads do), so it fails; each flag overrides it
    dead = {"http_proxy": "http://127.0.0.1:9", "HTTP_PROXY": "", "NO_PROXY": "", "no_proxy": ""}
    env = {**plugin_env(), **dead}

    through = run_cli(db_path, "resolve", feed, "--json", "--proxy", http_proxy.proxy_url, env=env)
    assert through.returncode == 0, through.stderr
    assert [e["title"] for e in json.loads(through.stdout)] == ["Episode 1: Pilot", "Episode 2"]
    assert ("GET", feed) in [(r.method, r.path) for r in http_proxy.requests]

    asked = len(http_proxy.requests)
    straight = run_cli(db_path, "resolve", feed, "--json", "--no-proxy", env=env)
    assert straight.returncode == 0, straight.stderr
    assert len(json.loads(straight.stdout)) == 2
    assert len(http_proxy.requests) == asked  # not one request through the proxy

    environment = run_cli(db_path, "resolve", feed, "--json", env=env)
    assert environment.returncode == 2, environment.stdout
    assert len(http_proxy.requests) == asked

    # add --resolve reads its pages through add's own --proxy
    added = run_cli(
        db_path,
        "add",
        "--resolve",
        feed,
        "--proxy",
        http_proxy.proxy_url,
        "-d",
        str(db_path.parent),
        env=env,
    )
    assert added.returncode == 0, added.stderr
    assert [(r.method, r.path) for r in http_proxy.requests[asked:]].count(("GET", feed)) >= 1


def test_an_expired_links_page_is_read_again_through_the_jobs_proxy(
    site: LoopbackServer, db_path: Path, downloads: Path, http_proxy: HttpProxy
) -> None:
    fake = FakeSite(site)
    size = 2 * 1024 * 1024
    body = fake.add_video(
        "x1", "Expiring", uploader="Eve", size=size, reset_after=5000, fault_times=1
    )
    fake.expire_after_first("x1", "t2", None)
    proxy = ["--proxy", http_proxy.proxy_url]
    page = fake.page("x1")
    added = run_cli(
        db_path, "add", "--resolve", page, "-d", str(downloads), *proxy, env=plugin_env()
    )
    assert added.returncode == 0, added.stderr

    run = run_cli(db_path, "-v", "run", "--until-idle", env=plugin_env())

    assert run.returncode == 0, run.stderr
    assert (downloads / "x1.mp4").read_bytes() == body
    assert "fresh link" in run.stderr
    through = [r.path for r in http_proxy.requests]
    # the page read when added, and again for the fresh link: both through the job's proxy
    reads = [p for p in through if "/fakesite/video/x1" in p]
    assert len(reads) >= 2, through
    assert any("token=t2" in p for p in through)  # and the file itself, by its fresh link


def test_add_resolve_reads_a_page_through_its_hosts_rule_proxy(
    site: LoopbackServer, db_path: Path, downloads: Path, http_proxy: HttpProxy
) -> None:
    add_feed(site, "/feed.xml", "Loop Cast", feed_items(site))
    feed = site.url("/feed.xml")
    rule = run_cli(db_path, "rules", "add", "127.0.0.1", "--proxy", http_proxy.proxy_url)
    assert rule.returncode == 0, rule.stderr
    # the environment says straight for this host: the rule says otherwise, and wins
    env = {**plugin_env(), "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}

    added = run_cli(db_path, "add", "--resolve", feed, "-d", str(downloads), env=env)

    assert added.returncode == 0, added.stderr
    assert len(added.stdout.split()) == 2  # two jobs
    assert ("GET", feed) in [(r.method, r.path) for r in http_proxy.requests]


def test_resolve_reads_a_page_through_its_hosts_rule_proxy(
    site: LoopbackServer, db_path: Path, http_proxy: HttpProxy
) -> None:
    """A listing goes where a download would: the rule's proxy beats NO_PROXY."""
    add_feed(site, "/feed.xml", "Loop Cast", feed_items(site))
    feed = site.url("/feed.xml")
    env = {**plugin_env(), "NO_PROXY": "127.0.0.1", "no_proxy": "127.0.0.1"}
    fresh = db_path.parent / "never-made.db"

    # no database: no rules, and the listing does not make one
    straight = run_cli(fresh, "resolve", feed, "--json", env=env)
    assert straight.returncode == 0, straight.stderr
    assert len(json.loads(straight.stdout)) == 2
    assert not fresh.exists()
    assert http_proxy.requests == []

    rule = run_cli(db_path, "rules", "add", "127.0.0.1", "--proxy", http_proxy.proxy_url)
    assert rule.returncode == 0, rule.stderr
    listed = run_cli(db_path, "resolve", feed, "--json", env=env)

    assert listed.returncode == 0, listed.stderr
    assert len(json.loads(listed.stdout)) == 2
    assert ("GET", feed) in [(r.method, r.path) for r in http_proxy.requests]
