"""Take docs/page.png: a channel page resolving into the real import preview, under Xvfb.

The channel is the tests' fake video site (tests/pagesites.py and its yt-dlp
plugin), served on loopback; the shot is taken while the 25th of its 40
videos is still being read, so the progress shows.

xvfb-run -a -s "-screen 0 1280x900x24" python docs/make_page_screenshot.py
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import shot
from make_import_screenshot import SHOWS, thumbnail

from httpserver import LoopbackServer
from pagesites import FakeSite

HERE = shot.HERE
TITLES = ["Dawn", "Salt & Smoke", "The Long Way", "Rain"]


async def scene(out: Path, folder: Path, server: LoopbackServer) -> None:
    fake = FakeSite(server)
    ids = []
    for n in range(1, 41):
        author, show, hue = SHOWS[n % len(SHOWS)]
        server.add(f"/t/{n}.jpg", thumbnail(n, show, hue), content_type="image/jpeg")
        fake.add_video(
            f"v{n}",
            f"{show} #{n}: {TITLES[n % 4]}",
            uploader=author,
            thumbnail=server.url(f"/t/{n}.jpg"),
        )
        ids.append(f"v{n}")
    channel = fake.add_channel("walks", "Weekend videos", ids, uploader="Weekend")
    held = "/fakesite/video/v25.json"
    server.resources[held].hold_at.append(1)

    async with shot.app_window(folder, thumbnail_cache=folder / "thumbs") as (_, window):
        window.default_folder = str(folder / "Downloads")
        window.resize(1200, 640)
        window.show()
        dialog = window.open_page_import(channel)
        assert dialog is not None
        dialog.template.setText("{author}/{title}.{ext}")
        dialog.resize(1180, 760)
        while server.held_at(held) is None:  # noqa: ASYNC110 - polls the server
            await asyncio.sleep(0.05)
        await asyncio.sleep(1.5)  # the last thumbnails and the plan
        dialog.model.set_checked([3], False)
        dialog.table.selectRow(5)
        await asyncio.sleep(0.3)
        dialog.grab().save(str(out))
        dialog.stop_resolving()
        server.release_hold(held)
        dialog.reject()


if __name__ == "__main__":
    shot.main(scene, HERE / "page.png")
