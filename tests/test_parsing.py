"""Pure parsers and policies: table-driven cases plus properties over any input."""

from __future__ import annotations

import string
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import MEGABYTE, PROPERTY_DEADLINE, assert_linear
from drayman.errors import InvalidHeader, InvalidRate, InvalidURL
from drayman.headers import (
    ContentRange,
    UnsatisfiedRange,
    content_length,
    is_strong_etag,
    parse_content_disposition_filename,
    parse_content_range,
    parse_request_header,
    parse_retry_after,
    strip_credentials,
)
from drayman.names import (
    is_valid_windows_name,
    next_free_name,
    pick_filename,
    safe_join,
    sanitize_filename,
    with_counter,
)
from drayman.queue.ratelimit import TokenBucket, parse_rate
from drayman.queue.retry import RetryPolicy
from drayman.urls import host_of, redact_url, same_origin, validate_url

PROPERTY = settings(max_examples=300, deadline=PROPERTY_DEADLINE)


# -- URLs --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "url",
    [
        "http://example.org/a.iso",
        "  https://EXAMPLE.org:8443/x?y=1#z  ",
        "http://[::1]:8080/",
        "https://bücher.example/ü",
    ],
)
def test_valid_urls(url: str) -> None:
    assert validate_url(url) == url.strip()


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("ftp://example.org/x", "unsupported scheme 'ftp'"),
        ("javascript:alert(1)", "not a URL"),
        ("example.org/x", "not a URL"),
        ("http:///path", "no host"),
        ("http://exa mple.org/", "whitespace"),
        ("http://example.org/\x00", "control character"),
        ("http://example.org:99999/", "invalid port"),
        ("http://example.org:abc/", "invalid port"),
        ("http://x/" + "a" * 9000, "too long"),
        ("", "not a URL"),
    ],
)
def test_invalid_urls_say_why(url: str, reason: str) -> None:
    with pytest.raises(InvalidURL, match=reason):
        validate_url(url)


def test_origins_and_hosts() -> None:
    assert same_origin("http://a.org/x", "http://A.ORG:80/y")
    assert not same_origin("http://a.org/", "https://a.org/")
    assert not same_origin("http://a.org/", "http://a.org:8080/")
    assert host_of("https://Media.Example.COM/v.mp4") == "media.example.com"
    assert redact_url("https://bob:hunter2@h.org/x") == "https://bob:***@h.org/x"


@PROPERTY
@given(st.text())
def test_validate_url_only_raises_invalid_url(text: str) -> None:
    try:
        validate_url(text)
    except InvalidURL as exc:
        assert "\n" not in str(exc).strip()


# -- headers -----------------------------------------------------------------------


def test_request_headers() -> None:
    assert parse_request_header("Referer:  https://x/ ") == ("Referer", "https://x/")
    assert parse_request_header("X-Empty:") == ("X-Empty", "")
    for bad in ("no colon", ": value", "Bad Name: x", "X: a\r\nInjected: 1", "Range: bytes=0-"):
        with pytest.raises(InvalidHeader):
            parse_request_header(bad)


def test_secret_header_values_never_appear_in_errors() -> None:
    with pytest.raises(InvalidHeader) as info:
        parse_request_header("Authorization: Bearer t0ps3cret\x01")
    assert "t0ps3cret" not in str(info.value)


def test_strip_credentials() -> None:
    headers = [("Authorization", "a"), ("Cookie", "c"), ("X-Api-Key", "k"), ("Referer", "r")]
    assert strip_credentials(headers) == [("Referer", "r")]


@PROPERTY
@given(st.text())
def test_parse_request_header_only_raises_invalid_header(text: str) -> None:
    try:
        name, value = parse_request_header(text)
    except InvalidHeader:
        return
    assert name and "\n" not in value and "\r" not in value


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("bytes 0-99/1000", ContentRange(0, 99, 1000)),
        ("bytes 500-999/1000", ContentRange(500, 999, 1000)),
        ("bytes 0-99/*", ContentRange(0, 99, None)),
        ("bytes */1000", UnsatisfiedRange(1000)),
    ],
)
def test_content_range(value: str, expected: object) -> None:
    assert parse_content_range(value) == expected


