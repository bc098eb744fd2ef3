"""More connections only where the server paces each one: judged from what arrives.

The rule (:mod:`drayman.queue.growth`) on made-up samples, then on a real
loopback server that lets a burst through and then paces every connection
(as nginx's ``limit_rate`` does), and on one that paces evenly from the
first byte: the first grows, the second keeps the connections it started with.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import pytest

from drayman.jobs import JobState
from drayman.queue.growth import SAMPLE_EVERY, Growth
from httpserver import LoopbackServer, make_body
from test_segments import byte_range, download, seg_config

KiB, MiB = 1024, 1024 * 1024
#: what the download logs when it opens more connections
GREW = "the server paces each connection"


def fed(growth: Growth, rates: list[tuple[float, float]], step: float = SAMPLE_EVERY) -> float:
    """Feed ``growth`` samples: (seconds, bytes/s) runs; return the time of the last."""
    now, held = growth.started, 0.0
    for seconds, rate in rates:
        for _ in range(round(seconds / step)):
            now += step
            held += rate * step
            growth.sample(now, int(held))
    return now


def test_a_burst_then_a_trickle_is_worth_more_connections() -> None:
    growth = Growth(0.0, 0, 1.5, 3.0)
    # W4's shape: 8 bursts of 4 MiB in the first tenth, then 32 MiB a second
    now = fed(growth, [(0.1, 320 * MiB), (1.5, 32 * MiB)])
    assert growth.worth_more(now, left=200 * MiB)
    # not when what is left is done within grow_min_seconds at this pace
    assert not growth.worth_more(now, left=64 * MiB)


def test_not_before_grow_after_nor_before_a_second_of_samples() -> None:
    growth = Growth(0.0, 0, 1.5, 3.0)
    now = fed(growth, [(0.1, 320 * MiB), (1.2, 32 * MiB)])
    assert not growth.worth_more(now, left=200 * MiB)  # 1.3 s: too early
    early = Growth(0.0, 0, 0.0, 3.0)
    now = fed(early, [(0.1, 320 * MiB), (0.5, 32 * MiB)])
    assert early.sustained(now) is None
    assert not early.worth_more(now, left=200 * MiB)


@pytest.mark.parametrize(
    "rates",
    [
        [(3.0, 900 * MiB)],  # a full link (or a busy CPU): the same rate at any scale
        [(1.0, 300 * MiB), (0.1, 900 * MiB), (2.0, 400 * MiB)],  # a jittery one, within 1:4
        [(0.5, 10 * MiB), (2.0, 60 * MiB)],  # slow start: faster later, never slower
    ],
)
def test_a_link_that_is_the_limit_is_not_worth_more(rates: list[tuple[float, float]]) -> None:
    growth = Growth(0.0, 0, 1.5, 3.0)
    now = fed(growth, rates)
    assert not growth.worth_more(now, left=100 * 1024 * MiB)


def test_samples_closer_than_half_a_step_do_not_make_a_peak() -> None:
    growth = Growth(0.0, 0, 0.0, 0.0)
    growth.sample(0.001, 4 * MiB)  # a millisecond: no rate can be told from it
    assert growth.peak == 0.0
    growth.sample(0.1, 4 * MiB)
    assert growth.peak == pytest.approx(40 * MiB)


@pytest.fixture(autouse=True)
def _decisions_logged(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="drayman.queue.connectionpolicy")


def growing(split: int = 4, split_first: int = 2, **transfer: object) -> object:
    return seg_config(
        split=split,
        split_first=split_first,
        grow_after=0.5,
        grow_min_seconds=0.8,
        steal_min_seconds=0.3,
        **transfer,
    )


async def test_a_server_that_paces_each_connection_gets_more_of_them(
    db_path: Path, downloads: Path, http_server: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A burst of 512 KiB, then 1 MiB/s per connection: after a second the
    download opens its other two connections, each taking half of a rest."""
    body = make_body(6 * MiB)
    http_server.add("/paced.bin", body, rate=MiB, burst=512 * KiB)
    job = await download(db_path, http_server.url("/paced.bin"), downloads, growing())
    assert job.state == JobState.DONE, job.error
    assert GREW in caplog.text
    assert hashlib.sha256((downloads / "paced.bin").read_bytes()).digest() == (
        hashlib.sha256(body).digest()
    )
    assert http_server.peak_in_flight >= 4
    ranges = [byte_range(r) for r in http_server.requests_for("/paced.bin")]
    # the first two connections: the whole file's answer and the second half
    assert ranges[:2] == [None, (3 * MiB, 6 * MiB - 1)], ranges
    # then two more at once, each from inside a half up to that half's end (work
    # stealing may cut more pieces later, as between any connections)
    grown = sorted(r for r in ranges[2:4] if r is not None)
    assert len(grown) == 2, ranges
    assert 0 < grown[0][0] < 3 * MiB and grown[0][1] == 3 * MiB - 1, ranges
    assert 3 * MiB < grown[1][0] < 6 * MiB and grown[1][1] == 6 * MiB - 1, ranges


async def test_an_evenly_paced_server_keeps_the_first_connections(
    db_path: Path, downloads: Path, http_server: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    """1 MiB/s from the first byte on: the pace is the same at any scale (a link's
    shape), so the download keeps its two connections."""
    body = make_body(4 * MiB)
    http_server.add("/even.bin", body, rate=MiB)
    job = await download(db_path, http_server.url("/even.bin"), downloads, growing())
    assert job.state == JobState.DONE, job.error
    assert hashlib.sha256((downloads / "even.bin").read_bytes()).digest() == (
        hashlib.sha256(body).digest()
    )
    ranges = [byte_range(r) for r in http_server.requests_for("/even.bin")]
    assert ranges == [None, (2 * MiB, 4 * MiB - 1)], ranges
    assert GREW not in caplog.text


async def test_under_a_speed_limit_the_connections_do_not_grow(
    db_path: Path, downloads: Path, http_server: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    """drayman's own limit paces the connections after their first bytes: that is
    not the server's doing, and more connections would not help."""
    body = make_body(4 * MiB)
    http_server.add("/limited.bin", body)
    config = growing()
    job = await download(db_path, http_server.url("/limited.bin"), downloads, config, max_speed=MiB)
    assert job.state == JobState.DONE, job.error
    assert GREW not in caplog.text
    # two connections, and at most a moment's overlap with one let go of (a steal)
    assert http_server.peak_in_flight <= 3


async def test_a_server_that_refused_a_connection_is_not_asked_for_more(
    db_path: Path, downloads: Path, http_server: LoopbackServer, caplog: pytest.LogCaptureFixture
) -> None:
    """The third of three first connections gets a 503 (a server's connection limit):
    the download goes on with two, however the server paces them."""
    body = make_body(6 * MiB)
    refused = {"status": 503, "status_headers": (("Retry-After", "1"),)}
    http_server.add(
        "/limit.bin",
        body,
        rate=MiB,
        burst=512 * KiB,
        hook=lambda n, _request: refused if n == 2 else {},
    )
    config = growing(split=6, split_first=3)
    job = await download(db_path, http_server.url("/limit.bin"), downloads, config)
    assert job.state == JobState.DONE, job.error
    assert hashlib.sha256((downloads / "limit.bin").read_bytes()).digest() == (
        hashlib.sha256(body).digest()
    )
    assert "an extra connection was refused" in caplog.text
    assert GREW not in caplog.text
    assert http_server.peak_in_flight <= 3
