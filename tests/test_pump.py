"""Bodies moved by a pump thread (queue/pump.py) against real loopback servers.

The common faults (resets, stalls, short bodies, pauses, checksums, steals)
run through both readers in test_engine.py and test_segments.py
(``both_readers``); here is what only a pump has: a speed limit that comes
while it runs (the rest is handed back to the event loop, asked for with a
range), and a write end that moves under it.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp
import pytest

from conftest import async_wait_until
from drayman.jobs import JobState
from drayman.queue.engine import Engine
from drayman.queue.pump import PUMP_COPY_ENV, Pump, can_pump, splicing
from drayman.queue.stall import ReadDeadline, SpeedWatch
from drayman.queue.transferconfig import TransferConfig
from httpserver import LoopbackServer, make_body
from test_engine import download, fast_config
from test_segments import byte_range, seg_config

KiB, MiB = 1024, 1024 * 1024


class BytesSink:
    """A pump's bytes kept in memory, up to ``end`` (another connection took the rest)."""

    def __init__(self, announced: int, end: int | None = None) -> None:
        self.announced, self.end = announced, end if end is not None else announced
        self.landed = bytearray()
        self.counted_total = 0
        #: blocks handed over through a pipe (splice), and as a buffer
        self.spliced = self.copied = 0
        #: what the pump's thread called, in order: "land" and "idle"
        self.calls: list[str] = []

    def room(self) -> int:
        return self.announced - len(self.landed)

    def land(self, view: memoryview) -> int:
        self.copied += 1
        return self._keep(view)

    def splices(self) -> bool:
        return True

    def idle(self) -> None:
        self.calls.append("idle")

    def land_from(self, pipe: int, size: int) -> int:
        self.spliced += 1
        data = bytearray()
        while len(data) < size:
            data += os.read(pipe, size - len(data))
        return self._keep(memoryview(data))

    def _keep(self, view: memoryview) -> int:
        self.calls.append("land")
        kept = view[: max(self.end - len(self.landed), 0)]
        self.landed.extend(kept)
        return len(kept)

    def counted(self, amount: int) -> None:
        self.counted_total += amount

    def tick(self) -> bool:
        return True


async def pump_body(url: str, sink_for: Callable[[int], BytesSink]) -> tuple[Pump, BytesSink]:
    async with (
        aiohttp.ClientSession(auto_decompress=False) as session,
        session.get(url) as response,
    ):
        announced = int(response.headers["Content-Length"])
        assert can_pump(response, announced, 1)
        # not for more than the answer announced, nor when pumps are off
        assert not can_pump(response, announced + 1, 1)
        assert not can_pump(response, announced, 0)
        sink = sink_for(announced)
        pump = Pump(response)
        assert await pump.run(sink, SpeedWatch(0, 0), ReadDeadline(5.0))
    return pump, sink


async def limit_while_held(
    engine: Engine,
    http_server: LoopbackServer,
    downloads: Path,
    name: str,
    body: bytes,
    asked: int,
    held: Callable[[int], bool | Awaitable[bool]],
) -> None:
    """Download ``name``; once ``held(job_id)`` (the server holds it mid-pump), set a
    speed limit, wait for the ``asked``-th request (the rest asked for with a range),
    let the server go on: the file must come whole, with no failed attempt."""
    path = f"/{name}"
    [job_id] = await engine.queue.add([http_server.url(path)], dest_dir=downloads)
    await async_wait_until(lambda: held(job_id), what="the download held mid-pump")
    # a limit far above what loopback needs: it changes who reads, not how fast
    await engine.queue.set_job_speed_limit([job_id], 1 << 30)
    await async_wait_until(
        lambda: len(http_server.requests_for(path)) == asked, what="the rest asked for again"
    )
    http_server.release_hold(path)
    await asyncio.wait_for(engine.wait_idle(), 30)
    job = await engine.queue.get(job_id)
    assert job.state == JobState.DONE, job.error
    assert (downloads / name).read_bytes() == body
    assert job.attempts == 0  # not a failure: nothing was lost


