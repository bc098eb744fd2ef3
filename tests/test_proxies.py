"""Proxies: HTTP (absolute-form and CONNECT) and SOCKS5 on loopback, flags, rules, variables."""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path

import pytest

from conftest import run_cli
from drayman.errors import InvalidProxy, ProxyLost
from drayman.jobs import Job, JobState
from drayman.proxies import (
    DIRECT,
    ProxyEnvironment,
    ProxySettings,
    bypassed,
    choose_proxy,
    validate_proxy,
)
from drayman.queue.engine import Engine
from httpserver import LoopbackServer, TLSFiles, make_body
from proxyserver import HttpProxy, SocksProxy
from test_engine import fast_config

KiB, MiB = 1024, 1024 * 1024
PASSWORD = "pr0xy-pa55word"


# -- the choice, without a network -----------------------------------------------------


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("proxy.corp:3128", "http://proxy.corp:3128"),
        ("http://proxy.corp", "http://proxy.corp:1080"),
        ("HTTPS://Proxy.Corp/", "https://proxy.corp:443"),
        ("socks5h://u:p%40ss@127.0.0.1:9050", "socks5h://u:p%40ss@127.0.0.1:9050"),
        ("socks5://[::1]:1080", "socks5://[::1]:1080"),
    ],
)
def test_a_proxy_url_is_read_as_curl_reads_it(given: str, expected: str) -> None:
    assert validate_proxy(given) == expected


@pytest.mark.parametrize(
    "given", ["ftp://h:21", "socks4://h:1080", "http://", "http://h:0", "http://h:99999", "h p"]
)
def test_a_bad_proxy_is_one_line_without_its_password(given: str) -> None:
    with pytest.raises(InvalidProxy) as caught:
        validate_proxy(given.replace("://", f"://user:{PASSWORD}@", 1))
    assert PASSWORD not in str(caught.value) and "\n" not in str(caught.value)


def test_no_proxy_matches_as_curl_does() -> None:
    entries = ("example.com", ".corp.net", "10.0.0.0/8", "::1", "files.test:8080")
    assert bypassed("example.com", 80, entries)
    assert bypassed("dl.example.com", 443, entries)
    assert not bypassed("notexample.com", 80, entries)
    assert bypassed("corp.net", 80, entries) and bypassed("a.b.corp.net", 80, entries)
    assert bypassed("10.1.2.3", 80, entries) and not bypassed("11.1.2.3", 80, entries)
    assert bypassed("::1", 80, entries)
    assert bypassed("files.test", 8080, entries) and not bypassed("files.test", 80, entries)
    assert bypassed("anything", 1, ("*",))


def test_the_most_specific_choice_wins() -> None:
    env = ProxyEnvironment.from_environ(
        {
            "http_proxy": "http://lower:1",
            "HTTP_PROXY": "http://upper:1",
            "HTTPS_PROXY": "socks5h://tls:2",
            "ALL_PROXY": "http://all:3",
            "NO_PROXY": "near.example",
        }
    )
    assert env.http == "http://lower:1" and env.https == "socks5h://tls:2"
    default = ProxySettings()

    def chosen(
        url: str, *, job: str | None = None, rule: str | None = None, **run: object
    ) -> str | None:
        settings = ProxySettings(**run) if run else default  # type: ignore[arg-type]
        return choose_proxy(url, job_proxy=job, rule_proxy=rule, settings=settings, environment=env)

    assert chosen("http://far.example/x") == "http://lower:1"
    assert chosen("https://far.example/x") == "socks5h://tls:2"
    assert chosen("http://near.example/x") is None
    assert chosen("http://far.example/x", use_environment=False) is None
    assert chosen("http://far.example/x", proxy="http://run:4") == "http://run:4"
    # NO_PROXY applies to the run's --proxy too (curl's reading), unless --no-proxy
    assert chosen("http://near.example/x", proxy="http://run:4") is None
    assert chosen("http://near.example/x", job="http://job:5") == "http://job:5"
    assert chosen("http://far.example/x", rule=DIRECT) is None
    assert chosen("http://far.example/x", job=DIRECT, rule="http://rule:6") is None
    assert chosen("http://far.example/x", rule="http://rule:6", proxy="http://run:4") == (
        "http://rule:6"
    )
    # the run's proxy lost (the window's file gone): refused, never the environment's
    # or none instead; a job's or a rule's own still goes its way
    with pytest.raises(ProxyLost, match="window-proxy is missing"):
        chosen("http://far.example/x", lost="window-proxy is missing")
    assert chosen("http://far.example/x", job=DIRECT, lost="gone") is None
    assert chosen("http://far.example/x", rule="http://rule:6", lost="gone") == "http://rule:6"
    # inside a CGI program HTTP_PROXY is a request header: only http_proxy counts
    cgi = ProxyEnvironment.from_environ({"HTTP_PROXY": "http://evil:1", "REQUEST_METHOD": "GET"})
    assert cgi.http is None
    with pytest.raises(InvalidProxy, match="HTTPS_PROXY"):
        ProxyEnvironment.from_environ({"HTTPS_PROXY": "ftp://x"})


