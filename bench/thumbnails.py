"""How fast do an import preview's thumbnails appear? Cold, then from the disk cache.

Opens the real window (offscreen unless QT_QPA_PLATFORM says otherwise) with
its own engine, and the import preview of --entries entries whose thumbnails
come from a loopback server that waits --delay seconds before each answer.
Times, from the moment the preview is asked for: the first thumbnail shown
(the first ``ready`` batch, so up to 150 ms of batching included) and all of
them; then the same for a second preview of the same list, served from the
disk cache. Also the event loop's lag while they load (a 10 ms timer: how
late it fired) and the process's CPU seconds (the server's thread included).
Prints one line per pass:
``pass=cold first_s=… all_s=… requests=… p99_lag_ms=… max_lag_ms=… cpu_s=…``

    python bench/thumbnails.py                  # 500 entries, 50 ms per thumbnail
    python bench/thumbnails.py --entries 2000 --delay 0.1
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from drayman.batch import Entry, ImportResult
from drayman.ui.app import Session, make_loop, opened_window
from drayman.ui.qt import QtCore, QtGui, QtWidgets
from httpserver import LoopbackServer


def png(n: int) -> bytes:
    image = QtGui.QImage(320, 180, QtGui.QImage.Format.Format_RGB32)
    image.fill(QtGui.QColor.fromHsv(n * 37 % 360, 160, 220))
    buffer = QtCore.QBuffer()
    buffer.open(QtCore.QIODevice.OpenModeFlag.WriteOnly)
    image.save(buffer, "JPEG")
    return bytes(buffer.data().data())


async def one_pass(session: Session, result: ImportResult, server: LoopbackServer) -> str:
    assert session.window is not None and session.thumbnails is not None
    window = session.window
    requests_before = session.thumbnails.requests
    arrived = 0
    first = 0.0
    done = asyncio.Event()
    lags: list[float] = []
    loop = asyncio.get_running_loop()

    async def measure() -> None:
        while True:
            due = loop.time() + 0.010
            await asyncio.sleep(0.010)
            lags.append(max(loop.time() - due, 0.0) * 1000)

    cpu_started = time.process_time()
    started = time.monotonic()
    lag_task = asyncio.ensure_future(measure())
    dialog = window.open_import_dialog(result, "bench.json")
    assert dialog is not None

    def on_ready(urls: list[str]) -> None:
        nonlocal arrived, first
        if not arrived:
            first = time.monotonic() - started
        arrived += len(urls)
        if arrived >= len(result.entries):
            done.set()

    dialog.images.ready.connect(on_ready)
    await asyncio.wait_for(done.wait(), 600)
    total = time.monotonic() - started
    cpu = time.process_time() - cpu_started
    lag_task.cancel()
    loaded = sum(1 for e in result.entries if e.thumbnail and dialog.images.loaded(e.thumbnail))
    dialog.reject()
    lags.sort()
    p99 = lags[min(int(0.99 * len(lags)), len(lags) - 1)] if lags else 0.0
    return (
        f"first_s={first:.3f} all_s={total:.3f} loaded={loaded} "
        f"requests={session.thumbnails.requests - requests_before} "
        f"p99_lag_ms={p99:.1f} max_lag_ms={max(lags, default=0.0):.1f} cpu_s={cpu:.2f}"
    )


async def main(args: argparse.Namespace, folder: Path) -> None:
    with LoopbackServer() as server:
        entries = []
        for n in range(args.entries):
            server.add(f"/t/{n}.jpg", png(n), delay=args.delay, content_type="image/jpeg")
            entries.append(
                Entry(
                    url=server.url(f"/v/{n}.mp4"),
                    where=f"item {n + 1}",
                    title=f"Episode {n}",
                    author=f"Author {n % 10}",
                    thumbnail=server.url(f"/t/{n}.jpg"),
                )
            )
        result = ImportResult(entries=entries)
        settings = QtCore.QSettings(str(folder / "settings.ini"), QtCore.QSettings.Format.IniFormat)
        async with opened_window(
            folder / "jobs.db", settings, thumbnail_cache=folder / "thumbs"
        ) as (session, window):
            window.default_folder = str(folder / "Downloads")
            window.show()
            print(
                f"entries={args.entries} delay_ms={args.delay * 1000:.0f} "
                f"concurrency={session.thumbnails.concurrency if session.thumbnails else '?'}"
            )
            print("pass=cold  ", await one_pass(session, result, server))
            print("pass=cached", await one_pass(session, result, server))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=500)
    parser.add_argument("--delay", type=float, default=0.05, help="seconds per thumbnail")
    args = parser.parse_args()
    app = QtWidgets.QApplication(sys.argv[:1])
    app.setQuitOnLastWindowClosed(False)
    loop = make_loop(app)
    asyncio.set_event_loop(loop)
    with tempfile.TemporaryDirectory() as tmp:
        loop.run_until_complete(main(args, Path(tmp)))