@pytest.fixture(params=["splice", "copy"])
def pump_way(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Pumps as this platform runs them (splice on Linux), then copying through Python."""
    if request.param == "copy":
        monkeypatch.setenv(PUMP_COPY_ENV, "1")
    return str(request.param)


def assert_moved_the_right_way(sink: BytesSink) -> None:
    """Through a pipe where pumps splice, else (and before a pump took over) as buffers."""
    assert (sink.spliced > 0) == splicing(), (sink.spliced, sink.copied)
    assert splicing() or sink.copied > 0


async def test_a_pump_stops_where_its_land_stops_taking(
    http_server: LoopbackServer, pump_way: str
) -> None:
    body = make_body(3 * MiB)
    http_server.add("/p.bin", body)
    end = 1 * MiB + 12_345  # another connection took the rest (work stealing)
    pump, sink = await pump_body(http_server.url("/p.bin"), lambda n: BytesSink(n, end))
    assert bytes(sink.landed) == body[:end]
    assert pump.moved == sink.counted_total == end and not pump.eof
    assert_moved_the_right_way(sink)


async def test_a_pump_reports_a_server_that_closes_early(
    http_server: LoopbackServer, pump_way: str
) -> None:
    body = make_body(3 * MiB)
    # paced: the pump also gathers what comes slowly, and lands it
    http_server.add("/short.bin", body, lie_length=5000, rate=8 * MiB)
    pump, sink = await pump_body(http_server.url("/short.bin"), BytesSink)
    assert sink.announced == len(body) + 5000
    assert pump.eof
    assert bytes(sink.landed) == body
    assert pump.moved == sink.counted_total == len(body)
    assert_moved_the_right_way(sink)
    # idle before it waits for a paced server, and when it stops: a segment's
    # writes are noted then (a note skipped to save time is never left out)
    assert "idle" in sink.calls[: sink.calls.index("land", 3)]
    assert sink.calls[-1] == "idle"


async def test_a_speed_limit_set_while_a_pump_runs_hands_the_rest_to_the_event_loop(
    db_path: Path,
    downloads: Path,
    http_server: LoopbackServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="drayman.queue.pump")
    body = make_body(6 * MiB)
    res = http_server.add("/limited.bin", body, hold_at=[2 * MiB])
    async with Engine(db_path, fast_config(pump_min_size=1)) as engine:

        async def pumped_and_saved(job_id: int) -> bool:
            job = await engine.queue.get(job_id)
            return (
                "a pump thread takes over" in caplog.text
                and http_server.held_at("/limited.bin") is not None
                and job.bytes_done == 2 * MiB
            )

        await limit_while_held(
            engine, http_server, downloads, "limited.bin", body, 2, pumped_and_saved
        )
    first, second = http_server.requests_for("/limited.bin")
    assert "Range" not in first.headers
    # every byte the pump wrote was kept: the rest starts exactly at the hold
    assert second.headers["Range"] == f"bytes={2 * MiB}-"
    assert second.headers["If-Range"] == res.etag


async def test_a_speed_limit_set_while_a_segment_pump_runs_resumes_the_segment(
    db_path: Path, downloads: Path, http_server: LoopbackServer
) -> None:
    body = make_body(4 * MiB)
    half = len(body) // 2
    # the first connection stops a little way into its segment; the second finishes
    res = http_server.add("/seg.bin", body, hold_at=[MiB])
    config = seg_config(split=2, pump_min_size=1, min_segment=MiB)
    async with Engine(db_path, config) as engine:

        def both_connections_the_first_held(job_id: int) -> bool:
            return (
                len(http_server.requests_for("/seg.bin")) == 2
                and http_server.held_at("/seg.bin") is not None
            )

        await limit_while_held(
            engine, http_server, downloads, "seg.bin", body, 3, both_connections_the_first_held
        )
    requests = http_server.requests_for("/seg.bin")
    # the first segment was asked for again exactly where its bytes ended
    assert [byte_range(r) for r in requests] == [None, (half, len(body) - 1), (MiB, half - 1)]
    assert all(r.headers["If-Range"] == res.etag for r in requests[1:])


async def test_only_a_fast_connection_is_handed_to_a_pump(
    db_path: Path,
    downloads: Path,
    http_server: LoopbackServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="drayman.queue.pump")
    fast, slow = make_body(8 * MiB, seed=1), make_body(3 * MiB, seed=2)
    http_server.add("/fast.bin", fast)
    http_server.add("/slow.bin", slow, rate=2 * MiB)
    # the shipped thresholds: 2 MiB left, the first MiB at 16 MiB/s
    defaults = TransferConfig()
    config = fast_config(
        pump_min_size=defaults.pump_min_size, pump_min_speed=defaults.pump_min_speed
    )
    [job] = await download(db_path, [http_server.url("/slow.bin")], downloads, config)
    assert job.state == JobState.DONE, job.error
    assert (downloads / "slow.bin").read_bytes() == slow
    assert "a pump thread takes over" not in caplog.text
    [job] = await download(db_path, [http_server.url("/fast.bin")], downloads, config)
    assert job.state == JobState.DONE, job.error
    assert (downloads / "fast.bin").read_bytes() == fast
    assert "a pump thread takes over" in caplog.text


async def test_an_answer_aiohttp_has_read_whole_is_not_pumped(http_server: LoopbackServer) -> None:
    # aiohttp lets go of the connection once the whole body is in its buffer: a
    # probe deciding only then must leave the rest to aiohttp (no socket to take)
    body = make_body(3 * MiB)
    http_server.add("/whole.bin", body)
    async with (
        aiohttp.ClientSession(auto_decompress=False, read_bufsize=8 * MiB) as session,
        session.get(http_server.url("/whole.bin")) as response,
    ):
        assert can_pump(response, len(body), 1)
        await async_wait_until(lambda: response.connection is None, what="the whole body read")
        assert not can_pump(response, len(body), 1)
        assert await response.read() == body


async def test_an_answer_that_cannot_be_resumed_is_not_pumped(
    db_path: Path,
    downloads: Path,
    http_server: LoopbackServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    # a speed limit would stop a pump and ask for the rest with a range: without a
    # validator that would be the whole file again, so aiohttp reads it to the end
    caplog.set_level(logging.DEBUG, logger="drayman.queue.pump")
    body = make_body(4 * MiB)
    http_server.add("/plain.bin", body, etag=None, last_modified=None)
    config = fast_config(pump_min_size=1, pump_min_speed=0)
    [job] = await download(db_path, [http_server.url("/plain.bin")], downloads, config)
    assert job.state == JobState.DONE, job.error
    assert (downloads / "plain.bin").read_bytes() == body
    assert "a pump thread takes over" not in caplog.text