@pytest.mark.parametrize(
    "value",
    [
        "",
        "bytes 5-1/10",
        "bytes 0-10/10",
        "bytes -1-5/10",
        "items 0-1/2",
        "bytes 0-1/+2",
        "bytes 0-1/99999999999999999999",
    ],
)
def test_bad_content_range(value: str) -> None:
    with pytest.raises(ValueError):
        parse_content_range(value)


@PROPERTY
@given(st.text(alphabet=string.printable))
def test_parse_content_range_only_raises_value_error(text: str) -> None:
    try:
        parsed = parse_content_range(text)
    except ValueError:
        return
    if isinstance(parsed, ContentRange):
        assert 0 <= parsed.start <= parsed.end
        assert parsed.total is None or parsed.end < parsed.total


def test_content_length_and_etags() -> None:
    assert content_length("1234") == 1234
    assert content_length(None) is None
    for bad in ("-1", "1e3", "abc", "99999999999999999999"):
        with pytest.raises(ValueError):
            content_length(bad)
    assert is_strong_etag('"abc"')
    assert not is_strong_etag('W/"abc"')
    assert not is_strong_etag("abc")
    assert not is_strong_etag(None)


def test_retry_after() -> None:
    import calendar

    now = 1_800_000_000.0
    assert parse_retry_after("120", now) == 120
    date = calendar.timegm((2027, 1, 15, 8, 2, 0))
    assert parse_retry_after("Fri, 15 Jan 2027 08:02:00 GMT", now) == date - now
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now) == 0
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after("", now) is None


@pytest.mark.parametrize(
    ("header", "name"),
    [
        ('attachment; filename="foo.html"', "foo.html"),
        ("attachment; filename=foo.html", "foo.html"),
        ("attachment; filename*=UTF-8''%e2%82%ac%20rates", "€ rates"),
        ("attachment; filename=\"EURO rates\"; filename*=utf-8''%e2%82%ac%20rates", "€ rates"),
        ('attachment; filename="a;b.txt"', "a;b.txt"),
        ('attachment; filename="say \\"hi\\".txt"', 'say "hi".txt'),
        ("attachment; filename*=iso-8859-1'en'%A3%20rates", "£ rates"),
        ("inline", None),
        ("attachment; filename*=UTF-8''%ff%fe", None),
        ("", None),
    ],
)
def test_content_disposition(header: str, name: str | None) -> None:
    assert parse_content_disposition_filename(header) == name


@PROPERTY
@given(st.text())
def test_content_disposition_never_raises(text: str) -> None:
    result = parse_content_disposition_filename("attachment; " + text)
    assert result is None or isinstance(result, str)


# -- names -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "safe"),
    [
        ("../../x", "x"),
        ("..\\..\\x", "x"),
        ("C:\\Windows\\win.ini", "win.ini"),
        ("\\\\server\\share\\x.txt", "x.txt"),
        ("CON.txt", "_CON.txt"),
        ("nul", "_nul"),
        ("COM1.tar.gz", "_COM1.tar.gz"),
        ("a<b>c:d|e?f*g", "a_b_c_d_e_f_g"),
        ("trailing. . ", "trailing"),
        ("tab\there", "tab_here"),
        ("..", "download"),
        ("", "download"),
        ("naïve café.txt", "naïve café.txt"),
    ],
)
def test_sanitize_filename(raw: str, safe: str) -> None:
    assert sanitize_filename(raw) == safe


def test_long_names_keep_their_extension_and_utf8() -> None:
    name = sanitize_filename("é" * 300 + ".mp4")
    assert name.endswith(".mp4") and len(name.encode()) <= 200
    emoji = sanitize_filename("😀" * 100 + ".mkv")
    assert emoji.endswith(".mkv") and len(emoji.encode()) <= 200
    emoji.encode("utf-8")  # no broken surrogate


