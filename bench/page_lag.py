"""Does resolving a page freeze the window? Event-loop lag while a big playlist resolves.

Opens the real window (offscreen unless QT_QPA_PLATFORM says otherwise),
serves the tests' fake video site on loopback (a channel of --items videos,
each with a thumbnail; yt-dlp reads it through the plugin in
tests/yt_dlp_plugins) from a process of its own, resolves the channel in the import window and
measures how late a 10 ms timer fires on the shared qasync loop meanwhile.
Prints one line: ``items=… resolve_s=… p50_lag_ms=… p99_lag_ms=… max_lag_ms=…
thumbnails=…``.

    python bench/page_lag.py --items 500
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
TESTS = Path(__file__).resolve().parent.parent / "tests"
sys.path.insert(0, str(TESTS))  # the fake site, its yt-dlp plugin, the loopback server

from drayman.ui.app import Session, make_loop  # noqa: E402
from drayman.ui.qt import QtCore, QtGui, QtWidgets  # noqa: E402
from httpserver import LoopbackServer  # noqa: E402
from pagesites import FakeSite  # noqa: E402


def png(n: int) -> bytes:
    image = QtGui.QImage(160, 90, QtGui.QImage.Format.Format_RGB32)
    image.fill(QtGui.QColor.fromHsv(n * 37 % 360, 160, 220))
    buffer = QtCore.QBuffer()
    buffer.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "PNG")
    return bytes(buffer.data().data())


def serve(items: int) -> None:
    """The fake site, in a process of its own (as a real site is): prints the channel's URL."""
    QtGui.QGuiApplication(sys.argv[:1])  # for the PNG encoder
    with LoopbackServer(record=False) as site:
        fake = FakeSite(site)
        ids = [f"v{n}" for n in range(items)]
        for n, video_id in enumerate(ids):
            site.add(f"/t/{video_id}.png", png(n), content_type="image/png")
            fake.add_video(
                video_id,
                f"Video {n}",
                uploader=f"Author {n % 7}",
                thumbnail=site.url(f"/t/{video_id}.png"),
                size=1000,
            )
        print(fake.add_channel("big", "Big channel", ids, uploader="Big"), flush=True)
        sys.stdin.read()  # until the benchmark closes our stdin


async def main(channel: str, folder: Path) -> str:
    session = Session(folder / "jobs.db", thumbnail_cache=folder / "thumbs")
    window = await session.open()
    window.default_folder = str(folder / "out")
    window.show()
    lags: list[float] = []
    loop = asyncio.get_running_loop()
    done = False

    async def measure() -> None:
        while not done:
            due = loop.time() + 0.010
            await asyncio.sleep(0.010)
            lags.append(max(loop.time() - due, 0.0) * 1000)

    ticker = asyncio.ensure_future(measure())
    try:
        started = time.monotonic()
        dialog = window.open_page_import(channel)
        assert dialog is not None
        await dialog.resolved.wait()
        took = time.monotonic() - started
        rows = len(dialog.model.rows)
        thumbs = sum(
            1 for row in dialog.model.rows if dialog.images.loaded(row.entry.thumbnail or "")
        )
        done = True
        await ticker
        dialog.reject()
    finally:
        window.close()
        await session.close()
    lags.sort()
    p99 = lags[min(int(0.99 * len(lags)), len(lags) - 1)]
    return (
        f"items={rows} resolve_s={took:.1f} p50_lag_ms={statistics.median(lags):.1f} "
        f"p99_lag_ms={p99:.1f} max_lag_ms={lags[-1]:.1f} thumbnails={thumbs}"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--items", type=int, default=500)
    parser.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        serve(args.serve)
        sys.exit(0)
    app = QtWidgets.QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)
    loop = make_loop(app)
    asyncio.set_event_loop(loop)
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve", str(args.items)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert server.stdout is not None and server.stdin is not None
    try:
        with tempfile.TemporaryDirectory() as tmp:
            channel = server.stdout.readline().strip()
            print(loop.run_until_complete(main(channel, Path(tmp))))
    finally:
        server.stdin.close()
        server.wait()
