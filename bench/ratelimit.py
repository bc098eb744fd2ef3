"""How exact are drayman's speed limits? Prints figures; asserts nothing.

    python bench/ratelimit.py                   # 4 scenarios x 20 s, ~1.5 min
    python bench/ratelimit.py --seconds 5 --rate 1M

A loopback aiohttp server (in a thread of this process) serves endless files
and counts the bytes it hands to the kernel in 100 ms slots; the engine runs
in this process with a global limit (``drayman limit RATE``) or per-job limits
(``drayman limit --job ID RATE``), with 1 and with 4 transfers. For each
scenario:

- **client**: bytes the transfers took off their sockets (the engine's own
  progress counters), sampled every 100 ms;
- **wire**: bytes the client's kernel acknowledged to the server (TCP_INFO
  ``tcpi_bytes_acked`` of the server's sockets, Linux): what the network
  carried, including what sits unread in the client's socket buffer;
- **avg / target**: bytes over the whole window divided by seconds, against the
  limit (the sum of the per-job limits for per-job scenarios); target ±5 %;
- **max 1 s / target**: the largest amount in any 1-second window (sliding in
  100 ms steps); **s > 2x**: seconds whose window carried more than twice the
  target (target: none beyond the first second).

The window starts at the first byte acknowledged, so the start-up burst (the
client's socket buffer fills before the limiter's pauses close the TCP
window) is inside it.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import socket
import struct
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from aiohttp import web
from loopback import ThreadServer

from drayman.queue.engine import Engine, EngineConfig
from drayman.queue.jobqueue import JobQueue
from drayman.queue.ratelimit import parse_rate
from drayman.units import human_size

SLOT = 0.1
BLOCK = os.urandom(64 * 1024)
#: larger than anything a limited transfer can fetch in a scenario (2 MiB/s for 20 s),
#: small enough for the free-space check drayman makes before it starts a file
FILE_SIZE = 1024**3


@dataclass
class Meter:
    """Bytes per 100 ms slot since ``start``."""

    start: float = 0.0
    slots: list[int] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)
    started: threading.Event = field(default_factory=threading.Event)

    def add(self, amount: int, now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        with self.lock:
            if not self.start:
                self.start = now
                self.started.set()
            index = int((now - self.start) / SLOT)
            if index >= len(self.slots):
                self.slots.extend([0] * (index + 1 - len(self.slots)))
            self.slots[index] += amount

    def figures(self, seconds: float, target: float) -> dict[str, float]:
        n = int(seconds / SLOT)
        slots = (self.slots + [0] * n)[:n]
        per_window = int(1 / SLOT)
        windows = [sum(slots[i : i + per_window]) for i in range(0, n - per_window + 1)]
        over = sum(1 for w in windows[::per_window] if w > 2 * target)
        return {
            "avg": sum(slots) / seconds / target,
            "max1s": max(windows) / target if windows else 0.0,
            "over2x": float(over),
        }


def bytes_acked(sock: socket.socket) -> int:
    """tcpi_bytes_acked (Linux): bytes the peer's kernel acknowledged."""
    info = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 160)
    return int(struct.unpack_from("Q", info, 120)[0])


