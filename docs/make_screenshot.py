"""Take docs/screenshot.png (a dozen jobs in mixed states, one failed) and docs/empty.png
(the empty window's hint): the real window under Xvfb.

xvfb-run -a -s "-screen 0 1280x800x24" python docs/make_screenshot.py [--lang zh_CN]
"""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import quote

import shot

from httpserver import LoopbackServer, make_body

HERE = shot.HERE


async def scene(out: Path, folder: Path, server: LoopbackServer) -> None:
    async with shot.app_window(folder) as (session, window):
        # first the empty window, as a new user meets it: it says how to start
        window.resize(1100, 460)
        window.show()
        await asyncio.sleep(1.0)
        window.grab().save(str(out.with_name("empty.png")))
        window.resize(1200, 640)
        assert session.engine is not None
        session.engine.set_concurrency(4, 4)
        queue = window.queue
        names = [
            "Episode 01 - Pilot.mp4",
            "Episode 02 - The Bridge.mp4",
            "missing.bin",  # a 404: the failed row
            "Interview (raw).mov",
            "debian-12.iso",
            "Lecture 7 - Entropy.webm",
            "dataset-2026.tar.gz",
            "podcast-118.mp3",
            "Episode 03 - Night.mp4",
            "photos.zip",
            "trailer.mkv",
            "slides.pdf",
        ]
        for n, name in enumerate(names):
            if name == "missing.bin":
                continue
            size = 60_000 if n in (3, 7, 11) else 48_000_000
            server.add(
                f"/v/{name}",
                make_body(size, seed=n),
                rate=None if size < 100_000 else 3_000_000,
                # the pace is per answer: one connection per file keeps the big
                # ones running (and pausable) when the picture is taken
                extra_headers={"Accept-Ranges": "none"},
            )
        ids = await queue.add(
            [server.url(f"/v/{quote(name)}") for name in names], dest_dir=folder / "Downloads"
        )
        await asyncio.sleep(2.5)
        await queue.pause([ids[5], ids[9]])
        await asyncio.sleep(1.5)
        window.table.selectRow(1)
        await asyncio.sleep(1.0)
        window.grab().save(str(out))


if __name__ == "__main__":
    shot.main(scene, HERE / "screenshot.png")