# -- through real proxies on loopback ----------------------------------------------------


async def download(db_path: Path, url: str, folder: Path, **transfer: object) -> Job:
    async with Engine(db_path, fast_config(**transfer)) as engine:
        [job_id] = await engine.queue.add([url], dest_dir=folder)
        await asyncio.wait_for(engine.wait_idle(), 30)
        return await engine.queue.get(job_id)


async def test_an_http_proxy_forwards_in_absolute_form(
    db_path: Path, downloads: Path, http_server: LoopbackServer, http_proxy: HttpProxy
) -> None:
    body = make_body(300 * KiB)
    http_server.add("/a.bin", body)
    job = await download(db_path, http_server.url("/a.bin"), downloads, proxy=http_proxy.proxy_url)
    assert job.state == JobState.DONE, job.error
    assert (downloads / "a.bin").read_bytes() == body
    [through] = http_proxy.requests
    assert (through.method, through.path) == ("GET", http_server.url("/a.bin"))


async def test_https_goes_through_an_http_proxy_in_a_connect_tunnel(
    db_path: Path,
    downloads: Path,
    https_server: LoopbackServer,
    tls: TLSFiles,
    http_proxy: HttpProxy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="drayman.queue.pump")
    body = make_body(2 * MiB + 5)
    https_server.add("/s.bin", body)
    job = await download(
        db_path,
        https_server.url("/s.bin"),
        downloads,
        proxy=http_proxy.proxy_url,
        ca_files=(str(tls.ca_file),),
        # a pump would be welcome: a TLS socket's bytes are not the body, it must refuse
        pump_min_size=1,
    )
    assert job.state == JobState.DONE, job.error
    assert (downloads / "s.bin").read_bytes() == body
    assert http_proxy.requests
    assert {(r.method, r.path) for r in http_proxy.requests} == {
        ("CONNECT", f"127.0.0.1:{https_server.port}")
    }
    assert "a pump thread takes over" not in caplog.text


async def test_an_https_proxy_is_reached_over_tls(
    db_path: Path, downloads: Path, http_server: LoopbackServer, tls: TLSFiles
) -> None:
    body = make_body(200 * KiB)
    http_server.add("/t.bin", body)
    with HttpProxy(ssl_context=tls.server_context()) as proxy:
        assert proxy.proxy_url.startswith("https://")
        job = await download(
            db_path,
            http_server.url("/t.bin"),
            downloads,
            proxy=proxy.proxy_url,
            ca_files=(str(tls.ca_file),),
        )
        through = [(r.method, r.path) for r in proxy.requests]
    assert job.state == JobState.DONE, job.error
    assert (downloads / "t.bin").read_bytes() == body
    assert through == [("GET", http_server.url("/t.bin"))]