class Server:
    """Endless files; every 25 ms, the bytes the client's kernel acknowledged."""

    def __init__(self) -> None:
        self.meter = Meter()
        self._sockets: dict[socket.socket, int] = {}
        self._server = ThreadServer(self.handle, background=self._sampler)

    @property
    def port(self) -> int:
        return self._server.port

    def start(self) -> None:
        self._server.start()

    async def handle(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={
                # no validator: one connection per file (a segmented download
                # would meet a server that ignores Range); the limiter is measured
                "Content-Length": str(FILE_SIZE),
                "Content-Type": "application/octet-stream",
            }
        )
        await response.prepare(request)
        sock = request.transport.get_extra_info("socket") if request.transport else None
        if sock is not None:
            self._sockets[sock] = bytes_acked(sock)
        try:
            for _ in range(FILE_SIZE // len(BLOCK)):
                await response.write(BLOCK)
        except ConnectionError:  # the engine paused: the scenario is over
            pass
        finally:
            if sock is not None:
                self._sample(sock)
                self._sockets.pop(sock, None)
        return response

    def _sample(self, sock: socket.socket) -> None:
        try:
            now = bytes_acked(sock)
        except OSError:
            return
        before = self._sockets.get(sock, now)
        self._sockets[sock] = now
        if now > before:
            self.meter.add(now - before)

    async def _sampler(self) -> None:
        while True:
            await asyncio.sleep(SLOT / 4)
            for sock in list(self._sockets):
                self._sample(sock)


async def scenario(
    server: Server, folder: Path, kind: str, transfers: int, rate: int, seconds: float
) -> tuple[dict[str, float], dict[str, float]]:
    server.meter = Meter()
    client = Meter()
    db = folder / f"{kind}-{transfers}.db"
    config = EngineConfig(concurrency=transfers, per_host=transfers, progress_interval=SLOT)
    seen: dict[int, int] = {}

    def on_snapshot(snapshot: object) -> None:
        now = time.monotonic()
        if not client.start:
            client.start = server.meter.start or now
        for p in snapshot.active:  # type: ignore[attr-defined]
            before = seen.get(p.job_id)
            seen[p.job_id] = p.bytes_done
            if before is not None and p.bytes_done > before:
                client.add(p.bytes_done - before, now)

    # limits stored before the engine starts: this measures the limiter, not
    # how fast a running engine notices a new limit
    queue = await JobQueue.open(db)
    try:
        urls = [f"http://127.0.0.1:{server.port}/{kind}{transfers}-{n}" for n in range(transfers)]
        ids = await queue.add(urls, dest_dir=folder / "out")
        if kind == "global":
            await queue.set_speed_limit(rate)
        else:
            await queue.set_job_speed_limit(ids, rate)
    finally:
        await queue.close()
    target = rate if kind == "global" else rate * transfers
    async with Engine(db, config) as engine:
        engine.subscribe(on_snapshot)
        # the window opens with the first byte on the wire
        if not await asyncio.to_thread(server.meter.started.wait, 30):
            raise RuntimeError("no byte was sent within 30 s")
        await asyncio.sleep(seconds + 2 * SLOT)
        await engine.queue.pause_all()
    return client.figures(seconds, target), server.meter.figures(seconds, target)


async def curl_reference(server: Server, rate: int, seconds: float) -> dict[str, float]:
    """``curl --limit-rate`` on the same server: what the wire does with a C client."""
    server.meter = Meter()
    url = f"http://127.0.0.1:{server.port}/curl"
    process = await asyncio.create_subprocess_exec(
        "curl", "-s", "-o", os.devnull, "--limit-rate", str(rate), url
    )
    try:
        if not await asyncio.to_thread(server.meter.started.wait, 30):
            raise RuntimeError("curl sent no request within 30 s")
        await asyncio.sleep(seconds + 2 * SLOT)
    finally:
        process.kill()
        await process.wait()
    return server.meter.figures(seconds, rate)


async def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--rate", default="2M", help="the limit (global; per job for per-job)")
    args = parser.parse_args()
    rate = parse_rate(args.rate)
    server = Server()
    server.start()
    print(f"limit {human_size(rate)}/s, {args.seconds:g} s per scenario, loop {loop_name()}")
    print("| scenario | transfers | target | side | avg / target | max 1 s / target | s > 2x |")
    print("|---|---|---|---|---|---|---|")
    with tempfile.TemporaryDirectory(prefix="drayman-ratelimit-") as tmp:
        for kind, transfers in [("global", 1), ("global", 4), ("per-job", 1), ("per-job", 4)]:
            client, wire = await scenario(server, Path(tmp), kind, transfers, rate, args.seconds)
            target = rate if kind == "global" else rate * transfers
            for side, f in (("client", client), ("wire", wire)):
                print(
                    f"| {kind} | {transfers} | {human_size(target)}/s | {side} | "
                    f"{f['avg']:.3f} | {f['max1s']:.2f} | {f['over2x']:.0f} |",
                    flush=True,
                )
        if shutil.which("curl"):
            f = await curl_reference(server, rate, args.seconds)
            print(
                f"| curl --limit-rate (reference) | 1 | {human_size(rate)}/s | wire | "
                f"{f['avg']:.3f} | {f['max1s']:.2f} | {f['over2x']:.0f} |"
            )
    return 0


def loop_name() -> str:
    return type(asyncio.get_running_loop()).__module__.split(".")[0]


if __name__ == "__main__":
    try:
        from drayman.cli import event_loop_factory
    except ImportError:  # an older drayman (to compare): plain asyncio
        factory = None
    else:
        factory = event_loop_factory()
    with asyncio.Runner(loop_factory=factory) as runner:
        sys.exit(runner.run(main()))
