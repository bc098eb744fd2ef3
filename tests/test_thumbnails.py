"""ThumbnailFetcher against real loopback servers: cache, size cap, headers per origin, bounds."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import os
from pathlib import Path

from drayman.queue.engine import Engine, EngineConfig
from drayman.queue.thumbnails import ThumbnailFetcher
from drayman.rules import Rule, hop_headers
from httpserver import LoopbackServer, make_body

SECRETS = [("Cookie", "session=s3cret"), ("Authorization", "Bearer t0ken")]


async def test_a_cached_thumbnail_costs_no_request(
    http_server: LoopbackServer, tmp_path: Path
) -> None:
    image = make_body(5000, seed=1)
    http_server.add("/t/1.jpg", image)
    url = http_server.url("/t/1.jpg")
    first = ThumbnailFetcher(tmp_path / "cache")
    try:
        assert await first.fetch(url) == image
    finally:
        await first.close()
    stored = tmp_path / "cache" / hashlib.sha256(url.encode()).hexdigest()
    assert stored.read_bytes() == image
    # a new fetcher (the next open of the dialog) on the same folder
    second = ThumbnailFetcher(tmp_path / "cache")
    try:
        assert await second.fetch(url) == image
        assert (second.requests, second.cache_hits) == (0, 1)
    finally:
        await second.close()
    assert len(http_server.requests_for("/t/1.jpg")) == 1


async def test_too_big_missing_and_empty_images_are_none_and_not_cached(
    http_server: LoopbackServer, tmp_path: Path
) -> None:
    cap = 10_000
    http_server.add("/exact", make_body(cap, seed=2))
    http_server.add("/declared", make_body(cap + 1, seed=3))
    # no Content-Length: the cap is enforced while reading
    http_server.add("/chunked", make_body(cap * 5, seed=4), chunked=True)
    http_server.add("/empty", b"")
    fetcher = ThumbnailFetcher(tmp_path / "cache", max_bytes=cap)
    try:
        assert await fetcher.fetch(http_server.url("/exact")) == make_body(cap, seed=2)
        for path in ("/declared", "/chunked", "/missing", "/empty"):
            assert await fetcher.fetch(http_server.url(path)) is None, path
        # nothing was kept for them: asking again asks the server again
        for path in ("/declared", "/chunked", "/missing"):
            assert await fetcher.fetch(http_server.url(path)) is None
            assert len(http_server.requests_for(path)) == 2, path
    finally:
        await fetcher.close()
    assert len(os.listdir(tmp_path / "cache")) == 1


async def test_credentials_go_only_to_the_entry_origin_even_after_a_redirect(
    http_server: LoopbackServer, other_server: LoopbackServer, tmp_path: Path
) -> None:
    entry_url = http_server.url("/v/1.mp4")
    other_server.add("/img/1.png", b"png-1")
    other_server.add("/img/2.png", b"png-2")
    http_server.add("/thumb/1", redirect_to=other_server.url("/img/1.png"))
    http_server.add("/img/3.png", b"png-3")
    headers = [*SECRETS, ("Referer", "https://site.example/")]
    rules = [Rule(id=1, pattern="127.0.0.2", headers=(("X-Rule", "cdn"),))]
    fetcher = ThumbnailFetcher(tmp_path / "cache")
    try:
        # same origin as the entry, then a redirect to another host
        got = await fetcher.fetch(
            http_server.url("/thumb/1"), headers, given_for=entry_url, rules=rules
        )
        assert got == b"png-1"
        # on another host from the start
        got = await fetcher.fetch(
            other_server.url("/img/2.png"), headers, given_for=entry_url, rules=rules
        )
        assert got == b"png-2"
        # on the entry's own host
        got = await fetcher.fetch(
            http_server.url("/img/3.png"), headers, given_for=entry_url, rules=rules
        )
        assert got == b"png-3"
    finally:
        await fetcher.close()
    [first_hop] = http_server.requests_for("/thumb/1")
    [own_host] = http_server.requests_for("/img/3.png")
    for request in (first_hop, own_host):
        assert request.headers["Cookie"] == "session=s3cret"
        assert request.headers["Authorization"] == "Bearer t0ken"
        assert request.headers["Referer"] == "https://site.example/"
        assert "X-Rule" not in request.headers  # the rule is for the other host
    for path in ("/img/1.png", "/img/2.png"):
        [request] = other_server.requests_for(path)
        assert "Cookie" not in request.headers and "Authorization" not in request.headers
        assert request.headers["Referer"] == "https://site.example/"  # not a credential
        assert request.headers["X-Rule"] == "cdn"
        assert request.headers["Accept-Encoding"] == "identity"


def test_an_entry_header_wins_over_a_rule_of_the_same_name() -> None:
    rules = [Rule(id=1, pattern="cdn.example", headers=(("Referer", "rule"), ("X-A", "a")))]
    sent = hop_headers(
        "https://cdn.example/t.jpg", [("Referer", "mine")], "https://site.example/v", rules
    )
    assert sent == [("X-A", "a"), ("Referer", "mine"), ("Accept-Encoding", "identity")]


async def test_a_rule_authorization_yields_to_credentials_in_the_thumbnail_url(
    http_server: LoopbackServer, tmp_path: Path
) -> None:
    """As for a download: the HTTP client cannot send both, so the URL's own wins."""
    http_server.add("/t.png", b"behind basic auth")
    url = f"http://ann:pw@127.0.0.1:{http_server.port}/t.png"
    rules = [Rule(id=1, pattern="127.0.0.1", headers=(("Authorization", "Bearer rule"),))]
    fetcher = ThumbnailFetcher(tmp_path / "cache")
    try:
        assert await fetcher.fetch(url, rules=rules) == b"behind basic auth"
    finally:
        await fetcher.close()
    [request] = http_server.requests_for("/t.png")
    assert request.headers["Authorization"] == "Basic " + base64.b64encode(b"ann:pw").decode()