async def test_a_proxy_password_goes_to_the_proxy_only(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    body = make_body(20 * KiB)
    http_server.add("/p.bin", body)
    with HttpProxy(credentials=("ann", PASSWORD)) as proxy:
        port = proxy.port
        wrong = await download(
            db_path,
            http_server.url("/p.bin"),
            downloads,
            proxy=f"http://ann:nope@127.0.0.1:{proxy.port}",
        )
        right = await download(
            db_path.with_name("2.db"),
            http_server.url("/p.bin"),
            downloads / "sub",
            proxy=validate_proxy(f"http://ann:{PASSWORD}@127.0.0.1:{proxy.port}"),
        )
    assert wrong.state == JobState.FAILED
    assert f"the proxy http://ann:***@127.0.0.1:{port} answered HTTP 407" in (wrong.error or "")
    assert PASSWORD not in (wrong.error or "")
    assert right.state == JobState.DONE, right.error
    assert (downloads / "sub" / "p.bin").read_bytes() == body
    assert all("Proxy-Authorization" not in r.headers for r in http_server.requests)


async def test_socks5_resolves_here_and_socks5h_at_the_proxy(
    db_path: Path, downloads: Path, http_server: LoopbackServer, socks_proxy: SocksProxy
) -> None:
    body = make_body(100 * KiB)
    http_server.add("/k.bin", body)
    job = await download(
        db_path, http_server.url("/k.bin"), downloads, proxy=socks_proxy.proxy_url("socks5")
    )
    assert job.state == JobState.DONE, job.error
    assert (downloads / "k.bin").read_bytes() == body
    assert [(c.address_type, c.host, c.port) for c in socks_proxy.connects] == [
        (1, "127.0.0.1", http_server.port)
    ]
    # a name only the proxy knows: socks5h hands it over unresolved
    socks_proxy.names["files.drayman.test"] = "127.0.0.1"
    named = f"http://files.drayman.test:{http_server.port}/k.bin"
    again = await download(
        db_path.with_name("2.db"),
        named,
        downloads / "h",
        proxy=socks_proxy.proxy_url("socks5h"),
    )
    assert again.state == JobState.DONE, again.error
    assert (downloads / "h" / "k.bin").read_bytes() == body
    assert (socks_proxy.connects[-1].address_type, socks_proxy.connects[-1].host) == (
        3,
        "files.drayman.test",
    )


# pump_min_size 1: the bodies moved by pump threads (SOCKS hands over a plain socket)
@pytest.mark.parametrize("pump_min_size", [0, 1])
async def test_a_segmented_download_through_socks_with_a_password(
    db_path: Path,
    downloads: Path,
    http_server: LoopbackServer,
    pump_min_size: int,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="drayman.queue.pump")
    body = make_body(5 * MiB + 7)
    http_server.add("/big.bin", body)
    with SocksProxy(credentials=("ann", PASSWORD)) as proxy:
        job = await download(
            db_path,
            http_server.url("/big.bin"),
            downloads,
            proxy=f"socks5://ann:{PASSWORD}@127.0.0.1:{proxy.port}",
            split=4,
            split_min_size=1 * MiB,
            min_segment=256 * KiB,
            pump_min_size=pump_min_size,
        )
        wrong = await download(
            db_path.with_name("2.db"),
            http_server.url("/big.bin"),
            downloads / "wrong",
            proxy=f"socks5://ann:nope@127.0.0.1:{proxy.port}",
        )
        connects = len(proxy.connects)
    assert job.state == JobState.DONE, job.error
    assert (downloads / "big.bin").read_bytes() == body
    # the segments' connections came through it (kept alive for the next ranges)
    assert 1 < connects <= len(http_server.requests_for("/big.bin"))
    assert ("a pump thread takes over" in caplog.text) == bool(pump_min_size)
    assert wrong.state == JobState.FAILED
    assert "refused its user and password" in (wrong.error or "")
    assert PASSWORD not in (wrong.error or "")


# -- the command line: variables, NO_PROXY, --no-proxy, per job, per rule -----------------


def test_the_variables_are_honoured_and_no_proxy_goes_direct(
    db_path: Path, downloads: Path, http_server: LoopbackServer, http_proxy: HttpProxy
) -> None:
    body = make_body(64 * KiB)
    for name in ("one.bin", "two.bin", "three.bin"):
        http_server.add(f"/{name}", body)
    env = {"HTTP_PROXY": http_proxy.proxy_url}
    assert (
        run_cli(db_path, "add", http_server.url("/one.bin"), "-d", str(downloads)).returncode == 0
    )
    ran = run_cli(db_path, "run", "--until-idle", env=env)
    assert ran.returncode == 0, ran.stderr
    assert [r.path for r in http_proxy.requests] == [http_server.url("/one.bin")]

    # NO_PROXY names the host: straight to the server, the proxy sees nothing
    assert (
        run_cli(db_path, "add", http_server.url("/two.bin"), "-d", str(downloads)).returncode == 0
    )
    ran = run_cli(db_path, "run", "--until-idle", env={**env, "no_proxy": "localhost,127.0.0.1"})
    assert ran.returncode == 0, ran.stderr
    # --no-proxy: the variables do not count
    assert (
        run_cli(db_path, "add", http_server.url("/three.bin"), "-d", str(downloads)).returncode == 0
    )
    ran = run_cli(db_path, "run", "--until-idle", "--no-proxy", env=env)
    assert ran.returncode == 0, ran.stderr
    assert len(http_proxy.requests) == 1
    for name in ("one.bin", "two.bin", "three.bin"):
        assert (downloads / name).read_bytes() == body
    assert len(http_server.requests) == 3


def test_all_proxy_reaches_socks_and_a_jobs_own_choice_wins(
    db_path: Path,
    downloads: Path,
    http_server: LoopbackServer,
    socks_proxy: SocksProxy,
    http_proxy: HttpProxy,
) -> None:
    body = make_body(64 * KiB)
    for name in ("env.bin", "direct.bin", "job.bin", "rule.bin"):
        http_server.add(f"/{name}", body)
    env = {"ALL_PROXY": socks_proxy.proxy_url("socks5h")}

    def add(name: str, *flags: str) -> None:
        done = run_cli(db_path, "add", http_server.url(f"/{name}"), "-d", str(downloads), *flags)
        assert done.returncode == 0, done.stderr

    add("env.bin")
    add("direct.bin", "--no-proxy")
    add("job.bin", "--proxy", http_proxy.proxy_url)
    ran = run_cli(db_path, "run", "--until-idle", "-j", "1", env=env)
    assert ran.returncode == 0, ran.stderr
    assert [(c.host, c.port) for c in socks_proxy.connects] == [("127.0.0.1", http_server.port)]
    assert [r.path for r in http_proxy.requests] == [http_server.url("/job.bin")]

    # a rule for the host: its proxy wins over the variables
    ruled = run_cli(
        db_path,
        "rules",
        "add",
        "127.0.0.1",
        "--proxy",
        f"http://ann:{PASSWORD}@127.0.0.1:{http_proxy.port}",
    )
    assert ruled.returncode == 0, ruled.stderr
    http_proxy.credentials = ("ann", PASSWORD)
    add("rule.bin")
    ran = run_cli(db_path, "-v", "run", "--until-idle", env=env)
    assert ran.returncode == 0, ran.stderr
    assert [r.path for r in http_proxy.requests][-1] == http_server.url("/rule.bin")
    assert len(socks_proxy.connects) == 1
    for name in ("env.bin", "direct.bin", "job.bin", "rule.bin"):
        assert (downloads / name).read_bytes() == body
    listed = run_cli(db_path, "ls", "--json")
    rules = run_cli(db_path, "rules", "ls", "--json")
    for output in (listed.stdout, rules.stdout, ran.stdout, ran.stderr):
        assert PASSWORD not in output
    assert json.loads(rules.stdout)[0]["proxy"] == f"http://ann:***@127.0.0.1:{http_proxy.port}"
    jobs = {job["url"].rsplit("/", 1)[1]: job for job in json.loads(listed.stdout)}
    assert jobs["direct.bin"]["proxy"] == DIRECT and jobs["env.bin"]["proxy"] is None


def test_a_bad_proxy_flag_or_variable_is_one_line(db_path: Path, downloads: Path) -> None:
    bad = run_cli(db_path, "add", "http://127.0.0.1:9/x", "--proxy", f"ftp://u:{PASSWORD}@h")
    assert bad.returncode == 2 and PASSWORD not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1
    both = run_cli(db_path, "run", "--proxy", "http://h:1", "--no-proxy")
    assert both.returncode == 2 and "not allowed with" in both.stderr
    variable = run_cli(
        db_path, "run", "--until-idle", env={"HTTPS_PROXY": f"gopher://u:{PASSWORD}@h"}
    )
    assert variable.returncode == 2, variable.stderr
    assert "HTTPS_PROXY" in variable.stderr and PASSWORD not in variable.stderr
    ignored = run_cli(
        db_path, "run", "--until-idle", "--no-proxy", env={"HTTPS_PROXY": "gopher://h"}
    )
    assert ignored.returncode == 0, ignored.stderr
    listed = run_cli(db_path, "ls", "--json")
    assert json.loads(listed.stdout) == []


async def test_without_the_socks_extra_a_socks_job_fails_with_what_to_install(
    db_path: Path, downloads: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import sys

    from drayman.cli import build_parser

    monkeypatch.setitem(sys.modules, "aiohttp_socks", None)  # as if never installed
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(["run", "--proxy", "socks5://127.0.0.1:1080"])
    assert exited.value.code == 2
    job = await download(
        db_path, "http://127.0.0.1:9/x.bin", downloads, proxy="socks5://127.0.0.1:1080"
    )
    assert job.state == JobState.FAILED
    assert "pip install 'drayman[socks]'" in (job.error or "")


async def test_thumbnails_go_the_way_downloads_go(
    db_path: Path, tmp_path: Path, http_server: LoopbackServer, http_proxy: HttpProxy
) -> None:
    http_server.add("/t.png", b"thumb")
    async with Engine(db_path, fast_config(proxy=http_proxy.proxy_url)) as engine:
        fetcher = engine.thumbnails(tmp_path / "cache")
        assert await fetcher.fetch(http_server.url("/t.png")) == b"thumb"
    assert [(r.method, r.path) for r in http_proxy.requests] == [("GET", http_server.url("/t.png"))]


def test_the_windows_proxy_choice_is_what_pages_are_read_through() -> None:
    from drayman.ui.settings import FROM_ENVIRONMENT, Settings

    assert Settings(proxy=FROM_ENVIRONMENT).page_proxy() is None  # yt-dlp reads the variables
    assert Settings(proxy=DIRECT).page_proxy() == ""  # straight, whatever they say
    chosen = "http://user:secret@127.0.0.1:3128"
    assert Settings(proxy=chosen).page_proxy() == chosen
    # a lost proxy file: nothing is read at all, never around the proxy
    with pytest.raises(ProxyLost):
        Settings(proxy=FROM_ENVIRONMENT, proxy_lost="missing").page_proxy()