def test_counters_and_free_names() -> None:
    assert with_counter("movie.mp4", 1) == "movie (1).mp4"
    assert with_counter("archive.tar.gz", 2) == "archive (2).tar.gz"
    assert with_counter("noext", 1) == "noext (1)"
    assert with_counter(".bashrc", 1) == ".bashrc (1)"
    taken = {"a.txt", "a (1).txt"}
    assert next_free_name("a.txt", taken.__contains__) == "a (2).txt"
    assert next_free_name("b.txt", taken.__contains__) == "b.txt"


def test_pick_filename_order() -> None:
    cd = 'attachment; filename="server.bin"'
    assert pick_filename(requested="mine.bin", content_disposition=cd, url="http://h/u.bin") == (
        "mine.bin"
    )
    assert pick_filename(requested=None, content_disposition=cd, url="http://h/u.bin") == (
        "server.bin"
    )
    assert pick_filename(requested=None, content_disposition=None, url="http://h/a%20b.bin") == (
        "a b.bin"
    )
    assert (
        pick_filename(
            requested=None, content_disposition=None, url="http://h/", content_type="text/html"
        )
        == "h.html"  # named after the host, not download.html for every site
    )


@PROPERTY
@given(st.text(min_size=0, max_size=400))
def test_sanitized_names_are_valid_everywhere_and_stay_in_the_folder(text: str) -> None:
    name = sanitize_filename(text)
    assert name and "/" not in name and "\\" not in name
    assert len(name.encode("utf-8")) <= 200
    assert is_valid_windows_name(name), name
    assert sanitize_filename(name) == name
    folder = Path("/downloads/folder")
    assert safe_join(folder, name).parent == folder


# -- rates, limiter, retry policy ---------------------------------------------------


@pytest.mark.parametrize(
    ("text", "rate"),
    [
        ("0", 0),
        ("1000", 1000),
        ("500k", 512_000),
        ("2M", 2 * 1024**2),
        ("1.5G", 3 * 1024**3 // 2),
        ("2MiB/s", 2 * 1024**2),
    ],
)
def test_parse_rate(text: str, rate: int) -> None:
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["", "fast", "-1k", "1T", "2 M M"])
def test_parse_rate_rejects(text: str) -> None:
    with pytest.raises(InvalidRate):
        parse_rate(text)


def test_a_rate_with_a_megabyte_of_spaces_is_judged_in_linear_time() -> None:
    # two "\s*" around an optional unit backtracked over every split of the run
    assert assert_linear(parse_rate, " 2" + " " * MEGABYTE + "k ") == 2048
    with pytest.raises(InvalidRate):
        assert_linear(parse_rate, "2" + " " * MEGABYTE + "x")


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_token_bucket_accounting_without_wall_clock() -> None:
    clock = FakeClock()
    bucket = TokenBucket(1000, burst_seconds=0.5, clock=clock)
    # starts empty: no burst at start-up
    assert bucket.take(500) == pytest.approx(0.5)
    clock.now += 0.5
    assert bucket.take(0) == 0  # debt paid
    clock.now += 10  # idle time accrues at most the burst
    assert bucket.take(500) == 0
    assert bucket.take(1000) == pytest.approx(1.0)
    # over a long run the bytes allowed equal rate x time
    clock.now = 100.0
    bucket = TokenBucket(1000, clock=clock)
    sent = 0
    while clock.now < 120.0:
        wait = bucket.take(64)
        sent += 64
        clock.now += wait
    assert abs(sent - 20 * 1000) <= 64
    bucket.set_rate(0)
    assert bucket.take(10**9) == 0


def test_a_transfer_gets_its_share_of_the_global_limit() -> None:
    bucket = TokenBucket(4_000_000)
    assert bucket.share == 4_000_000
    bucket.users = 4
    assert bucket.share == 1_000_000
    bucket.set_rate(0)
    assert bucket.share == 0