async def test_requests_are_bounded_and_all_arrive(
    http_server: LoopbackServer, tmp_path: Path
) -> None:
    for n in range(24):
        http_server.add(f"/t/{n}", f"image {n}".encode(), delay=0.05)
    fetcher = ThumbnailFetcher(tmp_path / "cache", concurrency=3)
    try:
        got = await asyncio.gather(*(fetcher.fetch(http_server.url(f"/t/{n}")) for n in range(24)))
    finally:
        await fetcher.close()
    assert got == [f"image {n}".encode() for n in range(24)]
    assert 1 <= http_server.peak_in_flight <= 3
    assert fetcher.in_flight == 0


async def test_the_engine_session_serves_thumbnails_and_outlives_the_fetcher(
    http_server: LoopbackServer, db_path: Path, downloads: Path, tmp_path: Path
) -> None:
    http_server.add("/t.png", b"thumb")
    http_server.add("/file.bin", b"file after the thumbnail")
    async with Engine(db_path, EngineConfig(poll_interval=0.05)) as engine:
        fetcher = engine.thumbnails(tmp_path / "cache")
        assert await fetcher.fetch(http_server.url("/t.png")) == b"thumb"
        await fetcher.close()  # not its session to close
        await engine.queue.add([http_server.url("/file.bin")], dest_dir=downloads)
        await asyncio.wait_for(engine.wait_idle(), 30)
    assert (downloads / "file.bin").read_bytes() == b"file after the thumbnail"


async def test_prune_keeps_the_most_recently_used(tmp_path: Path) -> None:
    folder = tmp_path / "cache"
    folder.mkdir()
    for n in range(5):
        path = folder / f"f{n}"
        path.write_bytes(b"x" * 1000)
        os.utime(path, (1_000_000 + n, 1_000_000 + n))
    fetcher = ThumbnailFetcher(folder)
    assert await fetcher.prune(keep_bytes=2500) == 3
    assert sorted(os.listdir(folder)) == ["f3", "f4"]
    assert await ThumbnailFetcher(tmp_path / "absent").prune() == 0


async def test_tls_is_checked_unless_a_rule_opted_out_for_the_host(
    https_server: LoopbackServer, tmp_path: Path
) -> None:
    https_server.add("/t.png", b"over tls")
    url = https_server.url("/t.png")
    fetcher = ThumbnailFetcher(tmp_path / "cache")
    try:
        # signed by a CA the client was not told to trust: refused, a placeholder
        assert await fetcher.fetch(url) is None
        opted_out = [Rule(id=1, pattern="127.0.0.1", insecure=True)]
        assert await fetcher.fetch(url, rules=opted_out) == b"over tls"
    finally:
        await fetcher.close()
