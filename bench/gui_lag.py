"""How responsive is the window? Event-loop lag with the real window and engine.

Opens the window (offscreen unless QT_QPA_PLATFORM says otherwise) and
measures, for --seconds, how late a 10 ms timer fires on the shared qasync
loop, while either --transfers downloads run from a local server or the
table holds --jobs rows. Prints one line:
``p50_lag_ms=… p99_lag_ms=… max_lag_ms=… first_paint_s=… all_rows_s=…``.

    python bench/gui_lag.py --transfers 16
    python bench/gui_lag.py --jobs 100000
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from aiohttp import web

from drayman.jobs import JobState, NewJob
from drayman.storage import JobStore
from drayman.ui.app import Session, make_loop
from drayman.ui.qt import QtWidgets

CHUNK = os.urandom(256 * 1024)


async def serve(size: int, rate: int) -> tuple[web.AppRunner, str]:
    """A local server: every path is ``size`` bytes, paced at ``rate`` bytes/s."""

    async def handler(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"ETag": '"bench"', "Accept-Ranges": "bytes"})
        response.content_length = size
        await response.prepare(request)
        sent, started = 0, time.monotonic()
        try:
            while sent < size:
                piece = CHUNK[: min(len(CHUNK) // 4, size - sent)]
                await response.write(piece)
                sent += len(piece)
                ahead = sent / rate - (time.monotonic() - started)
                if ahead > 0:
                    await asyncio.sleep(ahead)
        except ConnectionResetError:
            # the client went away: a paused job, the end of the run, or a
            # segmented download's probe finding that this server ignores Range
            pass
        return response

    app = web.Application()
    app.router.add_get("/{name}", handler)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    return runner, f"http://127.0.0.1:{port}"


async def measure(seconds: float, lags: list[float] | None = None) -> list[float]:
    lags = [] if lags is None else lags
    interval = 0.010
    loop = asyncio.get_running_loop()
    end = loop.time() + seconds
    while loop.time() < end:
        due = loop.time() + interval
        await asyncio.sleep(interval)
        lags.append(max(loop.time() - due, 0.0) * 1000)
    return lags


async def main(args: argparse.Namespace, folder: Path) -> str:
    db = folder / "jobs.db"
    runner = None
    if args.jobs:
        async with await JobStore.open(db) as store:
            await store.add(
                [
                    NewJob(url=f"http://127.0.0.1:9/f{i}", dest_dir=str(folder))
                    for i in range(args.jobs)
                ]
            )
            await store.change_all(JobState.PAUSED)
    started = time.monotonic()
    # the loop's lag while the window opens and reads the table, too
    load_lags: list[float] = []
    loading = asyncio.ensure_future(measure(3600, load_lags))
    session = Session(db)
    window = await session.open()
    window.show()
    first_paint = full_load = 0.0
    try:
        if args.transfers:
            runner, base = await serve(int(args.rate * args.seconds * 2), args.rate)
            # own -j so all run at once
            assert session.engine is not None
            session.engine.set_concurrency(args.transfers, args.transfers)
            await window.queue.add([f"{base}/f{i}" for i in range(args.transfers)], dest_dir=folder)
        while window.model.rowCount() == 0:  # noqa: ASYNC110 - polls the model
            await asyncio.sleep(0.005)
        await asyncio.sleep(0)  # one turn of the loop: the view paints
        first_paint = time.monotonic() - started
        while window.model.rowCount() < max(args.jobs, args.transfers):  # noqa: ASYNC110
            await asyncio.sleep(0.01)
        full_load = time.monotonic() - started
        loading.cancel()
        lags = await measure(args.seconds)
    finally:
        window.close()
        await session.close()
        if runner is not None:
            await runner.cleanup()
    lags.sort()
    p = lambda q: lags[min(int(q * len(lags)), len(lags) - 1)]  # noqa: E731
    return (
        f"p50_lag_ms={statistics.median(lags):.1f} p99_lag_ms={p(0.99):.1f} "
        f"max_lag_ms={lags[-1]:.1f} first_paint_s={first_paint:.2f} all_rows_s={full_load:.2f} "
        f"max_lag_while_loading_ms={max(load_lags, default=0.0):.0f}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--transfers", type=int, default=0)
    parser.add_argument("--rate", type=int, default=4 * 1024**2, help="bytes/s per transfer")
    parser.add_argument("--jobs", type=int, default=0)
    parser.add_argument("--seconds", type=float, default=20.0)
    args = parser.parse_args()
    if not args.transfers and not args.jobs:
        parser.error("give --transfers N or --jobs N")
    app = QtWidgets.QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)
    loop = make_loop(app)
    asyncio.set_event_loop(loop)
    with tempfile.TemporaryDirectory() as tmp:
        print(loop.run_until_complete(main(args, Path(tmp))))