def test_a_limited_connection_gets_a_receive_buffer_of_its_rate() -> None:
    import socket

    from drayman.queue.ratelimit import (
        RECEIVE_BUFFER_MAX,
        RECEIVE_BUFFER_MIN,
        fit_receive_buffer,
        receive_buffer_for,
    )

    assert receive_buffer_for(0) is None
    assert receive_buffer_for(1000) == RECEIVE_BUFFER_MIN
    assert receive_buffer_for(2 * 1024 * 1024) == 512 * 1024
    assert receive_buffer_for(10**12) == RECEIVE_BUFFER_MAX
    with socket.socket() as sock:
        autotuned = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        # no limit, nothing set: the kernel keeps tuning the buffer
        assert fit_receive_buffer(sock, 0, None) is None
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) == autotuned
        size = fit_receive_buffer(sock, 2 * 1024 * 1024, None)
        assert size == 512 * 1024
        # the kernel may round or double the value, never to the autotuned size
        small = sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF)
        assert small <= 2 * size
        assert fit_receive_buffer(sock, 2 * 1024 * 1024, size) == size
        # the limit lifted: back to a large buffer
        assert fit_receive_buffer(sock, 0, size) == RECEIVE_BUFFER_MAX
        assert sock.getsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF) > small
    # a closed socket (the connection went away) is no error
    assert fit_receive_buffer(sock, 1000, None) is None


def test_retry_policy_backoff() -> None:
    import random

    policy = RetryPolicy(base_delay=1, max_delay=60, max_attempts=3, rng=random.Random(1))
    delays = [policy.delay(n) for n in range(1, 10)]
    for n, delay in enumerate(delays, start=1):
        ceiling = min(60, 2 ** (n - 1))
        assert ceiling / 2 <= delay <= ceiling
    assert policy.delay(1, retry_after=120) == 120
    assert policy.delay(1, retry_after=10**9) == policy.max_retry_after
    # a Retry-After date already past: now, and said as "0 s", not "-0 s"
    assert f"{policy.delay(1, retry_after=-0.0):.0f}" == "0"
    assert policy.delay(1, retry_after=-5) == 0
    assert not policy.exhausted(2) and policy.exhausted(3)


def simulate(
    limits: dict[str, Any], connections: dict[str, int], seconds: float
) -> list[tuple[float, str, int]]:
    """Readers pulling 64 KiB blocks through their limiter, on a virtual clock.

    Returns (time, job, bytes) for every block, as a server would see them go.
    """
    import heapq

    clock = limits["clock"]
    block = 64 * 1024
    ready = [(0.0, n, job) for job, count in connections.items() for n in range(count)]
    heapq.heapify(ready)
    sent = []
    while ready:
        at, n, job = heapq.heappop(ready)
        if at > seconds:
            break
        clock.now = at
        wait = limits[job].take(block)
        sent.append((at, job, block))
        heapq.heappush(ready, (at + wait, n, job))
    return sent


def test_the_total_limit_holds_over_any_second_and_each_job_gets_a_fair_part() -> None:
    from drayman.queue.ratelimit import JobShare

    rate = 4 * 1024 * 1024
    clock = FakeClock()
    total = TokenBucket(rate, clock=clock)
    total.users = 2
    limits = {"clock": clock, "big": JobShare(total), "small": JobShare(total)}
    # the big file over 8 connections, the small one over 1
    sent = simulate(limits, {"big": 8, "small": 1}, seconds=10.0)
    by_job = {job: sum(b for _, j, b in sent if j == job) for job in ("big", "small")}
    assert by_job["small"] >= 0.45 * rate * 10, by_job  # not starved: about half
    assert by_job["big"] <= 0.55 * rate * 10 + 8 * 64 * 1024, by_job
    # any one-second window: the rate, plus the small bucket and a block per connection
    times = [t for t, _, _ in sent]
    for start in [x / 10 for x in range(0, 91)]:
        window = sum(b for t, _, b in sent if start <= t < start + 1.0)
        assert window <= rate * 1.1 + 9 * 64 * 1024, (start, window)
    # the shared bucket alone (what each connection drew before): the small one starves
    clock.now = 0.0
    shared = TokenBucket(rate, clock=clock)
    unfair = simulate(
        {"clock": clock, "big": shared, "small": shared}, {"big": 8, "small": 1}, 10.0
    )
    small_alone = sum(b for _, j, b in unfair if j == "small")
    assert small_alone < 0.2 * rate * 10
    assert times == sorted(times)
