"""Cookies: a job's jar, kept with the job; cookies.txt files; each cookie to its own host only."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

import pytest

from conftest import async_wait_until, run_cli, start_cli, wait_until
from drayman.cookies import StoredCookie, dumps, loads, parse_cookies_txt, read_cookies_file
from drayman.errors import InvalidCookieFile
from drayman.jobs import JobState
from drayman.queue.cookiejar import JobCookies
from drayman.queue.engine import Engine
from drayman.queue.redirects import with_cookie
from drayman.storage import JobStore
from httpserver import LoopbackServer, RecordedRequest, make_body
from test_engine import fast_config

KiB, MiB = 1024, 1024 * 1024
SECRET = "s3cr3t-cookie-value"


def cookie_check(url: str, *, value: str = SECRET, times: int = 1) -> Any:
    """A hook: without the cookie, answer 302 to ``url`` itself with Set-Cookie
    (at most ``times`` times, then 403); with it, serve the file."""
    issued = 0

    def hook(index: int, request: RecordedRequest) -> dict[str, Any] | None:
        nonlocal issued
        if f"check={value}" in request.headers.get("Cookie", ""):
            return None
        if issued >= times:
            return {"status": 403}
        issued += 1
        return {
            "status": 302,
            "status_headers": (("Location", url), ("Set-Cookie", f"check={value}; Path=/")),
        }

    return hook


# -- cookies.txt ---------------------------------------------------------------------


def test_a_netscape_file_is_read_as_curl_reads_it(tmp_path: Path) -> None:
    future = int(time.time()) + 3600
    text = "\n".join(
        [
            "# Netscape HTTP Cookie File",
            "# a comment",
            "",
            f".example.com\tTRUE\t/\tTRUE\t{future}\tsid\tabc=def",
            f"#HttpOnly_files.example.org\tFALSE\t/dl\tFALSE\t{future}\ttoken\txyz",
            "host.example.net\tFALSE\t/\tFALSE\t0\tsession\t1",
            "old.example.net\tFALSE\t/\tFALSE\t1000\tgone\t1",
            "empty.example.net\tFALSE\t/\tFALSE\t0\tblank",
        ]
    )
    path = tmp_path / "cookies.txt"
    path.write_text(text + "\n", encoding="utf-8")
    cookies = read_cookies_file(path)
    assert cookies == [
        StoredCookie("sid", "abc=def", "example.com", "/", False, True, False, float(future)),
        StoredCookie("token", "xyz", "files.example.org", "/dl", True, False, True, float(future)),
        StoredCookie("session", "1", "host.example.net", "/", True, False, False, None),
        StoredCookie("blank", "", "empty.example.net", "/", True, False, False, None),
    ]


def test_a_valid_file_reads_as_the_standard_librarys_mozilla_jar_reads_it_but_for_0(
    tmp_path: Path,
) -> None:
    from http.cookiejar import MozillaCookieJar

    future = int(time.time()) + 3600
    path = tmp_path / "cookies.txt"
    path.write_text(
        "# Netscape HTTP Cookie File\n"
        f".example.com\tTRUE\t/\tTRUE\t{future}\tsid\tabc=def\n"
        f"#HttpOnly_files.example.org\tFALSE\t/dl\tFALSE\t{future}\ttoken\txyz\n"
        "host.example.net\tFALSE\t/\tFALSE\t0\tsession\t1\n"
        "old.example.net\tFALSE\t/\tFALSE\t1000\tgone\t1\n",
        encoding="utf-8",
    )
    reference = MozillaCookieJar()
    reference.load(str(path), ignore_discard=True)
    theirs = {
        (c.name, c.value, c.domain.lstrip("."), c.path, c.secure, c.expires or None)
        for c in reference
        if not c.is_expired()
    }
    ours = {
        (c.name, c.value, c.domain, c.path, c.secure, None if c.expires is None else int(c.expires))
        for c in read_cookies_file(path)
    }
    # the one difference: an expiry of 0 is a session cookie to curl and wget
    # (and here), where the standard library takes it for 1970 and drops it
    session = ("session", "1", "host.example.net", "/", False, None)
    assert session in ours and session not in theirs
    assert ours - {session} == theirs


@pytest.mark.parametrize(
    ("line", "reason"),
    [
        ("example.com\tTRUE\t/\tFALSE\t0", "5 tab-separated fields"),
        (f"example.com TRUE / FALSE 0 name {SECRET}", "1 tab-separated fields"),
        (f"example.com\tyes\t/\tFALSE\t0\tname\t{SECRET}", "include-subdomains"),
        (f"example.com\tTRUE\t/\tFALSE\tsoon\tname\t{SECRET}", "expiry"),
        (f"example.com\tTRUE\tdl\tFALSE\t0\tname\t{SECRET}", "path"),
        (f"\tTRUE\t/\tFALSE\t0\tname\t{SECRET}", "domain"),
        (f"example.com\tTRUE\t/\tFALSE\t0\tna me\t{SECRET}", "cookie name"),
        (f"example.com\tTRUE\t/\tFALSE\t0\tname\t{SECRET}\x01", "control characters"),
    ],
)
def test_a_bad_line_is_named_by_number_never_by_its_value(line: str, reason: str) -> None:
    lines = ["# Netscape HTTP Cookie File", f"good.example\tFALSE\t/\tFALSE\t0\tok\t{SECRET}", line]
    with pytest.raises(InvalidCookieFile) as caught:
        parse_cookies_txt(lines, source="c.txt")
    message = str(caught.value)
    assert message.startswith("cannot read cookies from c.txt")
    assert f"line 3: {reason}" in message or ("line 3: " in message and reason in message)
    assert SECRET not in message and "\n" not in message


async def test_the_jar_keeps_scope_and_expiry_across_a_save(tmp_path: Path) -> None:
    future = time.time() + 3600
    stored = [
        StoredCookie("a", "1", "127.0.0.1", "/", True),
        StoredCookie("b", "2", "example.com", "/", False, expires=float(int(future))),
        StoredCookie("c", "3", "secure.example.com", "/", True, secure=True),
    ]
    assert len(JobCookies(None)) == 0 and len(JobCookies("not json")) == 0
    jar = JobCookies(dumps(stored))
    again = JobCookies(jar.dumps())
    assert loads(again.dumps()) == sorted(stored, key=lambda c: (c.domain, c.path, c.name))
    assert again.header_for("http://127.0.0.1:8080/x") == "a=1"
    assert again.header_for("http://127.0.0.2/x") is None
    assert again.header_for("http://cdn.example.com/x") == "b=2"
    assert again.header_for("http://example.com/x") == "b=2"
    assert again.header_for("http://notexample.com/x") is None
    # host-only: not its subdomains; Secure: https only
    assert again.header_for("https://sub.secure.example.com/") == "b=2"
    assert again.header_for("http://secure.example.com/") == "b=2"
    assert sorted(str(again.header_for("https://secure.example.com/")).split("; ")) == [
        "b=2",
        "c=3",
    ]
    assert again.unsaved() is None


def test_a_cookie_header_is_joined_not_doubled() -> None:
    assert with_cookie([("Referer", "x")], "a=1") == [("Referer", "x"), ("Cookie", "a=1")]
    assert with_cookie([("cookie", "u=0"), ("X", "y")], "a=1") == [
        ("cookie", "u=0; a=1"),
        ("X", "y"),
    ]


# -- the engine: a cookie check, persisted cookies ------------------------------------


async def test_a_redirect_to_itself_that_sets_a_cookie_downloads(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    body = make_body(300 * KiB)
    url = http_server.url("/get/file.bin")
    http_server.add("/get/file.bin", body, hook=cookie_check(url))
    async with Engine(db_path, fast_config()) as engine:
        [job_id] = await engine.queue.add([url], dest_dir=downloads)
        await asyncio.wait_for(engine.wait_idle(), 30)
        job = await engine.queue.get(job_id)
    assert job.state == JobState.DONE, job.error
    assert (downloads / "file.bin").read_bytes() == body
    first, second = http_server.requests_for("/get/file.bin")
    assert "Cookie" not in first.headers
    assert second.headers["Cookie"] == f"check={SECRET}"


async def test_a_cookie_that_changes_nothing_is_still_a_redirect_loop(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    url = http_server.url("/loop")
    # the check sets a cookie, then the server ignores it: the same URL, the same cookie
    http_server.add(
        "/loop",
        b"never",
        hook=lambda index, request: {
            "status": 302,
            "status_headers": (("Location", url), ("Set-Cookie", "check=same")),
        },
    )
    async with Engine(db_path, fast_config()) as engine:
        [job_id] = await engine.queue.add([url], dest_dir=downloads)
        await asyncio.wait_for(engine.wait_idle(), 30)
        job = await engine.queue.get(job_id)
    assert job.state == JobState.FAILED
    assert "redirect loop" in (job.error or "")
    # asked without the cookie, then with it, then the loop was seen
    assert len(http_server.requests_for("/loop")) == 2


async def test_cookies_survive_an_engine_restart_mid_file(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    body = make_body(6 * MiB + 123)
    url = http_server.url("/big.bin")
    # the server sets its cookie once: a resume without it would get a 403
    resource = http_server.add("/big.bin", body, hook=cookie_check(url), rate=3 * MiB)
    # segments too: every connection must carry the cookie
    config = fast_config(split=3, split_min_size=1 * MiB, min_segment=256 * KiB)
    async with Engine(db_path, config) as engine:
        [job_id] = await engine.queue.add([url], dest_dir=downloads)

        async def some_bytes_saved() -> bool:
            return (await engine.queue.get(job_id)).bytes_done > 512 * KiB

        await async_wait_until(some_bytes_saved, what="a checkpoint")
    stopped = await read_job(db_path, job_id)
    assert stopped.state == JobState.QUEUED and 0 < stopped.bytes_done < len(body)
    before = len(http_server.requests_for("/big.bin"))
    resource.rate = None
    async with Engine(db_path, config) as engine:
        await asyncio.wait_for(engine.wait_idle(), 30)
        job = await engine.queue.get(job_id)
    assert job.state == JobState.DONE, job.error
    assert (downloads / "big.bin").read_bytes() == body
    after = http_server.requests_for("/big.bin")[before:]
    assert after and all(r.headers.get("Cookie") == f"check={SECRET}" for r in after)
    assert all("Range" in r.headers for r in after)


def test_cookies_survive_a_sigkilled_engine(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    body = make_body(6 * MiB + 5)
    url = http_server.url("/k.bin")
    resource = http_server.add("/k.bin", body, hook=cookie_check(url), rate=2 * MiB)
    assert run_cli(db_path, "add", url, "-d", str(downloads)).returncode == 0
    engine = start_cli(db_path, "run", "--until-idle", "--checkpoint-every", "0.1")
    try:
        wait_until(
            lambda: engine.poll() is not None or http_server.bytes_sent.get("/k.bin", 0) > MiB,
            timeout=30,
            what="a first MiB",
        )
        assert engine.poll() is None, "the download ended before it could be killed"
    finally:
        engine.kill()  # SIGKILL; on Windows TerminateProcess, as abrupt
        engine.wait(timeout=10)
    before = len(http_server.requests_for("/k.bin"))
    resource.rate = None
    final = run_cli(db_path, "run", "--until-idle")
    assert final.returncode == 0, final.stderr
    assert (downloads / "k.bin").read_bytes() == body
    after = http_server.requests_for("/k.bin")[before:]
    assert after and all(r.headers.get("Cookie") == f"check={SECRET}" for r in after)


async def read_job(db_path: Path, job_id: int) -> Any:
    async with await JobStore.open(db_path) as store:
        return await store.get(job_id)


async def test_a_servers_cookie_never_follows_a_redirect_to_another_host(
    db_path: Path,
    downloads: Path,
    http_server: LoopbackServer,
    other_server: LoopbackServer,
) -> None:
    body = make_body(10 * KiB)
    other_server.add("/real.bin", body)
    http_server.add(
        "/go",
        b"",
        hook=lambda index, request: {
            "status": 302,
            "status_headers": (
                ("Location", other_server.url("/real.bin")),
                ("Set-Cookie", f"sid={SECRET}; Path=/"),
            ),
        },
    )
    async with Engine(db_path, fast_config()) as engine:
        [job_id] = await engine.queue.add([http_server.url("/go")], dest_dir=downloads)
        await asyncio.wait_for(engine.wait_idle(), 30)
        job = await engine.queue.get(job_id)
    assert job.state == JobState.DONE, job.error
    [elsewhere] = other_server.requests_for("/real.bin")
    assert "Cookie" not in elsewhere.headers


# -- the command line -----------------------------------------------------------------


def write_cookies(path: Path, lines: list[str]) -> Path:
    path.write_text("# Netscape HTTP Cookie File\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_a_cookies_file_sends_each_cookie_to_its_own_host_only(
    db_path: Path,
    downloads: Path,
    tmp_path: Path,
    http_server: LoopbackServer,
    other_server: LoopbackServer,
) -> None:
    one, two = make_body(40 * KiB, seed=1), make_body(50 * KiB, seed=2)
    http_server.add("/one.bin", one)
    other_server.add("/two.bin", two)
    first, second = http_server.url_host, other_server.url_host
    assert first != second
    cookies = write_cookies(
        tmp_path / "cookies.txt",
        [
            f"{first}\tFALSE\t/\tFALSE\t0\tfirst\t{SECRET}-1",
            f"#HttpOnly_{second}\tFALSE\t/\tFALSE\t0\tsecond\t{SECRET}-2",
            f"elsewhere.example\tFALSE\t/\tFALSE\t0\tthird\t{SECRET}-3",
        ],
    )
    added = run_cli(
        db_path,
        "add",
        http_server.url("/one.bin"),
        other_server.url("/two.bin"),
        "-d",
        str(downloads),
        "--cookies",
        str(cookies),
    )
    assert added.returncode == 0, added.stderr
    ran = run_cli(db_path, "-v", "run", "--until-idle")
    assert ran.returncode == 0, ran.stderr
    assert (downloads / "one.bin").read_bytes() == one
    assert (downloads / "two.bin").read_bytes() == two
    [to_first] = http_server.requests_for("/one.bin")
    [to_second] = other_server.requests_for("/two.bin")
    assert to_first.headers["Cookie"] == f"first={SECRET}-1"
    assert to_second.headers["Cookie"] == f"second={SECRET}-2"
    listed = run_cli(db_path, "ls", "--json")
    table = run_cli(db_path, "ls")
    for output in (listed.stdout, table.stdout, ran.stdout, ran.stderr, added.stdout):
        assert SECRET not in output
    assert {job["state"] for job in json.loads(listed.stdout)} == {"done"}


def test_a_bad_cookies_file_adds_nothing(
    db_path: Path, downloads: Path, tmp_path: Path, http_server: LoopbackServer
) -> None:
    cookies = write_cookies(
        tmp_path / "cookies.txt",
        [
            f"127.0.0.1\tFALSE\t/\tFALSE\t0\tgood\t{SECRET}",
            f"127.0.0.1\tFALSE\t/\tmaybe\t0\tbad\t{SECRET}",
        ],
    )
    bad = run_cli(
        db_path, "add", http_server.url("/x"), "-d", str(downloads), "--cookies", str(cookies)
    )
    assert bad.returncode == 2
    lines = bad.stderr.strip().splitlines()
    assert len(lines) == 1 and "line 3" in lines[0] and "secure" in lines[0], bad.stderr
    assert SECRET not in bad.stderr
    missing = run_cli(
        db_path, "add", http_server.url("/x"), "--cookies", str(tmp_path / "nope.txt")
    )
    assert missing.returncode == 2 and "nope.txt" in missing.stderr
    listed = run_cli(db_path, "ls", "--json")
    assert listed.returncode == 0 and json.loads(listed.stdout) == []


async def test_removing_a_job_removes_its_cookies(db_path: Path, downloads: Path) -> None:
    from drayman.queue.jobqueue import JobQueue

    queue = await JobQueue.open(db_path)
    try:
        [job_id] = await queue.add(
            ["http://127.0.0.1:9/x"],
            dest_dir=downloads,
            cookies=[StoredCookie("a", SECRET, "127.0.0.1")],
        )
        assert loads(await queue.store.cookies(job_id)) == [StoredCookie("a", SECRET, "127.0.0.1")]
        await queue.remove([job_id])
        assert await queue.store.cookies(job_id) is None
        await queue.store.save_cookies(job_id, "[]")  # a transfer that ends after the removal
        assert await queue.store.cookies(job_id) is None
    finally:
        await queue.close()
